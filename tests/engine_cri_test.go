package tests

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
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

// The CRI path: containerd's CRI plugin (built into Debian's containerd
// 1.6) driven by crictl, as the kubelet drives it, with berth as the
// runtime handler behind containerd's runc v2 shim (BinaryName). All of
// it is private to the test: containerd runs in its own network and mount
// namespace with its own root, state, socket, shim and runtime state
// directories; the pods get their addresses from a CNI bridge inside that
// network namespace; the images are built here from busybox-static and
// imported, so nothing is pulled.

// needCRITool finds a tool of the CRI test. Off CI a missing one skips the
// test; with CI set it fails it, as .ci/run installs it.
func needCRITool(t *testing.T, name, install string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if os.Getenv("CI") == "" {
		t.Skipf("%s is not installed (%s); with CI set this fails instead", name, install)
	}
	t.Fatalf("%s not found (CI=%s): %s (.ci/run installs it)", name, os.Getenv("CI"), install)
	return ""
}

// cniPluginDir is where Debian's containernetworking-plugins puts the
// plugins.
const cniPluginDir = "/usr/lib/cni"

const (
	criPauseImage = "localhost/berth-cri-pause:1"
	criImage      = "localhost/berth-cri:1"
)

// criImages writes an OCI archive holding two images made from
// busybox-static, sharing one layer: the sandbox ("pause") image, whose
// command sleeps until killed, and the containers' image.
func criImages(t *testing.T, dir string) string {
	t.Helper()
	l := &imageLayout{t: t, dir: filepath.Join(dir, "layout")}
	bb, err := os.ReadFile(busyboxPath)
	if err != nil {
		t.Fatal(err)
	}
	layer := newTar(t)
	for _, d := range []string{"bin/", "etc/", "proc/", "sys/", "dev/", "root/"} {
		layer.add(tar.Header{Typeflag: tar.TypeDir, Name: d, Mode: 0o755}, nil)
	}
	layer.add(tar.Header{Typeflag: tar.TypeDir, Name: "tmp/", Mode: 0o1777}, nil)
	layer.add(tar.Header{Typeflag: tar.TypeReg, Name: "bin/busybox", Mode: 0o755}, bb)
	for _, a := range busyboxApplets(t) {
		if a != "busybox" {
			layer.add(tar.Header{Typeflag: tar.TypeSymlink, Name: "bin/" + a, Linkname: "busybox", Mode: 0o777}, nil)
		}
	}
	layer.add(tar.Header{Typeflag: tar.TypeReg, Name: "etc/passwd"}, []byte("root:x:0:0:root:/root:/bin/sh\n"))
	layer.add(tar.Header{Typeflag: tar.TypeReg, Name: "etc/group"}, []byte("root:x:0:\n"))
	raw := layer.bytes()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw)
	zw.Close()
	layerDesc := l.blob("application/vnd.oci.image.layer.v1.tar+gzip", gz.Bytes())

	var manifests []any
	for _, img := range []struct {
		name string
		cmd  []string
	}{
		{criPauseImage, []string{"/bin/sleep", "2147483647"}},
		{criImage, []string{"/bin/sh"}},
	} {
		cfg := l.jsonBlob("application/vnd.oci.image.config.v1+json", map[string]any{
			"architecture": goruntime.GOARCH,
			"os":           goruntime.GOOS,
			"config":       map[string]any{"Env": []string{"PATH=/bin"}, "Cmd": img.cmd},
			"rootfs":       map[string]any{"type": "layers", "diff_ids": []string{sha256hex(raw)}},
		})
		man := l.jsonBlob("application/vnd.oci.image.manifest.v1+json", map[string]any{
			"schemaVersion": 2,
			"mediaType":     "application/vnd.oci.image.manifest.v1+json",
			"config":        cfg,
			"layers":        []any{layerDesc},
		})
		man["annotations"] = map[string]string{
			"io.containerd.image.name":          img.name,
			"org.opencontainers.image.ref.name": img.name,
		}
		manifests = append(manifests, man)
	}
	idx, _ := json.Marshal(map[string]any{"schemaVersion": 2, "manifests": manifests})
	writeFile(t, filepath.Join(l.dir, "index.json"), string(idx))
	writeFile(t, filepath.Join(l.dir, "oci-layout"), `{"imageLayoutVersion":"1.0.0"}`)
	archive := filepath.Join(dir, "images.tar")
	sh(t, time.Minute, "tar", "-C", l.dir, "-cf", archive, ".")
	return archive
}

