package tests

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The engine tests drive berth the way engines do, through the engines
// themselves (Debian's podman and containerd, which .ci/run installs).

func needTool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found: apt-get install %s (.ci/run installs it)", name, pkg)
	}
	return p
}

func sh(t *testing.T, timeout time.Duration, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// rootfsTar packs the test busybox rootfs as an image tarball.
func rootfsTar(t *testing.T) string {
	t.Helper()
	dir := testDir(t, "engine-rootfs")
	makeRootfs(t, dir)
	tarPath := filepath.Join(testDir(t, "engine-tar"), "rootfs.tar")
	sh(t, time.Minute, "tar", "-C", dir, "-cf", tarPath, ".")
	return tarPath
}

func podman(t *testing.T, store string, args ...string) []string {
	base := []string{"--root", store + "/storage", "--runroot", store + "/run", "--cgroup-manager=cgroupfs",
		"--events-backend=file", "--runtime", runtimeBin(t)}
	return append(base, args...)
}

// engineCgroup is a cgroup parent of the test's own for an engine's
// containers; it is removed (with anything the engine left in it) at the end.
func engineCgroup(t *testing.T, name string) string {
	parent := fmt.Sprintf("/berth-test-%d-%s", os.Getpid(), name)
	t.Cleanup(func() {
		dirs, _ := filepath.Glob("/sys/fs/cgroup/*" + parent)
		dirs = append(dirs, "/sys/fs/cgroup"+parent)
		for _, d := range dirs {
			exec.Command("find", d, "-depth", "-type", "d", "-exec", "rmdir", "{}", ";").Run()
		}
	})
	return parent
}

// noLimitRaise keeps podman from raising RLIMIT_NOFILE/NPROC (its default
// is the host's maximum): some hosts (this CI's) deny CAP_SYS_RESOURCE even
// to root, and lowering a limit is always allowed.
func noLimitRaise() []string {
	return []string{"--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096", "--network", "none", "--cgroup-parent", podmanCgroup}
}

// podmanCgroup is set by each podman-using test (engineCgroup).
var podmanCgroup = "/berth-test-podman"

// podmanStore is a private podman storage; its overlay mounts go at cleanup.
func podmanStore(t *testing.T) string {
	store := testDir(t, "podman")
	t.Cleanup(func() {
		exec.Command("podman", podman(t, store, "rm", "-af")...).Run()
		exec.Command("podman", podman(t, store, "system", "reset", "-f")...).Run()
		exec.Command("umount", "-R", store+"/storage/overlay").Run()
		exec.Command("umount", "-R", store+"/run").Run()
	})
	return store
}

func TestEnginePodman(t *testing.T) {
	requireRoot(t)
	pm := needTool(t, "podman", "podman")
	store := podmanStore(t)
	podmanCgroup = engineCgroup(t, "podman")
	tarPath := rootfsTar(t)
	image := fmt.Sprintf("localhost/berth-test-%d:1", os.Getpid())
	sh(t, 2*time.Minute, pm, podman(t, store, "import", tarPath, image)...)

	out := sh(t, time.Minute, pm, podman(t, store, append(append([]string{"run", "--rm"}, noLimitRaise()...), image, "sh", "-c", "echo podman-ok; hostname")...)...)
	if !strings.Contains(out, "podman-ok") {
		t.Fatalf("podman run: %s", out)
	}
	mem := sh(t, time.Minute, pm, podman(t, store, append(append([]string{"run", "--rm", "--memory", "64m"}, noLimitRaise()...), image,
		"sh", "-c", "cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes")...)...)
	if !strings.Contains(mem, "67108864") {
		t.Errorf("podman run --memory 64m: the container sees %q", mem)
	}
	// A user namespace (the C init builds it): podman's spec, with its
	// cgroup mount, /dev/mqueue and the default devices, in mapped ids.
	userns := sh(t, time.Minute, pm, podman(t, store, append(append([]string{"run", "--rm", "--uidmap", "0:100000:65536", "--gidmap", "0:100000:65536"},
		noLimitRaise()...), image, "sh", "-c", "cat /proc/self/uid_map; id -u; stat -c %t:%T /dev/null")...)...)
	if f := strings.Fields(userns); len(f) < 5 || strings.Join(f[len(f)-5:], " ") != "0 100000 65536 0 1:3" {
		t.Errorf("podman run --uidmap: %q, want the map, uid 0 and /dev/null", userns)
	}
	// run -it under a pty, as a person at a terminal would.
	onTerminal(t, "podman run -it", "it-ok",
		append([]string{pm}, podman(t, store, append(append([]string{"run", "--rm", "-it"}, noLimitRaise()...), image, "sh", "-c", "tty && echo it-ok")...)...))
	id := strings.TrimSpace(sh(t, time.Minute, pm, podman(t, store, append(append([]string{"run", "-d"}, noLimitRaise()...), image, "sleep", "1000")...)...))
	id = id[strings.LastIndex(id, "\n")+1:]
	defer exec.Command(pm, podman(t, store, "rm", "-f", id)...).Run()
	if out := sh(t, time.Minute, pm, podman(t, store, "exec", id, "sh", "-c", "echo exec-ok")...); !strings.Contains(out, "exec-ok") {
		t.Errorf("podman exec: %s", out)
	}
	// exec -it: the pty is made by berth's exec process (the C stub).
	onTerminal(t, "podman exec -it", "exec-it-ok", append([]string{pm}, podman(t, store, "exec", "-it", id, "sh", "-c", "tty && echo exec-it-ok")...))
	if out := sh(t, time.Minute, pm, podman(t, store, "top", id)...); !strings.Contains(out, "sleep 1000") {
		t.Errorf("podman top: %s", out)
	}
	sh(t, time.Minute, pm, podman(t, store, "pause", id)...)
	if out := sh(t, time.Minute, pm, podman(t, store, "inspect", "-f", "{{.State.Status}}", id)...); !strings.Contains(out, "paused") {
		t.Errorf("podman inspect after pause: %s", out)
	}
	sh(t, time.Minute, pm, podman(t, store, "unpause", id)...)
	sh(t, time.Minute, pm, podman(t, store, "stop", "-t", "1", id)...)
	sh(t, time.Minute, pm, podman(t, store, "rm", id)...)
}

// onTerminal runs argv on a terminal (onPty) and wants the container's
// `tty` to name a /dev/pts terminal and the word want after it.
func onTerminal(t *testing.T, what, want string, argv []string) {
	t.Helper()
	out := onPty(t, time.Minute, nil, argv)
	if !strings.Contains(out, "/dev/pts/") || !strings.Contains(out, want) {
		t.Errorf("%s: %q", what, out)
	}
}

// onPty runs argv with a new pty as its controlling terminal and stdio, as
// a person at a terminal would (env: its environment, nil for ours), and
// returns what it wrote there once it has exited. Nothing is typed. Not
// `script`: with its stdin at end of file it sends a byte into the
// terminal, which podman forwards to conmon's attach socket; conmon exits
// with that byte unread once the container is gone, the kernel then makes
// podman's next read of the socket fail with ECONNRESET ahead of the
// output still queued there, and podman drops that output (podman 4.3,
// conmon 2.1, with runc as with berth: a lost line under load).
func onPty(t *testing.T, timeout time.Duration, env []string, argv []string) string {
	t.Helper()
	mfd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.IoctlSetPointerInt(mfd, unix.TIOCSPTLCK, 0); err != nil {
		unix.Close(mfd)
		t.Fatal(err)
	}
	sfd, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(mfd), unix.TIOCGPTPEER, uintptr(unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC))
	if errno != 0 {
		unix.Close(mfd)
		t.Fatalf("ioctl TIOCGPTPEER: %v", errno)
	}
	// Non-blocking, so a deadline can end the reading.
	unix.SetNonblock(mfd, true)
	master, slave := os.NewFile(uintptr(mfd), "pty-master"), os.NewFile(sfd, "pty-slave")
	defer master.Close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		slave.Close()
		t.Fatal(err)
	}
	slave.Close()
	var out strings.Builder
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			out.Write(buf[:n])
			if err != nil {
				return // EIO: no slave left; or the deadline below
			}
		}
	}()
	err = cmd.Wait()
	// What is still in the pty, and no more (a child may keep the slave).
	master.SetReadDeadline(time.Now().Add(time.Second))
	<-done
	if ctx.Err() != nil {
		t.Fatalf("%s: timed out after %v: %q", strings.Join(argv, " "), timeout, out.String())
	}
	if err != nil {
		t.Errorf("%s: %v: %q", strings.Join(argv, " "), err, out.String())
	}
	return out.String()
}

