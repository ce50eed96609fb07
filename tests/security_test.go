package tests

import (
	"encoding/binary"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// compileStatic puts the static C program testdata/cprog/<name>.c into
// the rootfs at dst: busybox cannot show some kernel behaviours (a setuid
// execve, a tight /proc scan). gcc and the static libc (libc6-dev) are test
// dependencies; their absence is a failure, not a skip. In the cgroup-v2
// VM, which has no compiler, tests/vm/run.sh builds them on the host and
// BERTH_TEST_CPROGS names the directory.
func compileStatic(t *testing.T, name, dst string) {
	t.Helper()
	if dir := os.Getenv("BERTH_TEST_CPROGS"); dir != "" {
		copyFile(t, filepath.Join(dir, name), dst, 0o755)
		return
	}
	c, err := filepath.Abs(filepath.Join("testdata", "cprog", name+".c"))
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("gcc", "-static", "-O2", "-o", dst, c).CombinedOutput(); err != nil {
		t.Fatalf("gcc -static (apt-get install gcc libc6-dev): %v\n%s", err, out)
	}
}

// hostMountedAt reports whether the host has a mount point at path.
func hostMountedAt(path string) bool {
	for _, m := range hostMounts() {
		if m == path {
			return true
		}
	}
	return false
}

// TestSecurityConsoleSymlink covers CVE-2025-52565: with process.terminal
// the pty slave is bind-mounted over /dev/console, so a /dev/console that
// the rootfs (or a hook, after /dev is mounted) made a symlink must not
// redirect that mount: not onto a host file (absolute or ../ escape), not
// onto another file of the container. Create must fail naming
// /dev/console, or the console must end up on /dev/console itself. The C
// init makes the console, where a createContainer hook plants the link too
// (the C init runs that hook).
func TestSecurityConsoleSymlink(t *testing.T) {
	r := newRuntime(t)
	log := withLog(t, r)
	hostDir := testDir(t, "console-host")
	hostFile := filepath.Join(hostDir, "hostname")
	const hostContent = "host-file-must-not-change\n"
	writeFile(t, hostFile, hostContent)

	for _, tc := range []struct {
		name   string
		target string // what /dev/console points to
		hook   bool   // planted by a createContainer hook inside the /dev tmpfs
	}{
		{"absolute host path", hostFile, false},
		{"relative escape", "../../../../../../../../.." + hostFile, false},
		{"file inside the rootfs", "/etc/console-target", false},
		{"planted in /dev tmpfs by a hook", "/etc/console-target", true},
		{"host path planted by a hook", hostFile, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBundle(t, "sh")
			b.spec.Process.Terminal = true
			writeFile(t, filepath.Join(b.rootfs, "etc", "console-target"), "container-file\n")
			console := filepath.Join(b.rootfs, "dev", "console")
			if tc.hook {
				hook := filepath.Join(testDir(t, "hook"), "plant.sh")
				writeFile(t, hook, "#!/bin/sh\nrm -f "+console+" && ln -s "+tc.target+" "+console+"\n")
				os.Chmod(hook, 0o755)
				b.spec.Hooks = &specs.Hooks{CreateContainer: []specs.Hook{{Path: hook}}}
			} else {
				// The rootfs's own /dev, not a tmpfs over it, so the planted
				// link is what the runtime finds.
				var ms []specs.Mount
				for _, m := range b.spec.Mounts {
					if m.Destination != "/dev" {
						ms = append(ms, m)
					}
				}
				b.spec.Mounts = ms
				if err := os.Symlink(tc.target, console); err != nil {
					t.Fatal(err)
				}
			}

			sock, ln, got := listenConsole(t)
			before := len(log())
			c, res := r.tryCreate(b, "--console-socket", sock)
			ln.Close() // ends the receiver if create failed before connecting
			if m := <-got; m.f != nil {
				defer m.f.Close()
			}
			checkInit(t, log()[before:])

			if data, _ := os.ReadFile(hostFile); string(data) != hostContent {
				t.Errorf("the host file changed to %q", data)
			}
			if hostMountedAt(hostFile) {
				unix.Unmount(hostFile, unix.MNT_DETACH)
				t.Fatalf("the pty was mounted over the host file %s", hostFile)
			}
			if data, _ := os.ReadFile(filepath.Join(b.rootfs, "etc", "console-target")); string(data) != "container-file\n" {
				t.Errorf("the symlink's target inside the rootfs changed to %q", data)
			}
			if res.code != 0 {
				if !strings.Contains(res.stderr, "/dev/console") {
					t.Errorf("create failed without naming /dev/console: %s", res)
				}
				return
			}
			// Created: the console must be a mount on /dev/console and on
			// nothing the link pointed to, in the container's own view.
			pid := r.state(c.id).Pid
			mi, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/mountinfo")
			if err != nil {
				t.Fatal(err)
			}
			mounts := parseMountinfo(string(mi))
			if _, ok := mounts["/dev/console"]; !ok {
				t.Errorf("create succeeded but /dev/console is not a mount point inside:\n%s", mi)
			}
			for p := range mounts {
				if p == "/etc/console-target" || strings.HasSuffix(p, "/hostname") {
					t.Errorf("the console was mounted on %s, where /dev/console pointed", p)
				}
			}
		})
	}
}