// criEnv is one private containerd with the CRI plugin.
type criEnv struct {
	t       *testing.T
	dir     string
	sock    string
	pid     int // containerd's: its network namespace is the pods' world
	crictl  string
	ctr     string
	runc    string        // the state root the shim gives berth
	cgroup  string        // cgroup parent of every pod
	timeout time.Duration // of a crictl command
	rpc     time.Duration // crictl's own timeout of each call, when set
}

// startCRI starts containerd in a new network and mount namespace. In the
// mount namespace, tmpfs covers /run/containerd (the shim sockets and
// fifos) and /var/lib (CNI's result cache), so nothing lands in the
// host's; its loopback is up for the streaming server that crictl exec
// uses. restrict_oom_score_adj keeps the pods' oom_score_adj at or above
// the test's own: some hosts (this CI's) deny root CAP_SYS_RESOURCE, which
// lowering it takes.
func startCRI(t *testing.T) *criEnv {
	t.Helper()
	requireRoot(t)
	daemon := needTool(t, "containerd", "containerd")
	ctr := needTool(t, "ctr", "containerd")
	needTool(t, "containerd-shim-runc-v2", "containerd")
	needTool(t, "unshare", "util-linux")
	needTool(t, "nsenter", "util-linux")
	needTool(t, "ip", "iproute2")
	crictl := needCRITool(t, "crictl", "go install sigs.k8s.io/cri-tools/cmd/crictl@"+crictlVersion)
	for _, p := range []string{"bridge", "host-local", "loopback"} {
		if _, err := os.Stat(filepath.Join(cniPluginDir, p)); err != nil {
			needCRITool(t, "cni-plugin-"+p, "apt-get install containernetworking-plugins")
		}
	}

	dir := testDir(t, "cri")
	e := &criEnv{t: t, dir: dir, sock: filepath.Join(dir, "containerd.sock"), crictl: crictl, ctr: ctr,
		runc: filepath.Join(dir, "runc"), cgroup: engineCgroup(t, "cri"), timeout: 2 * time.Minute}
	for _, d := range []string{"cni-bin", "cni-conf", "cni-ipam", "netns", "opt", "pod-logs"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{"bridge", "host-local", "loopback"} {
		if err := os.Symlink(filepath.Join(cniPluginDir, p), filepath.Join(dir, "cni-bin", p)); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(dir, "cni-conf", "10-berth.conflist"), fmt.Sprintf(`{
  "cniVersion": "0.4.0",
  "name": "berth-cri",
  "plugins": [{
    "type": "bridge", "bridge": "berthcri0", "isGateway": true, "ipMasq": false,
    "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.88.42.0/24"}]], "dataDir": %q}
  }]
}`, filepath.Join(dir, "cni-ipam")))
	cfg := filepath.Join(dir, "config.toml")
	writeFile(t, cfg, fmt.Sprintf(`version = 2
root = %q
state = %q
[grpc]
  address = %q
[plugins."io.containerd.internal.v1.opt"]
  path = %q
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %q
  netns_mounts_under = %q
  disable_apparmor = true
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "berth"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.berth]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.berth.options]
        BinaryName = %q
        Root = %q
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = %q
    conf_dir = %q
    max_conf_num = 1
`, dir+"/root", dir+"/state", e.sock, dir+"/opt", criPauseImage, dir+"/netns", runtimeBin(t), e.runc,
		dir+"/cni-bin", dir+"/cni-conf"))
	writeFile(t, filepath.Join(dir, "crictl.yaml"), fmt.Sprintf("runtime-endpoint: unix://%s\nimage-endpoint: unix://%s\ntimeout: 60\n", e.sock, e.sock))

	logf, err := os.Create(filepath.Join(dir, "containerd.log"))
	if err != nil {
		t.Fatal(err)
	}
	// sh execs containerd: the pid stays unshare's.
	cmd := exec.Command("unshare", "-n", "-m", "--propagation", "private", "sh", "-ec",
		`ip link set lo up
mount -t tmpfs -o mode=0700 tmpfs /run/containerd
mount -t tmpfs -o mode=0755 tmpfs /var/lib
exec "$0" --config "$1"`, daemon, cfg)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	e.pid = cmd.Process.Pid
	t.Cleanup(func() { e.stop(cmd) })

	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := e.try("info")
		if err == nil && strings.Contains(out, `"NetworkReady"`) && !strings.Contains(out, "cni config load failed") {
			break
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(filepath.Join(dir, "containerd.log"))
			t.Fatalf("containerd's CRI plugin did not come up: %v\n%s\n--- containerd.log:\n%s", err, out, b)
		}
		time.Sleep(200 * time.Millisecond)
	}
	sh(t, 2*time.Minute, ctr, "--address", e.sock, "-n", "k8s.io", "images", "import", criImages(t, dir))
	return e
}