// TestEnginePodmanTerminalLoad: `podman run -it` through berth, 20 times
// while busy loops hold the CPUs, loses no line of the container's output;
// each terminal is made by the init, which also writes podman's default
// linux.sysctl (net.ipv4.ping_group_range). The runtime podman calls is berth behind a wrapper that logs
// with --debug into a directory (conmon's own --log is dropped).
func TestEnginePodmanTerminalLoad(t *testing.T) {
	requireRoot(t)
	pm := needTool(t, "podman", "podman")
	taskset := needTool(t, "taskset", "util-linux")
	store := podmanStore(t)
	podmanCgroup = engineCgroup(t, "podman-load")
	tarPath := rootfsTar(t)
	image := fmt.Sprintf("localhost/berth-test-load-%d:1", os.Getpid())
	sh(t, 2*time.Minute, pm, podman(t, store, "import", tarPath, image)...)

	dir := testDir(t, "podman-load")
	logs := filepath.Join(dir, "logs")
	if err := os.Mkdir(logs, 0o755); err != nil {
		t.Fatal(err)
	}
	wrapper := filepath.Join(dir, "berth-logged")
	writeFile(t, wrapper, `#!/bin/sh
skip=
for a; do
	shift
	if [ -n "$skip" ]; then skip=; continue; fi
	case "$a" in
	--log) skip=1; continue ;;
	--log=*|--log-format=*) continue ;;
	esac
	set -- "$@" "$a"
done
exec `+runtimeBin(t)+` --debug --log `+logs+`/$$.log "$@"
`)
	if err := os.Chmod(wrapper, 0o755); err != nil {
		t.Fatal(err)
	}
	args := []string{"--root", store + "/storage", "--runroot", store + "/run", "--cgroup-manager=cgroupfs",
		"--events-backend=file", "--runtime", wrapper, "run", "--rm", "-it"}
	args = append(append(args, noLimitRaise()...), image, "sh", "-c", "tty && echo it-ok")
	env := os.Environ()

	for cpu := 0; cpu < 2 && cpu < goruntime.NumCPU(); cpu++ {
		busy := exec.Command(taskset, "-c", strconv.Itoa(cpu), "sh", "-c", "while :; do :; done")
		if err := busy.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			busy.Process.Kill()
			busy.Wait()
		})
	}
	const runs = 20
	lost := 0
	for i := 0; i < runs; i++ {
		out := onPty(t, time.Minute, env, append([]string{pm}, args...))
		if !strings.Contains(out, "/dev/pts/") || !strings.Contains(out, "it-ok") {
			lost++
			t.Errorf("run %d of %d: %q", i+1, runs, out)
		}
	}
	creates := 0
	files, _ := filepath.Glob(filepath.Join(logs, "*.log"))
	for _, f := range files {
		b, _ := os.ReadFile(f)
		log := string(b)
		if !strings.Contains(log, "create: ") {
			continue
		}
		creates++
		if !strings.Contains(log, "create: init: plan received") {
			t.Errorf("a create's log lacks the init's steps:\n%s", log)
		}
	}
	if creates != runs {
		t.Errorf("%d creates logged, want %d", creates, runs)
	}
	t.Logf("%d runs under load, %d with output lost", runs, lost)
}