// TestSecurityNoNewPrivsSetuid: a setuid-root binary run by uid 1000 gains
// euid 0 only without noNewPrivileges. Both halves run, so a runtime that
// never sets no_new_privs, or a rootfs mounted nosuid, fails the test.
func TestSecurityNoNewPrivsSetuid(t *testing.T) {
	r := newRuntime(t)
	for _, tc := range []struct {
		nnp  bool
		want string
	}{
		{true, "ruid=1000 euid=1000"},
		{false, "ruid=1000 euid=0"},
	} {
		t.Run("noNewPrivileges="+strconv.FormatBool(tc.nnp), func(t *testing.T) {
			b := newBundle(t, "/bin/suid-euid")
			bin := filepath.Join(b.rootfs, "bin", "suid-euid")
			compileStatic(t, "euid", bin)
			if err := os.Chown(bin, 0, 0); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(bin, 0o755|os.ModeSetuid); err != nil {
				t.Fatal(err)
			}
			b.spec.Process.User = specs.User{UID: 1000, GID: 1000}
			b.spec.Process.NoNewPrivileges = tc.nnp
			if got := strings.TrimSpace(r.mustRunContainer(b)); got != tc.want {
				t.Errorf("setuid-root binary as uid 1000 printed %q, want %q", got, tc.want)
			}
		})
	}
}