// stop removes every pod, stops containerd, and then makes sure that no
// shim or container process of the test is left: shims are found by the
// socket path on their command line, containers through berth's state.
func (e *criEnv) stop(cmd *exec.Cmd) {
	e.timeout = 30 * time.Second
	if out, err := e.try("rmp", "-a", "-f"); err != nil {
		e.t.Logf("cleanup: crictl rmp -a -f: %v: %s", err, out)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		cmd.Process.Kill()
		<-done
	}
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, _ := os.ReadFile(p)
		if bytes.Contains(b, []byte(e.sock)) {
			if pid, err := strconv.Atoi(filepath.Base(filepath.Dir(p))); err == nil {
				e.t.Logf("cleanup: killing leftover shim %d", pid)
				unix.Kill(pid, unix.SIGKILL)
			}
		}
	}
	root := filepath.Join(e.runc, "k8s.io")
	entries, _ := os.ReadDir(root)
	for _, en := range entries {
		e.t.Logf("cleanup: leftover container %s", en.Name())
		exec.Command(runtimeBin(e.t), "--root", root, "delete", "--force", en.Name()).Run()
	}
	if b, err := os.ReadFile(filepath.Join(e.dir, "containerd.log")); err == nil && e.t.Failed() {
		e.t.Logf("containerd.log:\n%s", b)
	}
}

// in is e for a subtest: its helpers fail t.
func (e *criEnv) in(t *testing.T) *criEnv {
	c := *e
	c.t = t
	return &c
}

// try runs crictl in containerd's network namespace (where its streaming
// server listens) and returns its combined output.
func (e *criEnv) try(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), e.timeout)
	defer cancel()
	argv := []string{"--net=/proc/" + strconv.Itoa(e.pid) + "/ns/net", e.crictl, "--config", filepath.Join(e.dir, "crictl.yaml")}
	if e.rpc > 0 {
		argv = append(argv, "--timeout", e.rpc.String())
	}
	argv = append(argv, args...)
	out, err := exec.CommandContext(ctx, "nsenter", argv...).CombinedOutput()
	return string(out), err
}