func TestEngineContainerd(t *testing.T) {
	requireRoot(t)
	daemon := needTool(t, "containerd", "containerd")
	ctr := needTool(t, "ctr", "containerd")
	pm := needTool(t, "podman", "podman")
	dir := testDir(t, "containerd")
	sock := filepath.Join(dir, "containerd.sock")
	cfg := filepath.Join(dir, "config.toml")
	writeFile(t, cfg, fmt.Sprintf("version = 2\nroot = %q\nstate = %q\n[grpc]\n  address = %q\n", dir+"/root", dir+"/state", sock))
	logf, _ := os.Create(filepath.Join(dir, "containerd.log"))
	// Its own network and mount namespace: nothing it does reaches the host's.
	cmd := exec.Command("unshare", "-n", "-m", "--propagation", "private", daemon, "--config", cfg)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		exec.Command("umount", "-R", dir+"/state").Run()
		exec.Command("umount", "-R", dir+"/root").Run()
	})
	for i := 0; ; i++ {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		if i > 100 {
			b, _ := os.ReadFile(filepath.Join(dir, "containerd.log"))
			t.Fatalf("containerd did not start:\n%s", b)
		}
		time.Sleep(100 * time.Millisecond)
	}
	c := func(args ...string) string {
		return sh(t, time.Minute, ctr, append([]string{"--address", sock}, args...)...)
	}

	// An OCI archive of the test rootfs, made with podman.
	store := podmanStore(t)
	image := fmt.Sprintf("localhost/berth-ctr-%d:1", os.Getpid())
	sh(t, 2*time.Minute, pm, podman(t, store, "import", rootfsTar(t), image)...)
	archive := filepath.Join(dir, "image.tar")
	sh(t, 2*time.Minute, pm, podman(t, store, "save", "--format", "oci-archive", "-o", archive, image)...)
	c("images", "import", archive)

	bin := runtimeBin(t)
	cg := engineCgroup(t, "containerd")
	if out := c("run", "--rm", "--cgroup", cg+"/ct1", "--runc-binary", bin, image, "ct1", "sh", "-c", "echo containerd-ok"); !strings.Contains(out, "containerd-ok") {
		t.Fatalf("ctr run: %s", out)
	}
	c("run", "-d", "--cgroup", cg+"/ct2", "--runc-binary", bin, image, "ct2", "sleep", "1000")
	defer func() {
		exec.Command(ctr, "--address", sock, "task", "kill", "-s", "SIGKILL", "ct2").Run()
		time.Sleep(300 * time.Millisecond)
		exec.Command(ctr, "--address", sock, "task", "delete", "ct2").Run()
		exec.Command(ctr, "--address", sock, "container", "delete", "ct2").Run()
	}()
	if out := c("task", "exec", "--exec-id", "e1", "ct2", "sh", "-c", "echo exec-ok"); !strings.Contains(out, "exec-ok") {
		t.Errorf("ctr task exec: %s", out)
	}
	if out := c("task", "ps", "ct2"); len(strings.Fields(out)) < 3 {
		t.Errorf("ctr task ps: %s", out)
	}
	c("task", "pause", "ct2")
	if out := c("task", "ls"); !strings.Contains(out, "PAUSED") {
		t.Errorf("ctr task ls after pause: %s", out)
	}
	c("task", "resume", "ct2")
	if out := c("task", "metrics", "ct2"); !strings.Contains(out, "memory") {
		t.Errorf("ctr task metrics: %s", out)
	}
}