// fileCaps is a version 2 security.capability xattr: permitted and
// inheritable masks, with the effective bit set.
func fileCaps(t *testing.T, permitted, inheritable []string) []byte {
	t.Helper()
	mask := func(names []string) uint64 {
		v, err := strconv.ParseUint(capMask(t, names...), 16, 64)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	p, i := mask(permitted), mask(inheritable)
	b := make([]byte, 20)
	binary.LittleEndian.PutUint32(b[0:], 0x02000000|1) // VFS_CAP_REVISION_2 | VFS_CAP_FLAGS_EFFECTIVE
	binary.LittleEndian.PutUint32(b[4:], uint32(p))
	binary.LittleEndian.PutUint32(b[8:], uint32(i))
	binary.LittleEndian.PutUint32(b[12:], uint32(p>>32))
	binary.LittleEndian.PutUint32(b[16:], uint32(i>>32))
	return b
}

// TestSecurityCapabilitySets gives each of the five sets a different list
// and checks /proc/self/status after execve, where the kernel derives the
// new sets from them: for uid 1000 and a plain binary only ambient
// survives (into permitted and effective); through a binary with file
// capabilities, permitted becomes (inheritable & file inheritable) |
// (file permitted & bounding) and ambient is cleared. Each expected mask
// differs from every list's, so a set applied from the wrong field shows.
func TestSecurityCapabilitySets(t *testing.T) {
	r := newRuntime(t)
	bnd := []string{"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_SYS_TIME", "CAP_SETFCAP"}
	prm := []string{"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW"}
	eff := []string{"CAP_CHOWN", "CAP_KILL"}
	inh := []string{"CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW"}
	amb := []string{"CAP_NET_RAW"}
	setSpec := func(b *bundle) {
		b.spec.Process.User = specs.User{UID: 1000, GID: 1000}
		b.spec.Process.NoNewPrivileges = false
		b.spec.Process.Capabilities = &specs.LinuxCapabilities{
			Bounding: bnd, Permitted: prm, Effective: eff, Inheritable: inh, Ambient: amb,
		}
	}
	check := func(t *testing.T, status string, want map[string]string) {
		t.Helper()
		for field, w := range want {
			if got := statusField(status, field); got != w {
				t.Errorf("%s = %s, want %s", field, got, w)
			}
		}
	}

	t.Run("plain binary", func(t *testing.T) {
		b := newShBundle(t, "grep ^Cap /proc/self/status")
		setSpec(b)
		_, res := r.runContainer(b)
		if res.code != 0 {
			t.Fatalf("container failed: %s", res)
		}
		check(t, res.stdout, map[string]string{
			"CapBnd": capMask(t, bnd...),
			"CapInh": capMask(t, inh...),
			"CapAmb": capMask(t, amb...),
			"CapPrm": capMask(t, amb...),
			"CapEff": capMask(t, amb...),
		})
	})

	t.Run("file capabilities", func(t *testing.T) {
		b := newBundle(t, "/fcap/grep", "^Cap", "/proc/self/status")
		setSpec(b)
		// A copy of busybox (named grep, so it runs that applet) carrying
		// file capabilities: file permitted CAP_SYS_TIME, file
		// inheritable CAP_KILL and CAP_CHOWN (only CAP_KILL is in the
		// process's inheritable). With the effective bit set, a file
		// permitted capability outside the bounding set would make the
		// execve fail with EPERM, so there is none.
		dir := filepath.Join(b.rootfs, "fcap")
		os.MkdirAll(dir, 0o755)
		bin := filepath.Join(dir, "grep")
		copyFile(t, busyboxPath, bin, 0o755)
		if err := unix.Setxattr(bin, "security.capability",
			fileCaps(t, []string{"CAP_SYS_TIME"}, []string{"CAP_KILL", "CAP_CHOWN"}), 0); err != nil {
			t.Fatalf("set file capabilities: %v", err)
		}
		_, res := r.runContainer(b)
		if res.code != 0 {
			t.Fatalf("container failed: %s", res)
		}
		both := capMask(t, "CAP_KILL", "CAP_SYS_TIME")
		check(t, res.stdout, map[string]string{
			"CapBnd": capMask(t, bnd...),
			"CapInh": capMask(t, inh...),
			"CapAmb": capMask(t),
			"CapPrm": both,
			"CapEff": both,
		})
	})
}

// defaultSpecBundle is a bundle whose config.json is `berth spec`'s, with
// the terminal off and the given script as the process.
func defaultSpecBundle(t *testing.T, r *runtime, script string) *bundle {
	t.Helper()
	b := newShBundle(t, script)
	r.mustRun("spec", "--bundle", b.dir)
	data, err := os.ReadFile(filepath.Join(b.dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s specs.Spec
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	s.Process.Terminal = false
	s.Process.Args = []string{"sh", "-c", script}
	b.spec = &s
	return b
}

// TestSecurityDefaultSpecKernelFiles: in a container made from `berth
// spec`, the kernel's control files cannot be written (read-only mounts,
// so the error is EROFS whatever the capabilities), the masked ones read
// as empty, and /sys and the root are read-only. Only opens for writing
// are tried (`: > f` writes nothing), so a failure here changes nothing
// on the host.
func TestSecurityDefaultSpecKernelFiles(t *testing.T) {
	r := newRuntime(t)
	script := `
for f in /proc/sysrq-trigger /proc/sys/kernel/core_pattern /proc/sys/kernel/hostname /proc/sys/vm/drop_caches \
         /proc/sys/net/ipv4/ip_forward /sys/kernel/uevent_helper /sys/class/net/lo/mtu /etc/passwd; do
	if [ ! -e $f ]; then echo "absent $f"
	elif err=$( (: > $f) 2>&1 ); then echo "writable $f"
	else echo "denied $f: $err"; fi
done
mkdir /sys/fs/berth-test 2>&1 || true
for f in /proc/kcore /proc/keys /proc/timer_list; do
	if [ -e $f ]; then echo "size $f $(wc -c < $f)"; else echo "absent $f"; fi
done
echo "firmware $(ls -A /sys/firmware | wc -l)"
awk '$5 == "/" || $5 == "/sys" { print "mount " $0 }' /proc/self/mountinfo
`
	b := defaultSpecBundle(t, r, script)
	out := r.mustRunContainer(b)
	for _, l := range lines(out) {
		switch {
		case strings.HasPrefix(l, "absent "):
			// The kernel may lack the file (no CONFIG_PROC_KCORE, no
			// CONFIG_MAGIC_SYSRQ); the container must not lack more.
			f := strings.TrimPrefix(l, "absent ")
			if _, err := os.Stat(f); err == nil {
				t.Errorf("%s exists on the host but not in the container", f)
			}
		case strings.HasPrefix(l, "writable "):
			t.Errorf("%s from a default-spec container", l)
		case strings.HasPrefix(l, "denied "):
			if !strings.Contains(l, "Read-only file system") {
				t.Errorf("%s: want EROFS (a read-only mount)", l)
			}
		case strings.HasPrefix(l, "size "):
			if !strings.HasSuffix(l, " 0") {
				t.Errorf("masked file is readable: %s", l)
			}
		case strings.HasPrefix(l, "firmware "):
			if l != "firmware 0" {
				t.Errorf("/sys/firmware is not masked: %s", l)
			}
		case strings.HasPrefix(l, "mount "):
			f := strings.Fields(l)
			if len(f) > 6 && !hasOpt(f[6], "ro") {
				t.Errorf("%s is mounted read-write: %s", f[5], l)
			}
		}
	}
	if strings.Count(out, "denied ")+strings.Count(out, "absent ")+strings.Count(out, "size ") != 11 ||
		strings.Count(out, "mount ") != 2 {
		t.Errorf("the script did not run all its checks:\n%s", out)
	}
	if !strings.Contains(out, "mkdir: can't create directory '/sys/fs/berth-test': Read-only file system") {
		t.Errorf("mkdir under /sys: want EROFS; output:\n%s", out)
	}
}

// spySrc scans /proc of the container as fast as it can until /stop
// exists. For every process that is not the exec'd workload yet ("true")
// it counts what it managed to learn about it: its environment (looking
// for the runtime's _BERTH_ variables), its executable (anything but the
// rootfs's busybox is the runtime's binary) and its memory (the ptrace
// attach check). It prints
// one summary line.

// TestSecurityExecHelperHidden: while `berth exec` runs, its helper is
// inside the container's namespaces with the host's berth binary as its
// executable and the runtime's environment. A root process in the
// container (without CAP_SYS_PTRACE) scans /proc in a tight loop during 50
// execs: it must never read the helper's environment or executable link
// nor ptrace it (the stub makes the helper non-dumpable before it joins
// the container). The scan must also have seen helpers at least once, or
// the test proved nothing.
func TestSecurityExecHelperHidden(t *testing.T) {
	r := newRuntime(t)
	b := newBundle(t, "/spy")
	compileStatic(t, "spy", filepath.Join(b.rootfs, "spy"))
	// Exec'd processes run as root like the spy, so only dumpability
	// stands between them.
	c := r.create(b)
	c.start()
	const execs = 50
	for i := 0; i < execs; i++ {
		r.mustRun("exec", c.id, "true")
	}
	writeFile(t, filepath.Join(b.rootfs, "stop"), "")
	r.waitStatus(c.id, specs.StateStopped)
	out := strings.TrimSpace(c.stdout())
	t.Logf("spy: %s", out)
	vals := map[string]string{}
	for _, f := range strings.Fields(out) {
		if k, v, ok := strings.Cut(f, "="); ok {
			vals[k] = v
		}
	}
	if vals["scans"] == "" {
		t.Fatalf("the spy did not report: stdout %q stderr %q", out, c.stderr())
	}
	for _, k := range []string{"environ", "exe", "mem"} {
		if vals[k] != "0" {
			t.Errorf("a container process got the exec helper's %s %s time(s) (%s)", k, vals[k], out)
		}
	}
	if n, _ := strconv.Atoi(vals["seen"]); n == 0 {
		t.Errorf("the spy never saw an exec helper in %d execs (%s): the test cannot tell", execs, out)
	}
}

// TestSecurityExecHelperDumpable is the control for the test above: the
// spy does see what a dumpable process exposes. A process exec'd into the
// container that is not "true" (sleep) is dumpable; the spy must read its
// environment variable _BERTH_ (set with exec --env) and its executable.
func TestSecurityExecHelperDumpable(t *testing.T) {
	r := newRuntime(t)
	b := newBundle(t, "/spy")
	compileStatic(t, "spy", filepath.Join(b.rootfs, "spy"))
	c := r.create(b)
	c.start()
	r.mustRun("exec", "-d", "--env", "_BERTH_CONTROL=1", c.id, "sleep", "1")
	time.Sleep(300 * time.Millisecond)
	writeFile(t, filepath.Join(b.rootfs, "stop"), "")
	r.waitStatus(c.id, specs.StateStopped)
	out := strings.TrimSpace(c.stdout())
	if !strings.Contains(out, "sleep,") || strings.Contains(out, "environ=0 ") || strings.Contains(out, "mem=0 ") {
		t.Errorf("the spy could not read a dumpable process's environment: %s", out)
	}
}

// The stub's sync tags (nsenter/nsenter.go), spelled out so the test
// binary does not link the stub itself.
const (
	syncPid = 0x42
	syncErr = 0x43
)

// TestSecurityBootstrapMalformed sends malformed bootstrap messages to the
// real binary's nsenter stub, the way a compromised or buggy parent could:
// each must end in an error report (SYNC_ERR) and exit status 1, never a
// crash, a hang, or a process that goes on into Go.
func TestSecurityBootstrapMalformed(t *testing.T) {
	bin := runtimeBin(t)
	requireRoot(t)
	le := func(v ...uint32) []byte {
		var b []byte
		for _, x := range v {
			b = binary.NativeEndian.AppendUint32(b, x)
		}
		return b
	}
	msg := func(body []byte) []byte { return append(le(uint32(len(body))), body...) }
	for _, tc := range []struct {
		name string
		msg  []byte
		want string
	}{
		{"too large", le(0xffffffff), "too large"},
		{"cut short", le(100, 1, 4), "read bootstrap"},
		{"trailing bytes", msg(append(le(1, 4, 0), 1, 2)), "truncated record header"},
		{"record overrun", msg(le(2, 0xfffffff0)), "overruns"},
		{"unterminated path", msg(append(le(2, 8), "mount:/x"...)), "not NUL-terminated"},
		{"unknown namespace", msg(append(le(2, 9), "bogus:/x\x00"...)), "unknown namespace type bogus"},
		{"empty path", msg(append(le(2, 5), "pid:\x00"...)), "empty path for pid namespace"},
		{"empty entry", msg(append(le(2, 12), "network:/x\x00\x00"...)), "empty namespace entry"},
		{"joined twice", msg(append(le(2, 14), "pid:/a\x00pid:/b\x00"...)), "pid namespace joined twice"},
		{"clone flags not namespaces", msg(le(1, 4, 0x100)), "not namespaces"},
		{"malformed exec record", msg(append(le(4, 3), 1, 2, 3)), "malformed exec record"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				t.Fatal(err)
			}
			parent, child := os.NewFile(uintptr(fds[0]), "parent"), os.NewFile(uintptr(fds[1]), "child")
			defer parent.Close()
			cmd := exec.Command(bin, "--version")
			cmd.Env = []string{"_BERTH_INIT_FD=3"}
			cmd.ExtraFiles = []*os.File{child}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			child.Close()
			parent.Write(tc.msg)
			if tc.name == "cut short" {
				unix.Shutdown(fds[0], unix.SHUT_WR)
			}
			parent.SetReadDeadline(time.Now().Add(10 * time.Second))
			var report string
			for report == "" {
				hdr := make([]byte, 8)
				if _, err := io.ReadFull(parent, hdr); err != nil {
					report = "(no SYNC_ERR: " + err.Error() + ")"
					break
				}
				tag, val := binary.NativeEndian.Uint32(hdr), binary.NativeEndian.Uint32(hdr[4:])
				switch tag {
				case syncPid: // an exec record is read after the pid is reported
				case syncErr:
					m := make([]byte, val)
					io.ReadFull(parent, m)
					report = string(m)
				default:
					report = "(unexpected tag " + strconv.Itoa(int(tag)) + ")"
				}
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				cmd.Process.Kill()
				t.Fatalf("the stub did not exit after %q", report)
			}
			if cmd.ProcessState.ExitCode() != 1 {
				t.Errorf("exit: %v (%s), want status 1", err, cmd.ProcessState)
			}
			if !strings.Contains(report, tc.want) {
				t.Errorf("stub reported %q, want it to mention %q", report, tc.want)
			}
		})
	}
}