// cri runs crictl and fails the test if it fails.
func (e *criEnv) cri(args ...string) string {
	e.t.Helper()
	out, err := e.try(args...)
	if err != nil {
		e.t.Fatalf("crictl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(out)
}

// timed runs crictl and fails the test if it fails or takes longer than
// limit: a stop that waits out the kubelet's timeouts is the failure this
// guards against.
func (e *criEnv) timed(limit time.Duration, args ...string) (string, time.Duration) {
	e.t.Helper()
	c := *e
	c.rpc = 2 * limit // a hang fails here, not at the default minute
	start := time.Now()
	out := c.cri(args...)
	took := time.Since(start)
	if took > limit {
		e.t.Errorf("crictl %s took %v, more than %v", strings.Join(args, " "), took.Round(time.Millisecond), limit)
	}
	e.t.Logf("crictl %s: %v", strings.Join(args, " "), took.Round(time.Millisecond))
	return out, took
}

func (e *criEnv) writeJSON(name string, v any) string {
	e.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		e.t.Fatal(err)
	}
	p := filepath.Join(e.dir, name)
	writeFile(e.t, p, string(b))
	return p
}

// podConfig is a PodSandboxConfig with its cgroup under the test's parent.
func (e *criEnv) podConfig(name string) string {
	e.t.Helper()
	if err := os.MkdirAll(filepath.Join(e.dir, "pod-logs", name), 0o755); err != nil {
		e.t.Fatal(err)
	}
	return e.writeJSON(name+"-pod.json", map[string]any{
		"metadata":      map[string]any{"name": name, "namespace": "berth-test", "uid": name + "-uid", "attempt": 0},
		"hostname":      name,
		"log_directory": filepath.Join(e.dir, "pod-logs", name),
		"linux":         map[string]any{"cgroup_parent": e.cgroup + "/" + name},
	})
}

// containerConfig is a ContainerConfig running script under sh.
func (e *criEnv) containerConfig(name, script string, memory int64) string {
	linux := map[string]any{}
	if memory > 0 {
		linux["resources"] = map[string]any{"memory_limit_in_bytes": memory}
	}
	return e.writeJSON(name+"-ctr.json", map[string]any{
		"metadata": map[string]any{"name": name},
		"image":    map[string]any{"image": criImage},
		"command":  []string{"sh", "-c", script},
		"log_path": name + ".log",
		"linux":    linux,
	})
}

// run creates and starts a container in the pod.
func (e *criEnv) run(pod, podCfg, name, script string, memory int64) string {
	e.t.Helper()
	id := e.cri("create", pod, e.containerConfig(name, script, memory), podCfg)
	e.cri("start", id)
	return id
}

// criStatus is what crictl inspect says of a container.
type criStatus struct {
	State    string `json:"state"`
	ExitCode int    `json:"exitCode"`
}

func (e *criEnv) status(id string) criStatus {
	e.t.Helper()
	var v struct {
		Status criStatus `json:"status"`
		Info   struct {
			Pid int `json:"pid"`
		} `json:"info"`
	}
	out := e.cri("inspect", "-o", "json", id)
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		e.t.Fatalf("crictl inspect %s: %v\n%s", id, err, out)
	}
	return v.Status
}