// TestEngineDocker: dockerd (started here in its own network and mount
// namespace, with private roots and socket, no iptables or bridge) runs
// containers with --runtime berth: run, exec, top, update, pause, stop.
func TestEngineDocker(t *testing.T) {
	requireRoot(t)
	dockerd := needTool(t, "dockerd", "docker.io")
	docker := needTool(t, "docker", "docker.io")
	pm := needTool(t, "podman", "podman")
	needTool(t, "unshare", "util-linux")
	d, image, _ := startDockerd(t, dockerd, docker, pm, 150,
		"--exec-opt", "native.cgroupdriver=cgroupfs", "--cgroup-parent", engineCgroup(t, "docker"))

	if out := d("run", "--rm", "--runtime", "berth", "--network", "none", image, "sh", "-c", "echo docker-ok"); !strings.Contains(out, "docker-ok") {
		t.Fatalf("docker run: %s", out)
	}
	id := strings.TrimSpace(d("run", "-d", "--runtime", "berth", "--network", "none", image, "sleep", "1000"))
	if out := d("exec", id, "sh", "-c", "echo exec-ok"); !strings.Contains(out, "exec-ok") {
		t.Errorf("docker exec: %s", out)
	}
	if out := d("top", id); !strings.Contains(out, "sleep 1000") {
		t.Errorf("docker top: %s", out)
	}
	d("update", "--memory", "100m", "--memory-swap", "200m", id)
	if out := d("exec", id, "sh", "-c", "cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes"); !strings.Contains(out, "104857600") {
		t.Errorf("docker update --memory 100m: the container sees %q", out)
	}
	d("pause", id)
	d("unpause", id)
	d("stop", "-t", "1", id)
	d("rm", id)
}

