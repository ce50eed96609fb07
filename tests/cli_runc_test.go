package tests

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/runtime-spec/specs-go/features"
	"golang.org/x/sys/unix"
)

// runcFlags is runc 1.3's command line: the flags of each command, as
// `runc CMD --help` lists them ("" is the global options). A script or an
// engine written for runc must never meet "flag provided but not
// defined" with berth.
var runcFlags = map[string][]string{
	"": {"--debug", "--log", "--log-format", "--root", "--criu", "--systemd-cgroup", "--rootless", "--help", "-h", "--version", "-v"},
	"create": {"--bundle", "-b", "--console-socket", "--pidfd-socket", "--pid-file", "--no-pivot", "--no-new-keyring",
		"--preserve-fds"},
	"run": {"--bundle", "-b", "--console-socket", "--pidfd-socket", "--detach", "-d", "--keep", "--pid-file", "--no-subreaper",
		"--no-pivot", "--no-new-keyring", "--preserve-fds"},
	"exec": {"--console-socket", "--pidfd-socket", "--cwd", "--env", "-e", "--tty", "-t", "--user", "-u", "--additional-gids", "-g",
		"--process", "-p", "--detach", "-d", "--pid-file", "--process-label", "--apparmor", "--no-new-privs", "--cap", "-c",
		"--preserve-fds", "--cgroup", "--ignore-paused"},
	"update": {"--resources", "-r", "--blkio-weight", "--cpu-period", "--cpu-quota", "--cpu-burst", "--cpu-share",
		"--cpu-rt-period", "--cpu-rt-runtime", "--cpuset-cpus", "--cpuset-mems", "--memory", "--memory-reservation",
		"--memory-swap", "--pids-limit", "--l3-cache-schema", "--mem-bw-schema", "--cpu-idle"},
	"delete":   {"--force", "-f"},
	"kill":     {"--all", "-a"},
	"list":     {"--format", "-f", "--quiet", "-q"},
	"ps":       {"--format", "-f"},
	"events":   {"--interval", "--stats"},
	"spec":     {"--bundle", "-b", "--rootless"},
	"start":    nil,
	"state":    nil,
	"pause":    nil,
	"resume":   nil,
	"features": nil,
	// checkpoint and restore (CRIU) are runc commands berth does not
	// have: `berth checkpoint` fails as an unknown command, it never
	// pretends.
}

// helpFlags lists the flags `berth CMD --help` shows.
var helpFlag = regexp.MustCompile(`(?:^|[ ,])(--?[a-z0-9][a-z0-9-]*)`)

func helpFlags(help string) []string {
	var out []string
	in := false
	for _, l := range strings.Split(help, "\n") {
		if strings.HasSuffix(strings.TrimSpace(l), "OPTIONS:") {
			in = true
			continue
		}
		if !in || !strings.HasPrefix(l, "   ") {
			continue
		}
		// The flag names end where the usage text begins (two spaces).
		names, _, _ := strings.Cut(strings.TrimSpace(l), "  ")
		for _, m := range helpFlag.FindAllStringSubmatch(names, -1) {
			out = append(out, m[1])
		}
	}
	return out
}

// TestCliRuncFlags: every flag of runc 1.3 is one of berth's, command by
// command, read from berth's own --help.
func TestCliRuncFlags(t *testing.T) {
	r := newRuntime(t)
	for cmd, want := range runcFlags {
		args := []string{"--help"}
		if cmd != "" {
			args = []string{cmd, "--help"}
		}
		res := r.run(args...)
		if res.code != 0 {
			t.Errorf("berth %s: %s", strings.Join(args, " "), res)
			continue
		}
		have := helpFlags(res.stdout)
		if len(have) == 0 {
			t.Errorf("berth %s: no flags parsed from\n%s", strings.Join(args, " "), res.stdout)
		}
		for _, f := range want {
			if !slices.Contains(have, f) {
				t.Errorf("berth %s: runc's %s missing (berth has %v)", strings.Join(args, " "), f, have)
			}
		}
	}
}