// waitState polls crictl inspect until the container is in state, for at
// most limit.
func (e *criEnv) waitState(id, state string, limit time.Duration) criStatus {
	e.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		st := e.status(id)
		if st.State == state {
			return st
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("container %s is %s, not %s after %v", id, st.State, state, limit)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitLog polls crictl logs until it holds want.
func (e *criEnv) waitLog(id, want string) string {
	e.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		out := e.cri("logs", id)
		if strings.Contains(out, want) {
			return out
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("crictl logs %s: no %q in %q", id, want, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// podInfo is what crictl inspectp says of a pod.
type podInfo struct {
	State string
	IP    string
	Pid   int
}

func (e *criEnv) inspectPod(pod string) podInfo {
	e.t.Helper()
	var v struct {
		Status struct {
			State   string `json:"state"`
			Network struct {
				IP string `json:"ip"`
			} `json:"network"`
		} `json:"status"`
		Info struct {
			Pid int `json:"pid"`
		} `json:"info"`
	}
	out := e.cri("inspectp", "-o", "json", pod)
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		e.t.Fatalf("crictl inspectp %s: %v\n%s", pod, err, out)
	}
	return podInfo{State: v.Status.State, IP: v.Status.Network.IP, Pid: v.Info.Pid}
}

// nsOf reads a namespace link of a host pid.
func nsOf(t *testing.T, pid int, ns string) string {
	t.Helper()
	l, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pid, ns))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// crictlVersion is the cri-tools release .ci/run installs; it speaks the
// CRI v1 API that containerd 1.6 serves.
const crictlVersion = "v1.34.0"

// stopLimit bounds each stop and removal: with the runtime answering as
// runc does they take well under a second; the failure this guards
// against waits out containerd's and the kubelet's timeouts.
const stopLimit = 10 * time.Second

// TestEngineCRI: a pod of two containers sharing its network and IPC
// namespaces, a container that exits by itself seen as exited with its
// status, exec with output and status, logs, a memory limit in the
// container's cgroup, and stop/stopp/rmp of running and of already
// stopped containers and pods, each done in bounded time.
func TestEngineCRI(t *testing.T) {
	e := startCRI(t)

	podCfg := e.podConfig("p1")
	pod, took := e.timed(stopLimit*3, "runp", podCfg)
	t.Logf("pod %s up in %v", pod, took.Round(time.Millisecond))
	pi := e.inspectPod(pod)
	if pi.State != "SANDBOX_READY" || !strings.HasPrefix(pi.IP, "10.88.42.") || pi.Pid <= 0 {
		t.Fatalf("pod: %+v, want SANDBOX_READY with an address of the CNI bridge", pi)
	}

	const mem = 64 << 20
	a := e.run(pod, podCfg, "a", `echo a-up net=$(readlink /proc/self/ns/net) ipc=$(readlink /proc/self/ns/ipc)
echo from-a > /dev/shm/shared
trap 'echo a-term; exit 0' TERM
while :; do sleep 0.1; done`, mem)
	b := e.run(pod, podCfg, "b", `echo b-up net=$(readlink /proc/self/ns/net) ipc=$(readlink /proc/self/ns/ipc)
exec sleep 100000`, 0)
	aLog := e.waitLog(a, "a-up")
	bLog := e.waitLog(b, "b-up")

	t.Run("shared namespaces", func(t *testing.T) {
		e := e.in(t)
		podNet, podIPC := nsOf(t, pi.Pid, "net"), nsOf(t, pi.Pid, "ipc")
		for _, log := range []string{aLog, bLog} {
			if !strings.Contains(log, "net="+podNet) || !strings.Contains(log, "ipc="+podIPC) {
				t.Errorf("a container outside the pod's namespaces (pod: %s %s): %q", podNet, podIPC, log)
			}
		}
		if out := e.cri("exec", b, "cat", "/dev/shm/shared"); out != "from-a" {
			t.Errorf("b reads %q from the pod's /dev/shm, a wrote from-a", out)
		}
		if out := e.cri("exec", b, "ip", "-o", "-4", "addr", "show", "eth0"); !strings.Contains(out, pi.IP+"/") {
			t.Errorf("b's eth0 lacks the pod's address %s: %q", pi.IP, out)
		}
	})

	t.Run("exec", func(t *testing.T) {
		e := e.in(t)
		// crictl exits 1 when the command fails and names its status.
		out, err := e.try("exec", a, "sh", "-c", "echo exec-out; exit 3")
		if err == nil || !strings.Contains(out, "exec-out") || !strings.Contains(out, "exit code 3") {
			t.Errorf("crictl exec: want exec-out and exit code 3, got %v: %q", err, out)
		}
		if out := e.cri("exec", a, "sh", "-c", "echo exec-ok"); out != "exec-ok" {
			t.Errorf("crictl exec: %q, want exec-ok", out)
		}
		if out := e.cri("exec", "--sync", a, "sh", "-c", "echo sync-ok"); out != "sync-ok" {
			t.Errorf("crictl exec --sync: %q, want sync-ok", out)
		}
		out, err = e.try("exec", "--sync", a, "sh", "-c", "exit 4")
		if err == nil || !strings.Contains(out, "exited with 4") {
			t.Errorf("crictl exec --sync: want exited with 4, got %v: %q", err, out)
		}
	})

	t.Run("memory limit", func(t *testing.T) {
		e := e.in(t)
		want := strconv.Itoa(mem)
		// cgroup v1 (hybrid) hosts: the memory hierarchy; unified ones
		// (v2): memory.max in the container's own cgroup.
		inside, host := "/sys/fs/cgroup/memory/memory.limit_in_bytes",
			filepath.Join("/sys/fs/cgroup/memory", e.cgroup, "p1", a, "memory.limit_in_bytes")
		if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
			inside, host = "/sys/fs/cgroup/memory.max", filepath.Join("/sys/fs/cgroup", e.cgroup, "p1", a, "memory.max")
		}
		if out := e.cri("exec", a, "cat", inside); out != want {
			t.Errorf("the container's %s says %q, want %s", inside, out, want)
		}
		got, err := os.ReadFile(host)
		if err != nil || strings.TrimSpace(string(got)) != want {
			t.Errorf("%s: %q, %v; want %s", host, got, err, want)
		}
	})

	t.Run("exits by itself", func(t *testing.T) {
		e := e.in(t)
		c := e.run(pod, podCfg, "c", "echo c-ran; exit 7", 0)
		st := e.waitState(c, "CONTAINER_EXITED", stopLimit)
		if st.ExitCode != 7 {
			t.Errorf("exit code %d, want 7", st.ExitCode)
		}
		e.waitLog(c, "c-ran")
		e.timed(stopLimit, "stop", c) // already stopped
		e.timed(stopLimit, "rm", c)
	})

	t.Run("stop", func(t *testing.T) {
		e := e.in(t)
		e.timed(stopLimit, "stop", "--timeout", "30", a)
		st := e.waitState(a, "CONTAINER_EXITED", stopLimit)
		if st.ExitCode != 0 {
			t.Errorf("a trapped TERM and exited 0; crictl says %d", st.ExitCode)
		}
		e.waitLog(a, "a-term")
		e.timed(stopLimit, "stop", "--timeout", "30", a) // again, already stopped
	})

	t.Run("stopp rmp", func(t *testing.T) {
		e := e.in(t)
		e.timed(stopLimit, "stopp", pod) // b still runs
		if st := e.status(b); st.State != "CONTAINER_EXITED" {
			t.Errorf("after stopp b is %s", st.State)
		}
		if pi := e.inspectPod(pod); pi.State != "SANDBOX_NOTREADY" {
			t.Errorf("after stopp the pod is %s", pi.State)
		}
		e.timed(stopLimit, "stopp", pod) // again, already stopped
		e.timed(stopLimit, "rmp", pod)
	})

	t.Run("rmp running", func(t *testing.T) {
		e := e.in(t)
		cfg := e.podConfig("p2")
		pod2 := e.cri("runp", cfg)
		d := e.run(pod2, cfg, "d", "exec sleep 100000", 0)
		e.waitState(d, "CONTAINER_RUNNING", stopLimit)
		e.timed(stopLimit, "rmp", "--force", pod2)
		if out := e.cri("pods", "-q"); out != "" {
			t.Errorf("pods left: %q", out)
		}
	})

	// Nothing berth knows of is left: every container was deleted through
	// the shim.
	if entries, _ := os.ReadDir(filepath.Join(e.runc, "k8s.io")); len(entries) != 0 {
		var ids []string
		for _, en := range entries {
			ids = append(ids, en.Name())
		}
		t.Errorf("containers left in berth's state: %v", ids)
	}
}