// startDockerd starts dockerd in its own network and mount namespace, with
// private roots and socket, no iptables or bridge, vfs storage, berth as
// runtime "berth" and the options given; asks it up to tries times, 100
// ms apart, whether it is up; loads the busybox image (made by podman)
// into it; and stops it when the test ends. It returns a runner of the docker CLI against it (a failure
// fails the test), the image's name and dockerd's address (for commands
// whose failure must not).
func startDockerd(t *testing.T, dockerd, docker, pm string, tries int, opts ...string) (func(args ...string) string, string, string) {
	t.Helper()
	dir := testDir(t, "docker")
	sock := filepath.Join(dir, "docker.sock")
	logf, _ := os.Create(filepath.Join(dir, "dockerd.log"))
	args := append([]string{"-n", "-m", "--propagation", "private", dockerd,
		"--data-root", dir + "/data", "--exec-root", dir + "/exec", "--pidfile", filepath.Join(dir, "dockerd.pid"), "-H", "unix://" + sock,
		"--iptables=false", "--ip-forward=false", "--ip-masq=false", "--bridge=none", "--storage-driver", "vfs",
		"--add-runtime", "berth=" + runtimeBin(t), "--containerd-namespace", "berth-test"}, opts...)
	cmd := exec.Command("unshare", args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM) // unshare execs dockerd: same pid
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	d := func(args ...string) string {
		return sh(t, 2*time.Minute, docker, append([]string{"-H", "unix://" + sock}, args...)...)
	}
	for i := 0; exec.Command(docker, "-H", "unix://"+sock, "version").Run() != nil; i++ {
		if i > tries {
			b, _ := os.ReadFile(filepath.Join(dir, "dockerd.log"))
			t.Fatalf("dockerd did not come up:\n%s", b)
		}
		time.Sleep(100 * time.Millisecond)
	}
	store := podmanStore(t)
	image := fmt.Sprintf("localhost/berth-docker-%d:1", os.Getpid())
	sh(t, 2*time.Minute, pm, podman(t, store, "import", rootfsTar(t), image)...)
	archive := filepath.Join(dir, "image.tar")
	sh(t, 2*time.Minute, pm, podman(t, store, "save", "--format", "docker-archive", "-o", archive, image)...)
	d("load", "-i", archive)
	return d, image, "unix://" + sock
}