// recvPidfd listens on a fresh unix socket and returns its path and a
// function that accepts one connection and receives the fd sent on it.
func recvPidfd(t *testing.T) (string, func() (int, string)) {
	t.Helper()
	path := filepath.Join(testDir(t, "pidfd"), "sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return path, func() (int, string) {
		t.Helper()
		l.SetDeadline(time.Now().Add(10 * time.Second))
		c, err := l.AcceptUnix()
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		buf, oob := make([]byte, 64), make([]byte, unix.CmsgSpace(4))
		n, oobn, _, _, err := c.ReadMsgUnix(buf, oob)
		if err != nil {
			t.Fatal(err)
		}
		msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
		if err != nil || len(msgs) != 1 {
			t.Fatalf("control messages %v %v", msgs, err)
		}
		fds, err := unix.ParseUnixRights(&msgs[0])
		if err != nil || len(fds) != 1 {
			t.Fatalf("rights %v %v", fds, err)
		}
		return fds[0], string(buf[:n])
	}
}

// pidfdPid is the pid a pidfd refers to (its fdinfo's Pid line).
func pidfdPid(t *testing.T, fd int) string {
	t.Helper()
	info, err := os.ReadFile("/proc/self/fdinfo/" + strconv.Itoa(fd))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range lines(string(info)) {
		if v, ok := strings.CutPrefix(l, "Pid:"); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("no Pid in fdinfo of %d: %s", fd, info)
	return ""
}

// TestCliPidfdSocket: create, run and exec send a pidfd of the init (of
// the exec'd process) over --pidfd-socket, as runc 1.2+ does; one the
// receiver can signal the process with.
func TestCliPidfdSocket(t *testing.T) {
	r := newRuntime(t)
	sock, recv := recvPidfd(t)
	b := newBundle(t, "sleep", "1000")
	got := make(chan int, 1)
	var name string
	go func() { fd, n := recv(); name = n; got <- fd }()
	c := r.create(b, "--pidfd-socket", sock)
	defer r.forceDelete(c.id)
	fd := <-got
	defer unix.Close(fd)
	if pid := r.state(c.id).Pid; pidfdPid(t, fd) != strconv.Itoa(pid) || name != "pidfd" {
		t.Errorf("create: a pidfd of pid %s named %q, want the init %d", pidfdPid(t, fd), name, pid)
	}
	c.start()

	go func() { fd, _ := recv(); got <- fd }()
	r.mustRun("exec", "-d", "--pidfd-socket", sock, c.id, "sleep", "1000")
	efd := <-got
	defer unix.Close(efd)
	if p := pidfdPid(t, efd); p == strconv.Itoa(r.state(c.id).Pid) || p == "-1" || p == "0" {
		t.Errorf("exec: pidfd of pid %s, want the exec'd process", p)
	}
	// The receiver can kill the process with it.
	if err := unix.PidfdSendSignal(efd, unix.SIGKILL, nil, 0); err != nil {
		t.Errorf("pidfd_send_signal on exec's pidfd: %v", err)
	}
	// An exec whose socket cannot be reached fails, and its process
	// does not run on behind the caller's back.
	res := r.run("exec", "--pidfd-socket", filepath.Join(testDir(t, "nosock-exec"), "none"), c.id, "sleep", "4242")
	if res.code == 0 || !strings.Contains(res.stderr, "--pidfd-socket") {
		t.Errorf("exec with an unreachable --pidfd-socket: %s", res)
	}
	if ps := r.mustRun("ps", c.id).stdout; strings.Contains(ps, "4242") {
		t.Errorf("the process of the failed exec runs:\n%s", ps)
	}

	go func() { fd, _ := recv(); got <- fd }()
	rb := newShBundle(t, "exit 3")
	_, rres := r.runContainer(rb, "--pidfd-socket", sock)
	rfd := <-got
	unix.Close(rfd)
	if rres.code != 3 {
		t.Errorf("run --pidfd-socket: status %d, want 3: %s", rres.code, rres)
	}

	// A socket nobody listens on: create fails and leaves nothing.
	before := hostMounts()
	id := r.newID()
	bad := r.run("create", "--bundle", writeBundleDir(t, newBundle(t, "true")), "--pidfd-socket", filepath.Join(testDir(t, "nosock"), "none"), id)
	advAssertRefused(t, r, id, before, bad, "--pidfd-socket")
}

func writeBundleDir(t *testing.T, b *bundle) string {
	t.Helper()
	b.write(t)
	return b.dir
}

// TestCliRunNoSubreaper: run --no-subreaper leaves berth no subreaper and
// still passes on the init's exit status and its killing signal, from
// the init's pidfd when the init (forked into its pid namespace) is not
// berth's child.
func TestCliRunNoSubreaper(t *testing.T) {
	r := newRuntime(t)
	var u unix.Utsname
	unix.Uname(&u)
	var major, minor int
	fmt.Sscanf(unix.ByteSliceToString(u.Release[:]), "%d.%d", &major, &minor)
	if major < 6 || major == 6 && minor < 15 {
		// Then the status of an init forked into its pid namespace
		// cannot be read: refused before anything is made.
		before := hostMounts()
		id, res := r.runContainer(newShBundle(t, "exit 3"), "--no-subreaper")
		advAssertRefused(t, r, id, before, res, "run --no-subreaper", "Linux 6.15")
		return
	}
	for script, want := range map[string]int{"exit 3": 3, "exit 0": 0} {
		_, res := r.runContainer(newShBundle(t, script), "--no-subreaper")
		if res.code != want {
			t.Errorf("run --no-subreaper %q: status %d, want %d: %s", script, res.code, want, res)
		}
	}
	// Killed: 128+9.
	id, out, wait := r.startAttached(newShBundle(t, "echo ready; while :; do sleep 0.1; done"), "--no-subreaper")
	waitFileContains(t, out.stdout, "ready")
	r.mustRun("kill", id, "KILL")
	if res := wait(); res.code != 137 {
		t.Errorf("run --no-subreaper, killed: status %d, want 137: %s", res.code, res)
	}
}

// TestCliUpdateFlags: runc 1.3's update flags reach the cgroup (or are
// refused where the container lacks what they change).
func TestCliUpdateFlags(t *testing.T) {
	r := newRuntime(t)
	c := r.create(newBundle(t, "sleep", "1000"))
	defer r.forceDelete(c.id)
	c.start()
	r.mustRun("update", "--cpu-period", "100000", "--cpu-quota", "50000", "--cpu-burst", "1000", "--cpu-idle", "1",
		"--memory-reservation", "32M", c.id)
	pid := r.state(c.id).Pid
	for _, f := range []struct{ ctrl, v1, v2, want string }{
		{"cpu", "cpu.cfs_burst_us", "cpu.max.burst", "1000"},
		{"cpu", "cpu.idle", "cpu.idle", "1"},
		{"memory", "memory.soft_limit_in_bytes", "memory.low", "33554432"},
	} {
		if got := cgroupFile(t, pid, f.ctrl, f.v1, f.v2); got != f.want {
			t.Errorf("%s after update: %q, want %s", f.v1, got, f.want)
		}
	}
	// A container without linux.intelRdt has no resctrl group to update.
	res := r.run("update", "--l3-cache-schema", "L3:0=f", c.id)
	if res.code == 0 || !strings.Contains(res.stderr, "--l3-cache-schema: the container has no linux.intelRdt") {
		t.Errorf("update --l3-cache-schema without intelRdt: %s", res)
	}
	res = r.run("update", "--mem-bw-schema", "MB:0=50", c.id)
	if res.code == 0 || !strings.Contains(res.stderr, "--mem-bw-schema: the container has no linux.intelRdt") {
		t.Errorf("update --mem-bw-schema without intelRdt: %s", res)
	}
	if res := r.run("update", "--cpu-idle", "x", c.id); res.code == 0 || !strings.Contains(res.stderr, `--cpu-idle "x"`) {
		t.Errorf("update --cpu-idle x: %s", res)
	}
}

// TestFeaturesComplete: `berth features` fills every section runtime-spec
// 1.3 defines (walked by reflection, so a section added later fails
// here), and says what this build does: memory policies, Intel RDT,
// idmapped mounts and their mount options, the annotations that are
// berth's (with this host's resctrl), those that change the host.
func TestFeaturesComplete(t *testing.T) {
	r := newRuntime(t)
	out := r.mustRun("features").stdout
	var f features.Features
	if err := json.Unmarshal([]byte(out), &f); err != nil {
		t.Fatalf("features: %v\n%s", err, out)
	}
	for _, v := range []reflect.Value{reflect.ValueOf(f), reflect.ValueOf(*f.Linux)} {
		for i := 0; i < v.NumField(); i++ {
			if v.Field(i).IsZero() {
				t.Errorf("features: %s.%s is not filled in", v.Type().Name(), v.Type().Field(i).Name)
			}
		}
	}
	l := f.Linux
	yes := func(b *bool) bool { return b != nil && *b }
	if !yes(l.IntelRdt.Enabled) || !yes(l.IntelRdt.Schemata) || !yes(l.IntelRdt.Monitoring) {
		t.Errorf("intelRdt %+v", l.IntelRdt)
	}
	if !yes(l.MountExtensions.IDMap.Enabled) || !slices.Contains(f.MountOptions, "idmap") || !slices.Contains(f.MountOptions, "ridmap") {
		t.Errorf("idmap: %+v, mount options %v", l.MountExtensions.IDMap, f.MountOptions)
	}
	for _, m := range []string{"MPOL_DEFAULT", "MPOL_BIND", "MPOL_INTERLEAVE", "MPOL_PREFERRED", "MPOL_LOCAL", "MPOL_PREFERRED_MANY", "MPOL_WEIGHTED_INTERLEAVE"} {
		if !slices.Contains(l.MemoryPolicy.Modes, m) {
			t.Errorf("memoryPolicy modes %v: no %s", l.MemoryPolicy.Modes, m)
		}
	}
	if len(l.MemoryPolicy.Flags) != 3 {
		t.Errorf("memoryPolicy flags %v", l.MemoryPolicy.Flags)
	}
	if !yes(l.Seccomp.Enabled) || !yes(l.Apparmor.Enabled) || !yes(l.Selinux.Enabled) || len(l.Seccomp.SupportedFlags) == 0 {
		t.Errorf("seccomp %+v apparmor %+v selinux %+v", l.Seccomp, l.Apparmor, l.Selinux)
	}
	mi, _ := os.ReadFile("/proc/self/mountinfo")
	if want := strconv.FormatBool(strings.Contains(string(mi), " - resctrl ")); f.Annotations["org.berth.host.resctrl"] != want {
		t.Errorf("annotation org.berth.host.resctrl %q, want %s", f.Annotations["org.berth.host.resctrl"], want)
	}
	_, aaErr := os.Stat("/sys/kernel/security/apparmor")
	if f.Annotations["org.berth.host.apparmor"] == "" || f.Annotations["org.berth.host.selinux"] != "false" ||
		(aaErr != nil && f.Annotations["org.berth.host.apparmor"] != "false") {
		t.Errorf("annotations of the host's LSMs: apparmor %q, selinux %q (this host has no SELinux)",
			f.Annotations["org.berth.host.apparmor"], f.Annotations["org.berth.host.selinux"])
	}
	if f.Annotations["org.berth.checkpoint.enabled"] != "false" || f.Annotations["org.berth.version"] == "" {
		t.Errorf("annotations %v", f.Annotations)
	}
	if !slices.Contains(f.PotentiallyUnsafeConfigAnnotations, "berth.net.") || !slices.Contains(f.PotentiallyUnsafeConfigAnnotations, "berth.rootfs.overlay") {
		t.Errorf("potentiallyUnsafeConfigAnnotations %v", f.PotentiallyUnsafeConfigAnnotations)
	}
}
