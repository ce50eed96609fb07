package tests

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// The adversarial suite: a hostile image (rootfs), hostile volumes and a
// hostile caller, against every way berth sets up a container or an exec
// process: the init (nsenter/cinit.c), without and with a user namespace
// (where the plan binds devices and host instances instead), and the exec
// process (cexec.c). Every test runs as one subtest per relevant path.
//
// Whatever the attack, a workload that runs must end with exactly the
// spec's capability sets and see nothing of the host. The sets are read
// from /verified-proc, a procfs the spec asks berth to mount fresh (the
// last mount of every spec here): a volume or the image can fake /proc, not
// that one. "Nothing of the host" is a secret in a file on the host,
// outside every bundle: the probe looks for it at its host path, through
// /proc/<pid>/root and through every fd of its own and of pid 1, at every
// depth of "..". A workload must also hold no fd beyond stdio.

// advTimeout bounds every berth call of this suite: a hostile image must
// not make the runtime hang (a FIFO as /etc/passwd), and a hang is a
// failure, not a stuck test binary.
const advTimeout = 20 * time.Second

// advDockerCaps is Docker's default capability set; the workloads here run as
// root without no_new_privs, so for them bounding, permitted and effective
// are all this set after execve.
var advDockerCaps = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
	"CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
	"CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

// advPath is one of the ways berth sets up a container or an exec process.
type advPath struct {
	name string
	// userns: the container gets a user namespace (addUserNS), which the
	// init builds with the plan's fallbacks (host device binds, ...).
	userns bool
	// rootless: berth runs as an unprivileged user (advFor makes one per
	// subtest: user) that makes the user namespace itself.
	rootless bool
	user     *rootlessUser
}

var (
	advInitPaths = []advPath{{name: "c-init"}, {name: "c-init-userns", userns: true},
		{name: "c-init-rootless", userns: true, rootless: true}}
	advExecPaths = []advPath{{name: "c-exec"}, {name: "c-exec-rootless", userns: true, rootless: true}}
)

// advUserNS gives b the path's user namespace, or takes it away.
func (b *bundle) advUserNS(t *testing.T, p advPath) {
	t.Helper()
	b.removeNamespace(specs.UserNamespace)
	b.spec.Linux.UIDMappings, b.spec.Linux.GIDMappings = nil, nil
	switch {
	case p.user != nil:
		rootlessUserNS(t, b, p.user, false)
	case p.rootless:
		t.Fatalf("%s: no user (advFor makes it)", p.name)
	case p.userns:
		addUserNS(t, b)
	}
}

// initPath is the init path a container for exec path p is made on: the
// C init, by p's user on the rootless path.
func (p advPath) initPath() advPath {
	if p.rootless {
		return advPath{name: "c-init-rootless", userns: true, rootless: true, user: p.user}
	}
	return advInitPaths[0]
}

// advFor is the runtime and path a subtest of path p uses: on the
// rootless path, berth as a fresh unprivileged user (removed when the
// subtest ends), with its own state root; else r and p as they are.
func advFor(t *testing.T, r *runtime, p advPath) (*runtime, advPath) {
	t.Helper()
	if !p.rootless {
		return r, p
	}
	p.user = newRootlessUser(t)
	return p.user.runtime(t), p
}

// environ is the test's environment with the token that marks the
// processes of this call (see tokenProcesses).
func (p advPath) environ(token string) []string {
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, tokenVar+"=") {
			env = append(env, e)
		}
	}
	return append(env, tokenVar+"="+token)
}

// advHost is what only the host has: a file with a secret, outside every
// bundle.
type advHost struct {
	dir    string
	marker string // absolute host path of the secret file
	secret string
}

func newAdvHost(t *testing.T) *advHost {
	t.Helper()
	dir := testDir(t, "adv-host")
	h := &advHost{dir: dir, marker: filepath.Join(dir, "marker"),
		secret: fmt.Sprintf("host-secret-%d-%d", os.Getpid(), time.Now().UnixNano())}
	writeFile(t, h.marker, h.secret+"\n")
	return h
}

// probe is the script every workload of this suite runs: its capability
// sets and fds from /verified-proc, then every way to the host's secret it
// can think of. The fd list follows fdList's rules (ls as a child, not
// piped, not last).
func (h *advHost) probe() string {
	rel := strings.TrimPrefix(h.marker, "/")
	return `
echo caps-begin; grep -E '^Cap(Inh|Prm|Eff|Bnd|Amb):' /verified-proc/self/status; echo caps-end
echo fds-begin; ls /verified-proc/$$/fd; echo fds-end
for f in ` + h.marker + ` /verified-proc/1/root/` + rel + ` /proc/1/root/` + rel + `; do cat "$f" 2>/dev/null; done
for fd in /verified-proc/$$/fd/* /verified-proc/1/fd/* /verified-proc/1/cwd /verified-proc/$$/cwd /; do
	up=""
	for i in 0 1 2 3 4 5 6 7 8 9; do cat "$fd/${up}` + rel + `" 2>/dev/null; up="../$up"; done
done
echo probe-done
`
}

// advSection is the text between "<name>-begin" and "<name>-end" lines.
func advSection(out, name string) (string, bool) {
	_, after, ok := strings.Cut(out, name+"-begin\n")
	if !ok {
		return "", false
	}
	body, _, ok := strings.Cut(after, name+"-end\n")
	return body, ok
}

// advRootCaps is what a root workload of a spec with advDockerCaps (no
// inheritable, no ambient) must end with.
func advRootCaps(t *testing.T) map[string]string {
	m := capMask(t, advDockerCaps...)
	return map[string]string{"CapBnd": m, "CapPrm": m, "CapEff": m, "CapInh": capMask(t), "CapAmb": capMask(t)}
}

// checkProbe asserts what the probe printed: it finished, the capability
// sets are exactly want, only stdio is open, and the host's secret was out
// of reach.
func (h *advHost) checkProbe(t *testing.T, what string, res result, want map[string]string) {
	t.Helper()
	if strings.Contains(res.stdout, h.secret) || strings.Contains(res.stderr, h.secret) {
		t.Errorf("%s: the workload read the host's secret file %s", what, h.marker)
	}
	if !strings.Contains(res.stdout, "probe-done") {
		t.Errorf("%s: the probe did not finish: %s", what, res)
		return
	}
	caps, _ := advSection(res.stdout, "caps")
	var wrong []string
	for _, f := range []string{"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"} {
		if got := statusField(caps, f); got != want[f] {
			wrong = append(wrong, fmt.Sprintf("%s %q (want %s)", f, got, want[f]))
		}
	}
	if len(wrong) > 0 {
		t.Errorf("%s: the workload does not have the spec's capability sets: %s", what, strings.Join(wrong, ", "))
	}
	fds, _ := advSection(res.stdout, "fds")
	if got := strings.Join(lines(fds), " "); got != "0 1 2" {
		t.Errorf("%s: fds open in the workload: %q, want 0 1 2", what, got)
	}
}

// advBundle is a root workload with Docker's default capabilities and
// no_new_privs off, on the tests' usual spec.
func advBundle(t *testing.T, args ...string) *bundle {
	t.Helper()
	b := newBundle(t, args...)
	b.setCaps(advDockerCaps)
	b.spec.Process.NoNewPrivileges = false
	return b
}

// advFinish puts the fresh procfs at /verified-proc last in the mounts (after
// every volume, so none can cover it), tags the workload's environment
// with token and writes the config.
func (b *bundle) advFinish(t *testing.T, token string) {
	t.Helper()
	var ms []specs.Mount
	for _, m := range b.spec.Mounts {
		if m.Destination != "/verified-proc" {
			ms = append(ms, m)
		}
	}
	b.spec.Mounts = append(ms, specs.Mount{Destination: "/verified-proc", Type: "proc", Source: "proc"})
	var env []string
	for _, e := range b.spec.Process.Env {
		if !strings.HasPrefix(e, tokenVar+"=") {
			env = append(env, e)
		}
	}
	b.spec.Process.Env = append(env, tokenVar+"="+token)
	b.write(t)
}

// advDropMount drops the spec's mounts at dest.
func (b *bundle) advDropMount(dest string) {
	var ms []specs.Mount
	for _, m := range b.spec.Mounts {
		if m.Destination != dest {
			ms = append(ms, m)
		}
	}
	b.spec.Mounts = ms
}

// advCall runs berth with the path's environment, --debug logging to a
// file (stderr keeps the one-line error) and the advTimeout deadline. On a
// timeout the test fails and every process of the call is killed by pid.
func advCall(t *testing.T, r *runtime, p advPath, token string, adjust func(*exec.Cmd), args ...string) (result, string) {
	t.Helper()
	logDir := testDir(t, "adv-log")
	if p.user != nil {
		os.Chown(logDir, p.user.uid, p.user.gid)
	}
	logFile := filepath.Join(logDir, "berth.log")
	ctx, cancel := context.WithTimeout(context.Background(), advTimeout)
	defer cancel()
	cmd := r.command(ctx, append([]string{"--debug", "--log", logFile}, args...)...)
	cmd.Env = p.environ(token)
	if p.user != nil {
		cmd.Env = p.user.env(tokenVar + "=" + token)
	}
	out := outputFiles(t)
	cmd.Stdout, cmd.Stderr = out.stdout, out.stderr
	if adjust != nil {
		adjust(cmd)
	}
	err := cmd.Run()
	res := out.collect(args)
	if ctx.Err() != nil {
		res.code = -1
		t.Errorf("%s: berth %s hung: no answer within %v: %s", p.name, args[0], advTimeout, res)
		advKillToken(token)
	} else {
		res.code = exitCode(t, err, res)
	}
	log, _ := os.ReadFile(logFile)
	return res, string(log)
}

// advKillToken kills, by pid, the processes a timed-out call left behind.
func advKillToken(token string) {
	for i := 0; i < 50; i++ {
		pids := tokenProcesses(token)
		if len(pids) == 0 {
			return
		}
		for _, pid := range pids {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		sleepMs(20)
	}
}

// advRun runs b attached (`run`) on init path p and checks that p is the
// init that ran.
func advRun(t *testing.T, r *runtime, p advPath, b *bundle, adjust func(*exec.Cmd)) (string, result) {
	t.Helper()
	b.advUserNS(t, p)
	return advRunAsIs(t, r, p, b, adjust)
}

// advRunAsIs is advRun with b's user namespace left as it is: a race test
// gives b the path's (chowning the rootfs) before its swapper starts, which
// would make the chown walk follow a swapped symlink.
func advRunAsIs(t *testing.T, r *runtime, p advPath, b *bundle, adjust func(*exec.Cmd)) (string, result) {
	t.Helper()
	id := r.newID()
	b.advFinish(t, id)
	res, log := advCall(t, r, p, id, adjust, "run", "--bundle", b.dir, id)
	advCheckInitPath(t, p, res, log)
	return id, res
}

// advCheckInitPath: a container that ran was set up by the init's plan
// (its steps are in the --debug log).
func advCheckInitPath(t *testing.T, p advPath, res result, log string) {
	t.Helper()
	if res.code == 0 && !strings.Contains(log, "create: init: plan received") {
		t.Errorf("%s: the init's steps are not in the log:\n%s", p.name, log)
	}
}

// advAssertRefused: the call failed with one line on stderr that names every
// one of names (the spec field and the path), and left nothing behind.
func advAssertRefused(t *testing.T, r *runtime, id string, before []string, res result, names ...string) {
	t.Helper()
	msg := strings.TrimRight(res.stderr, "\n")
	switch {
	case res.code == 0:
		t.Errorf("accepted (the workload ran), want a refusal naming %q", names)
		return
	case msg == "" || strings.Contains(msg, "\n"):
		t.Errorf("want exactly one line on stderr naming %q, got: %s", names, res)
	default:
		t.Logf("refusal: %s", msg)
		for _, n := range names {
			if !strings.Contains(msg, n) {
				t.Errorf("error line %q does not name %q", msg, n)
			}
		}
	}
	assertNothingLeft(t, r, id, before)
}

// advRunning creates and starts a container sleeping on the default
// paths, for exec; edit adjusts the bundle first.
func advRunning(t *testing.T, r *runtime, edit func(b *bundle)) (string, *bundle) {
	t.Helper()
	return advRunningOn(t, r, advInitPaths[0], edit)
}

// advRunningOn is advRunning on init path p (after advFor: the rootless
// exec path's container is its user's).
func advRunningOn(t *testing.T, r *runtime, p advPath, edit func(b *bundle)) (string, *bundle) {
	t.Helper()
	b := advBundle(t, "sleep", "1000")
	if edit != nil {
		edit(b)
	}
	b.advUserNS(t, p)
	id := r.newID()
	b.advFinish(t, id)
	res, _ := advCall(t, r, p, id, nil, "create", "--bundle", b.dir, id)
	if res.code != 0 {
		t.Fatalf("create: %s", res)
	}
	if res := r.run("start", id); res.code != 0 {
		t.Fatalf("start: %s", res)
	}
	return id, b
}

// advExec runs `exec --process` of proc in container id on exec path p.
func advExec(t *testing.T, r *runtime, p advPath, id string, proc specs.Process, adjust func(*exec.Cmd), flags ...string) result {
	t.Helper()
	token := fmt.Sprintf("%s-exec-%d", id, idSeq.Add(1))
	proc.Env = append(append([]string{}, proc.Env...), tokenVar+"="+token)
	path := writeProcessJSON(t, proc)
	args := append(append([]string{"exec"}, flags...), "--process", path, id)
	res, _ := advCall(t, r, p, token, adjust, args...)
	return res
}

// advProcess is a root process with Docker's capabilities running script.
func advProcess(script string) specs.Process {
	return specs.Process{
		Args: []string{"sh", "-c", script},
		Env:  []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root"},
		Cwd:  "/",
		Capabilities: &specs.LinuxCapabilities{
			Bounding: advDockerCaps, Effective: advDockerCaps, Permitted: advDockerCaps,
		},
	}
}

// advFakeProcTree lays out at dir what a kernel's /proc, /sys and /dev would
// show, with lies that would matter to a runtime reading them: the last
// capability 0 (a bounding-set drop loop that trusts it drops nothing),
// a full-capability status, a "self" that is always the same process, and
// regular files for the device nodes.
func advFakeProcTree(t *testing.T, dir string) {
	t.Helper()
	full := "0000003fffffffff"
	status := "Name:\tfake\nCapInh:\t0000000000000000\nCapPrm:\t" + full + "\nCapEff:\t" + full +
		"\nCapBnd:\t" + full + "\nCapAmb:\t0000000000000000\nNoNewPrivs:\t0\n"
	for _, f := range []struct{ path, content string }{
		{"proc/sys/kernel/cap_last_cap", "0\n"},
		{"proc/sys/kernel/ngroups_max", "0\n"},
		{"proc/sys/kernel/overflowuid", "0\n"},
		{"proc/fake-self/status", status},
		{"proc/fake-self/fd/.keep", ""},
		{"proc/fake-self/mountinfo", "1 0 0:1 / / rw - ext4 /dev/root rw\n"},
		{"proc/1/status", status},
		{"proc/filesystems", "nodev\tproc\n"},
		{"proc/mounts", "/dev/root / ext4 rw 0 0\n"},
		{"sys/kernel/cap_last_cap", "0\n"},
		{"sys/fs/cgroup/cgroup.controllers", ""},
		{"dev/null", "not a device\n"},
		{"dev/zero", "not a device\n"},
	} {
		writeFile(t, filepath.Join(dir, f.path), f.content)
	}
	for _, l := range []struct{ name, target string }{
		{"proc/self", "fake-self"},
		{"proc/thread-self", "fake-self"},
	} {
		if err := os.Symlink(l.target, filepath.Join(dir, l.name)); err != nil {
			t.Fatal(err)
		}
	}
}

// TestAdversarialVolumeOverRoot: a volume whose destination is, through
// the image's own symlinks, the container's root. Mounted there it would
// replace the whole rootfs (its fake /proc tree included, here with a
// shell to run), and the init would read the volume's "kernel" files. Each
// spelling of the root must be refused with one line naming the mount's
// index and its destination, and leave nothing behind; so must a bind
// mount on "/" itself.
func TestAdversarialVolumeOverRoot(t *testing.T) {
	r := newRuntime(t)
	h := newAdvHost(t)
	vol := testDir(t, "adv-vol")
	advFakeProcTree(t, vol)
	// A shell in the volume, so that today's code shows what the
	// workload of a replaced root gets.
	os.MkdirAll(filepath.Join(vol, "bin"), 0o755)
	copyFile(t, busyboxPath, filepath.Join(vol, "bin", "busybox"), 0o755)
	for _, a := range []string{"sh", "grep", "cat", "ls", "echo"} {
		os.Symlink("busybox", filepath.Join(vol, "bin", a))
	}
	os.MkdirAll(filepath.Join(vol, "verified-proc"), 0o755)
	b := advBundle(t, "sh", "-c", h.probe())
	// No masked or read-only /proc paths: the refusal must come from the
	// mount itself, not from a later step that happens to fail in the
	// volume.
	b.spec.Linux.MaskedPaths, b.spec.Linux.ReadonlyPaths = nil, nil
	idx := len(b.spec.Mounts)
	field := "mounts[" + strconv.Itoa(idx) + "]"
	spellings := []struct {
		name  string
		links map[string]string // rootfs entries made symlinks
	}{
		{"dot", map[string]string{"data": "."}},
		{"dot slash", map[string]string{"data": "./"}},
		{"dotdot dotdot", map[string]string{"data": "../.."}},
		{"bin dotdot", map[string]string{"data": "/bin/.."}},
		{"double slash", map[string]string{"data": "//"}},
		{"slash dot slash", map[string]string{"data": "/./"}},
		{"slash", map[string]string{"data": "/"}},
		{"chain", map[string]string{"data": "a", "a": "/"}},
		{"relative bin dotdot", map[string]string{"data": "bin/../"}},
	}
	for _, p := range advInitPaths {
		t.Run(p.name, func(t *testing.T) {
			r, p := advFor(t, r, p)
			for _, sp := range spellings {
				t.Run(sp.name, func(t *testing.T) {
					for name, target := range sp.links {
						link := filepath.Join(b.rootfs, name)
						os.RemoveAll(link)
						if err := os.Symlink(target, link); err != nil {
							t.Fatal(err)
						}
						defer os.Remove(link)
					}
					b.spec.Mounts = b.spec.Mounts[:idx]
					b.addMount(specs.Mount{Destination: "/data", Type: "bind", Source: vol, Options: []string{"rbind"}})
					before := hostMounts()
					id, res := advRun(t, r, p, b, nil)
					if res.code == 0 {
						h.checkProbe(t, "volume mounted over the root", res, advRootCaps(t))
					}
					advAssertRefused(t, r, id, before, res, field, "/data")
				})
			}
			t.Run("destination slash", func(t *testing.T) {
				b.spec.Mounts = b.spec.Mounts[:idx]
				b.addMount(specs.Mount{Destination: "/", Type: "bind", Source: vol, Options: []string{"rbind"}})
				before := hostMounts()
				id, res := advRun(t, r, p, b, nil)
				if res.code == 0 {
					h.checkProbe(t, "volume mounted on /", res, advRootCaps(t))
				}
				advAssertRefused(t, r, id, before, res, field)
			})
		})
	}
}

// TestAdversarialFakeProc: an image and volumes that bring their own
// /proc, /sys and /dev. The runtime must take nothing it relies on from
// them: the workload ends with exactly the spec's sets. A spec that mounts
// a volume where only a procfs may go must be refused naming the mount;
// one that mounts no procfs at /proc may run or be refused with a line
// that says /proc is not a procfs (runc: "/proc/self/fd is not on
// procfs").
func TestAdversarialFakeProc(t *testing.T) {
	r := newRuntime(t)
	h := newAdvHost(t)
	vol := testDir(t, "adv-fakeproc")
	advFakeProcTree(t, vol)
	procVol := func(dest, sub string) specs.Mount {
		return specs.Mount{Destination: dest, Type: "bind", Source: filepath.Join(vol, sub), Options: []string{"rbind"}}
	}
	// The image: the fake tree in its /proc, /sys and /dev.
	img := advBundle(t, "sh", "-c", h.probe())
	advFakeProcTree(t, img.rootfs)
	// Another image whose /proc is a symlink to its fake tree.
	linked := advBundle(t, "sh", "-c", h.probe())
	os.Remove(filepath.Join(linked.rootfs, "proc"))
	advFakeProcTree(t, filepath.Join(linked.rootfs, "fake"))
	if err := os.Symlink("/fake/proc", filepath.Join(linked.rootfs, "proc")); err != nil {
		t.Fatal(err)
	}
	base := append([]specs.Mount{}, img.spec.Mounts...)
	masked, readonly := img.spec.Linux.MaskedPaths, img.spec.Linux.ReadonlyPaths

	cases := []struct {
		name   string
		b      *bundle
		edit   func(b *bundle)
		refuse string // a refusal is acceptable if it names this ("" = must run)
	}{
		{name: "image proc under the spec's procfs", b: img},
		{name: "image proc, no procfs at /proc", b: img, refuse: "procfs", edit: func(b *bundle) { b.advDropMount("/proc") }},
		{name: "image proc, no procfs and no sysfs", b: img, refuse: "procfs", edit: func(b *bundle) {
			b.advDropMount("/proc")
			b.advDropMount("/sys")
		}},
		{name: "image proc, no procfs, no masked or read-only paths", b: img, refuse: "procfs", edit: func(b *bundle) {
			b.advDropMount("/proc")
			b.spec.Linux.MaskedPaths, b.spec.Linux.ReadonlyPaths = nil, nil
		}},
		{name: "image proc is a symlink, spec's procfs", b: linked, refuse: "mounts[0]"},
		{name: "image proc is a symlink, no procfs", b: linked, refuse: "procfs", edit: func(b *bundle) { b.advDropMount("/proc") }},
		{name: "image proc is a symlink, no procfs, no masked or read-only paths", b: linked, refuse: "procfs", edit: func(b *bundle) {
			b.advDropMount("/proc")
			b.spec.Linux.MaskedPaths, b.spec.Linux.ReadonlyPaths = nil, nil
		}},
		{name: "volume at /proc instead of procfs", b: img, refuse: "mounts[5]", edit: func(b *bundle) {
			b.advDropMount("/proc")
			b.addMount(procVol("/proc", "proc"))
		}},
		{name: "volume at /proc before procfs", b: img, refuse: "mounts[0]", edit: func(b *bundle) {
			b.spec.Mounts = append([]specs.Mount{procVol("/proc", "proc")}, b.spec.Mounts...)
		}},
		{name: "volume at /proc/sys/kernel", b: img, refuse: "mounts[6]", edit: func(b *bundle) {
			b.addMount(procVol("/proc/sys/kernel", "proc/sys/kernel"))
		}},
		{name: "volume at /proc/sys", b: img, refuse: "mounts[6]", edit: func(b *bundle) {
			b.addMount(procVol("/proc/sys", "proc/sys"))
		}},
		{name: "volume at /proc/self", b: img, refuse: "mounts[6]", edit: func(b *bundle) {
			b.addMount(procVol("/proc/self", "proc/fake-self"))
		}},
		{name: "volumes at /sys/kernel and /sys/fs/cgroup", b: img, edit: func(b *bundle) {
			b.addMount(procVol("/sys/kernel", "sys/kernel"))
			b.addMount(procVol("/sys/fs/cgroup", "sys/fs/cgroup"))
		}},
		{name: "volume at /sys", b: img, edit: func(b *bundle) {
			b.advDropMount("/sys")
			b.addMount(procVol("/sys", "sys"))
		}},
	}
	for _, p := range advInitPaths {
		t.Run(p.name, func(t *testing.T) {
			r, p := advFor(t, r, p)
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					b := tc.b
					b.spec.Mounts = append([]specs.Mount{}, base...)
					b.spec.Linux.MaskedPaths, b.spec.Linux.ReadonlyPaths = masked, readonly
					if tc.edit != nil {
						tc.edit(b)
					}
					before := hostMounts()
					id, res := advRun(t, r, p, b, nil)
					if res.code != 0 && tc.refuse != "" {
						advAssertRefused(t, r, id, before, res, tc.refuse)
						return
					}
					if res.code != 0 {
						t.Fatalf("container failed: %s", res)
					}
					h.checkProbe(t, tc.name, res, advRootCaps(t))
				})
			}
		})
	}
}

// TestAdversarialExecFakeProc: exec into a container whose workload has
// uncovered the image's own /proc (a privileged process unmounted the
// procfs; the image's fake tree lies beneath): the exec'd process must get
// exactly its sets, or the exec is refused with one line saying /proc is
// not a procfs.
func TestAdversarialExecFakeProc(t *testing.T) {
	r := newRuntime(t)
	h := newAdvHost(t)
	// A running container whose privileged process uncovered the image's /proc.
	uncovered := func(t *testing.T, r *runtime, p advPath) string {
		t.Helper()
		id, _ := advRunningOn(t, r, p, func(b *bundle) { advFakeProcTree(t, b.rootfs) })
		priv := advProcess("umount -l /proc && cat /proc/sys/kernel/cap_last_cap")
		admin := append(append([]string{}, advDockerCaps...), "CAP_SYS_ADMIN")
		priv.Capabilities = &specs.LinuxCapabilities{Bounding: admin, Effective: admin, Permitted: admin}
		if res := advExec(t, r, p, id, priv, nil); res.code != 0 || strings.TrimSpace(res.stdout) != "0" {
			t.Fatalf("the workload could not uncover the image's /proc: %s", res)
		}
		return id
	}
	shared := uncovered(t, r, advInitPaths[0])
	for _, p := range advExecPaths {
		t.Run(p.name, func(t *testing.T) {
			r, p := advFor(t, r, p)
			id := shared
			if p.rootless {
				id = uncovered(t, r, p)
			}
			res := advExec(t, r, p, id, advProcess(h.probe()), nil)
			if res.code != 0 {
				msg := strings.TrimRight(res.stderr, "\n")
				if res.code > 0 && !strings.Contains(msg, "\n") && strings.Contains(msg, "procfs") {
					t.Logf("refusal: %s", msg)
					return
				}
				t.Fatalf("exec failed without one line saying /proc is not a procfs: %s", res)
			}
			h.checkProbe(t, "exec with the image's /proc", res, advRootCaps(t))
		})
	}
}

// TestAdversarialDevSymlinks: the image's /dev entries are symlinks to
// host paths (absolute, ../ escapes, a host directory) and to sensitive
// files. No host file may be opened, changed or mounted on; the container
// either gets real device nodes or is refused naming the device. With the
// spec's /dev tmpfs the image's entries are covered; without it berth
// works in the image's /dev itself.
func TestAdversarialDevSymlinks(t *testing.T) {
	r := newRuntime(t)
	h := newAdvHost(t)
	hostFile := filepath.Join(h.dir, "hostfile")
	const hostContent = "host file, must not change\n"
	writeFile(t, hostFile, hostContent)
	hostSub := filepath.Join(h.dir, "sub")
	os.Mkdir(hostSub, 0o755)
	up := "../../../../../../../.."
	links := map[string]string{
		"null":    hostFile,
		"zero":    up + hostFile,
		"full":    "/etc/shadow",
		"random":  "../../../../etc/passwd",
		"urandom": up + "/etc/shadow",
		"tty":     hostFile,
		"console": hostFile,
		"pts":     hostSub,
		"shm":     up + hostSub,
		"mqueue":  hostSub,
	}
	want := map[string][2]int{"null": {1, 3}, "zero": {1, 5}, "full": {1, 7}, "random": {1, 8}, "urandom": {1, 9}, "tty": {5, 0}}
	script := "echo dev-begin; ls -ln /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty; echo dev-end\n" + h.probe()
	b := advBundle(t, "sh", "-c", script)
	writeFile(t, filepath.Join(b.rootfs, "etc", "shadow"), "root:container-shadow:::::::\n")
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(b.rootfs, "dev", name)); err != nil {
			t.Fatal(err)
		}
	}
	base := append([]specs.Mount{}, b.spec.Mounts...)
	baseMasked := append([]string{}, b.spec.Linux.MaskedPaths...)
	hostSt, err := os.Stat(hostFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range advInitPaths {
		t.Run(p.name, func(t *testing.T) {
			r, p := advFor(t, r, p)
			for _, tc := range []struct {
				name string
				edit func()
			}{
				{"spec /dev tmpfs", func() {}},
				{"image /dev", func() { b.advDropMount("/dev") }},
				{"image /dev, no masked paths", func() {
					b.advDropMount("/dev")
					b.spec.Linux.MaskedPaths = nil
				}},
			} {
				t.Run(tc.name, func(t *testing.T) {
					b.spec.Mounts = append([]specs.Mount{}, base...)
					b.spec.Linux.MaskedPaths = append([]string{}, baseMasked...)
					tc.edit()
					before := hostMounts()
					id, res := advRun(t, r, p, b, nil)
					if data, _ := os.ReadFile(hostFile); string(data) != hostContent {
						t.Errorf("the host file %s changed to %q", hostFile, data)
					}
					if st, err := os.Stat(hostFile); err != nil || !st.ModTime().Equal(hostSt.ModTime()) {
						t.Errorf("the host file %s was touched (%v)", hostFile, err)
					}
					if ents, _ := os.ReadDir(hostSub); len(ents) != 0 {
						t.Errorf("entries appeared in the host directory %s: %v", hostSub, ents)
					}
					if m := mountsUnder(h.dir); len(m) != 0 {
						for _, p := range m {
							unix.Unmount(p, unix.MNT_DETACH)
						}
						t.Errorf("host mounts appeared under %s: %q", h.dir, m)
					}
					if res.code != 0 {
						msg := strings.TrimRight(res.stderr, "\n")
						t.Logf("refusal: %s", msg)
						if strings.Contains(msg, "\n") || !strings.Contains(msg, "/dev/") {
							t.Errorf("refused without one line naming the /dev entry: %s", res)
						}
						assertNothingLeft(t, r, id, before)
						return
					}
					devs, _ := advSection(res.stdout, "dev")
					var bad []string
					for name, mm := range want {
						re := regexp.MustCompile(fmt.Sprintf(`(?m)^c\S+\s+\d+\s+\d+\s+\d+\s+%d,\s+%d\s.*/dev/%s$`, mm[0], mm[1], name))
						if !re.MatchString(devs) {
							bad = append(bad, fmt.Sprintf("/dev/%s (want char %d:%d)", name, mm[0], mm[1]))
						}
					}
					// An entry the image already has is left as it is, as
					// runc does (mknod: EEXIST): with a /dev of the image's
					// own and nothing to mask, its symlinks resolve inside
					// the container (the probe below looks for the host).
					// Where berth needs /dev/null itself (masking), it
					// checks it and refuses, as the cases above show.
					if len(bad) > 0 && tc.name != "image /dev, no masked paths" {
						slices.Sort(bad)
						t.Errorf("the container started with the image's entries as devices: %s:\n%s", strings.Join(bad, ", "), devs)
					}
					h.checkProbe(t, tc.name, res, advRootCaps(t))
				})
			}
		})
	}
}

// advLongPasswd is one 10 MB line: a root entry whose gecos field is huge.
// A correct parse gives /long-home, a reader that gives up gives "/".
func advLongPasswd() string {
	return "root:x:0:0:" + strings.Repeat("A", 10<<20) + ":/long-home:/bin/sh"
}

// advUnblockFifo opens path read-write and closes it, so that a process
// blocked opening it for reading gets past open and then reads EOF.
func advUnblockFifo(path string) {
	if fd, err := unix.Open(path, unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0); err == nil {
		unix.Close(fd)
	}
}

// advCheckHome: the workload ran with HOME one of allowed, or was refused
// with one line.
func advCheckHome(t *testing.T, res result, allowed ...string) {
	t.Helper()
	if res.code < 0 {
		return // a hang, reported by advCall
	}
	if res.code != 0 {
		if msg := strings.TrimRight(res.stderr, "\n"); msg == "" || strings.Contains(msg, "\n") {
			t.Errorf("failed without one line of error: %s", res)
		}
		return
	}
	for _, l := range lines(res.stdout) {
		if home, ok := strings.CutPrefix(l, "HOME="); ok {
			for _, a := range allowed {
				if home == a {
					return
				}
			}
			t.Errorf("HOME=%q, want one of %q", home, allowed)
			return
		}
	}
	t.Errorf("the workload printed no HOME: %s", res)
}

// TestAdversarialPasswd: the image's /etc/passwd is a FIFO (nobody
// writes) or one 10 MB line, and the process has no HOME: the runtime
// must neither hang nor crash; HOME falls back to "/" (or create is
// refused cleanly). For exec, the running container's /etc/passwd is
// swapped after start.
func TestAdversarialPasswd(t *testing.T) {
	r := newRuntime(t)
	h := newAdvHost(t)
	script := `echo "HOME=$HOME"` + "\n" + h.probe()
	kinds := []struct {
		name  string
		make  func(t *testing.T, path string)
		homes []string
	}{
		{"fifo", func(t *testing.T, path string) {
			os.Remove(path)
			if err := unix.Mkfifo(path, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { advUnblockFifo(path); os.Remove(path) })
		}, []string{"/"}},
		{"10 MB line", func(t *testing.T, path string) { writeFile(t, path, advLongPasswd()) }, []string{"/", "/long-home"}},
	}
	for _, p := range advInitPaths {
		t.Run(p.name, func(t *testing.T) {
			r, p := advFor(t, r, p)
			for _, k := range kinds {
				t.Run(k.name, func(t *testing.T) {
					b := advBundle(t, "sh", "-c", script)
					passwd := filepath.Join(b.rootfs, "etc", "passwd")
					k.make(t, passwd)
					before := hostMounts()
					id, res := advRun(t, r, p, b, nil)
					advUnblockFifo(passwd)
					advCheckHome(t, res, k.homes...)
					if res.code == 0 {
						h.checkProbe(t, k.name, res, advRootCaps(t))
					} else if res.code > 0 { // not after a hang: the call was killed
						assertNothingLeft(t, r, id, before)
					}
				})
			}
		})
	}
	for _, p := range advExecPaths {
		t.Run(p.name, func(t *testing.T) {
			r, p := advFor(t, r, p)
			for _, k := range kinds {
				uids := []uint32{0}
				if k.name != "fifo" {
					// Another uid's entry is searched past the long line.
					uids = append(uids, 1000)
				}
				for _, uid := range uids {
					t.Run(fmt.Sprintf("%s uid %d", k.name, uid), func(t *testing.T) {
						id, b := advRunningOn(t, r, p.initPath(), func(b *bundle) {
							b.spec.Process.Env = append(b.spec.Process.Env, "HOME=/root")
						})
						passwd := filepath.Join(b.rootfs, "etc", "passwd")
						k.make(t, passwd)
						proc := advProcess(script)
						proc.Env = proc.Env[:1] // PATH, no HOME
						proc.User = specs.User{UID: uid, GID: uid}
						want := advRootCaps(t)
						if uid != 0 {
							// A plain execve by a non-root uid keeps no
							// capability but the bounding set.
							want["CapPrm"], want["CapEff"] = capMask(t), capMask(t)
						}
						res := advExec(t, r, p, id, proc, nil)
						advUnblockFifo(passwd)
						advCheckHome(t, res, k.homes...)
						if res.code == 0 {
							h.checkProbe(t, k.name, res, want)
						}
					})
				}
			}
		})
	}
}

// advLeakedFds are the fd numbers at which a careless caller leaks the
// host's "/" to berth: the first ones berth itself reuses, later ones it
// does not.
var advLeakedFds = []int{3, 4, 7, 9}

// advLeakedRoots hands berth the host's "/" as O_RDONLY|O_DIRECTORY fds
// (not close-on-exec) at the numbers in advLeakedFds.
func advLeakedRoots(t *testing.T) func(*exec.Cmd) {
	t.Helper()
	var files []*os.File
	for _, n := range advLeakedFds {
		f, err := os.OpenFile("/", os.O_RDONLY|syscall.O_DIRECTORY, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		for len(files) < n-3 {
			files = append(files, nil)
		}
		files = append(files, f)
	}
	return func(c *exec.Cmd) { c.ExtraFiles = files }
}

// TestAdversarialLeakedFds: berth is run with the host's "/" open at fds
// 3, 4, 7 and 9 (not close-on-exec). A process whose args[0] or cwd goes
// through /proc/self/fd/N must not reach the host: args[0] names a shell
// that exists only on the host, which must never run (the call fails,
// naming args[0]); a cwd there is refused (naming process.cwd) or lands
// inside. A plain workload holds none of those fds.
func TestAdversarialLeakedFds(t *testing.T) {
	r := newRuntime(t)
	h := newAdvHost(t)
	// A shell that exists only on the host: busybox named sh.
	hostOnly := filepath.Join(h.dir, "hostonly")
	os.MkdirAll(hostOnly, 0o755)
	copyFile(t, busyboxPath, filepath.Join(hostOnly, "sh"), 0o755)
	const ran = "HOST-BINARY-RAN"
	leak := advLeakedRoots(t)

	type variant struct {
		name string
		proc func(p *specs.Process) // edits the probe process
		want string                 // field a refusal must name; "" = must run
	}
	var variants []variant
	for _, n := range advLeakedFds {
		fd := "/proc/self/fd/" + strconv.Itoa(n)
		variants = append(variants,
			variant{"args0 via fd " + strconv.Itoa(n), func(p *specs.Process) {
				p.Args = []string{fd + hostOnly + "/sh", "-c", "echo " + ran}
			}, "process.args[0]"},
			variant{"cwd via fd " + strconv.Itoa(n), func(p *specs.Process) {
				p.Cwd = fd
			}, "process.cwd"})
	}
	variants = append(variants, variant{"plain workload", func(*specs.Process) {}, ""})

	check := func(t *testing.T, v variant, res result) {
		t.Helper()
		if strings.Contains(res.stdout, ran) {
			t.Fatalf("the host's binary %s/sh ran in the container: %s", hostOnly, res)
		}
		if res.code != 0 {
			t.Logf("refusal: %s", strings.TrimSpace(res.stderr))
			if v.want == "" || !strings.Contains(res.stderr, v.want) || strings.Contains(strings.TrimRight(res.stderr, "\n"), "\n") {
				t.Errorf("failed without one line naming %q: %s", v.want, res)
			}
			return
		}
		if strings.Contains(v.name, "args0") {
			t.Errorf("args[0] through a leaked fd did not fail: %s", res)
		}
		h.checkProbe(t, v.name, res, advRootCaps(t))
	}

	for _, p := range advInitPaths {
		t.Run(p.name, func(t *testing.T) {
			r, p := advFor(t, r, p)
			b := advBundle(t)
			for _, v := range variants {
				t.Run(v.name, func(t *testing.T) {
					proc := advProcess(h.probe())
					v.proc(&proc)
					b.spec.Process.Args, b.spec.Process.Cwd = proc.Args, proc.Cwd
					_, res := advRun(t, r, p, b, leak)
					check(t, v, res)
				})
			}
		})
	}
	shared, _ := advRunning(t, r, nil)
	for _, p := range advExecPaths {
		t.Run(p.name, func(t *testing.T) {
			r, p := advFor(t, r, p)
			id := shared
			if p.rootless {
				id, _ = advRunningOn(t, r, p, nil)
			}
			for _, v := range variants {
				t.Run(v.name, func(t *testing.T) {
					proc := advProcess(h.probe())
					v.proc(&proc)
					check(t, v, advExec(t, r, p, id, proc, leak))
				})
			}
		})
	}
}

// TestAdversarialExecIntoCreated: a non-root process exec'd with
// CAP_SYS_PTRACE into a created, not yet started container reads the
// init's fds while it waits for `start`. The init must hold no directory
// of the host, so neither its fd list nor any walk up from its fds leads
// out of the rootfs.
//
// A directory fd is "outside" when its link does not name, inside the
// container, the same directory. Other fds (the caller's stdio files, a
// fifo) cannot be walked up from; the walk and the secret search check
// that nothing else leads out.
//
// berth (like runc, which allows exec in the created state) execs into a
// created container, so the exec itself is the reader; uid 1000 needs
// CAP_DAC_READ_SEARCH besides CAP_SYS_PTRACE to enter /proc/1/fd (a
// root-owned 0500 directory). --cap puts both in the ambient set because
// the spec has an inheritable set.
func TestAdversarialExecIntoCreated(t *testing.T) {
	r := newRuntime(t)
	h := newAdvHost(t)
	rel := strings.TrimPrefix(h.marker, "/")
	script := `
for f in /proc/1/fd/*; do
	n=${f##*/}; l=$(readlink $f); kind=other
	if [ -d $f ]; then
		kind=dir
		l2=$l; case "$l2" in /*) ;; *) l2=/nonexistent ;; esac
		a=$(stat -L -c %d:%i $f 2>/dev/null); b=$(stat -c %d:%i "$l2" 2>/dev/null)
		if [ -n "$a" ] && [ "$a" = "$b" ]; then kind=dir-inside; fi
		# A procfs of the container's own pid namespace with nothing but
		# the process directories (the init's own, subset=pid) shows what
		# the container's /proc shows.
		if [ "$(stat -f -c %t $f 2>/dev/null)" = 9fa0 ] && [ -z "$(ls $f | grep -vxE '[0-9]+|self|thread-self')" ]; then kind=procfs-pids; fi
	fi
	echo "initfd $n $kind $l"
	up=""
	for i in 0 1 2 3 4 5 6 7 8 9; do cat "$f/${up}` + rel + `" 2>/dev/null; up="../$up"; done
	if [ $kind != procfs-pids ]; then walk="$walk $f/../../../../"; fi
done
echo walk-begin; [ -z "$walk" ] || ls -a $walk 2>&1; echo walk-end
echo initfds-listed
` + h.probe()
	ptrace := append(append([]string{}, advDockerCaps...), "CAP_SYS_PTRACE", "CAP_DAC_READ_SEARCH")
	// exec --cap puts a capability in the ambient set (which a uid-1000
	// process needs to keep it) only where the spec made it inheritable:
	// --cap never adds to the inheritable set itself (CVE-2022-29162).
	inh := []string{"CAP_KILL", "CAP_SYS_PTRACE", "CAP_DAC_READ_SEARCH"}
	want := map[string]string{
		"CapBnd": capMask(t, ptrace...),
		"CapInh": capMask(t, "CAP_KILL", "CAP_SYS_PTRACE", "CAP_DAC_READ_SEARCH"),
		"CapAmb": capMask(t, "CAP_SYS_PTRACE", "CAP_DAC_READ_SEARCH"),
		"CapPrm": capMask(t, "CAP_SYS_PTRACE", "CAP_DAC_READ_SEARCH"),
		"CapEff": capMask(t, "CAP_SYS_PTRACE", "CAP_DAC_READ_SEARCH"),
	}
	for _, ip := range advInitPaths {
		t.Run(ip.name, func(t *testing.T) {
			r, ip := advFor(t, r, ip)
			b := advBundle(t, "sleep", "1000")
			b.spec.Process.Capabilities.Inheritable = inh
			b.spec.Process.Capabilities.Bounding = ptrace
			id := r.newID()
			b.advUserNS(t, ip)
			b.advFinish(t, id)
			res, log := advCall(t, r, ip, id, nil, "create", "--bundle", b.dir, id)
			advCheckInitPath(t, ip, res, log)
			if res.code != 0 {
				t.Fatalf("create: %s", res)
			}
			for _, ep := range advExecPaths {
				if ep.rootless {
					continue // c-init-rootless execs as its user on every exec path
				}
				t.Run(ep.name, func(t *testing.T) {
					ep.user = ip.user // the rootless container's exec is its user's
					if st := r.state(id); st.Status != specs.StateCreated {
						t.Fatalf("container is %q, want created", st.Status)
					}
					token := fmt.Sprintf("%s-exec-%d", id, idSeq.Add(1))
					res, _ := advCall(t, r, ep, token, nil, "exec", "--user", "1000:1000",
						"--cap", "CAP_SYS_PTRACE", "--cap", "CAP_DAC_READ_SEARCH", "--env", tokenVar+"="+token,
						id, "sh", "-c", script)
					if res.code != 0 {
						t.Fatalf("exec into the created container: %s", res)
					}
					if !strings.Contains(res.stdout, "initfd 0 ") {
						if ip.userns {
							// The init is not dumpable and its memory belongs
							// to the host's user namespace: no capability of
							// the container's reaches /proc/1/fd.
							t.Logf("the init's fds are out of the container's reach")
							h.checkProbe(t, "exec into a created container", res, want)
							return
						}
						t.Fatalf("the exec'd process could not list the init's fds (the test cannot tell): %s", res)
					}
					for _, l := range lines(res.stdout) {
						f := strings.Fields(l)
						if len(f) < 3 || f[0] != "initfd" {
							continue
						}
						if f[2] == "dir" {
							t.Errorf("the created init holds a directory outside the container: %s", l)
						}
					}
					// Walked up from any fd, only the container's own root
					// may show.
					walk, _ := advSection(res.stdout, "walk")
					var foreign []string
					for _, l := range lines(walk) {
						if strings.HasSuffix(l, ":") || strings.HasPrefix(l, "ls: ") || l == "." || l == ".." {
							continue
						}
						if _, err := os.Lstat(filepath.Join(b.rootfs, l)); err != nil {
							foreign = append(foreign, l)
						}
					}
					if len(foreign) > 0 {
						t.Errorf("walking up from the init's fds lists what the rootfs does not have (the host's root): %q", foreign)
					}
					h.checkProbe(t, "exec into a created container", res, want)
				})
			}
		})
	}
}

// TestAdversarialMountDestinations: destinations with "..", "//" and a
// relative form: each mount lands inside the rootfs at the cleaned path
// (nothing created or mounted on the host) or is refused naming its
// index.
func TestAdversarialMountDestinations(t *testing.T) {
	r := newRuntime(t)
	h := newAdvHost(t)
	hostDir := testDir(t, "adv-dest")
	uniq := fmt.Sprintf("berth-adv-%d", os.Getpid())
	dests := []struct{ dest, clean string }{
		{"/../../tmp/" + uniq, "/tmp/" + uniq},
		{"//" + strings.ReplaceAll(strings.TrimPrefix(hostDir, "/"), "/", "//") + "//x2", hostDir + "/x2"},
		{"/a/../../../" + strings.TrimPrefix(hostDir, "/") + "/x3", hostDir + "/x3"},
		{strings.Repeat("../", 8) + strings.TrimPrefix(hostDir, "/") + "/x4", hostDir + "/x4"},
		{"//etc//" + uniq, "/etc/" + uniq},
		{"/tmp/./" + uniq + "/../" + uniq + "-5/.", "/tmp/" + uniq + "-5"},
	}
	// A destination that escaped would be the host's: undo it.
	for _, d := range dests {
		d := d
		t.Cleanup(func() {
			if hostMountedAt(d.clean) {
				unix.Unmount(d.clean, unix.MNT_DETACH)
			}
			if strings.Contains(d.clean, uniq) {
				os.Remove(d.clean)
			}
		})
	}
	b := advBundle(t, "sh", "-c", "echo mi-begin; cat /verified-proc/self/mountinfo; echo mi-end\n"+h.probe())
	idx := len(b.spec.Mounts)
	for _, p := range advInitPaths {
		t.Run(p.name, func(t *testing.T) {
			r, p := advFor(t, r, p)
			for _, d := range dests {
				t.Run(d.dest, func(t *testing.T) {
					b.spec.Mounts = b.spec.Mounts[:idx]
					b.addMount(specs.Mount{Destination: d.dest, Type: "tmpfs", Source: "tmpfs", Options: []string{"size=64k"}})
					before := hostMounts()
					id, res := advRun(t, r, p, b, nil)
					if _, err := os.Lstat(d.clean); err == nil {
						t.Errorf("%s was created on the host", d.clean)
					}
					if ents, _ := os.ReadDir(hostDir); len(ents) != 0 {
						t.Errorf("entries appeared in the host directory %s: %v", hostDir, ents)
					}
					if res.code != 0 {
						advAssertRefused(t, r, id, before, res, "mounts["+strconv.Itoa(idx)+"]")
						return
					}
					assertNothingLeft(t, r, id, before)
					mi, _ := advSection(res.stdout, "mi")
					if _, ok := parseMountinfo(mi)[d.clean]; !ok {
						t.Errorf("no mount at %s inside the container:\n%s", d.clean, mi)
					}
					if _, err := os.Stat(filepath.Join(b.rootfs, d.clean)); err != nil {
						t.Errorf("the mount point %s is not in the rootfs: %v", d.clean, err)
					}
					h.checkProbe(t, d.dest, res, advRootCaps(t))
				})
			}
		})
	}
}

// TestAdversarialRelativeArgs: args[0] "./prog" with cwd /work runs
// /work/prog, looked up after the chdir as runc does, whether "./prog"
// from "/" is missing, another program, or not executable.
func TestAdversarialRelativeArgs(t *testing.T) {
	r := newRuntime(t)
	h := newAdvHost(t)
	// The probe runs from a fresh sh -c: a shell running a script file
	// keeps it open (fd 10), which the fd check would count.
	prog := "#!/bin/sh\necho prog-in-cwd\nexec sh -c \"$(cat /work/probe)\"\n"
	variants := []struct {
		name string
		root func(t *testing.T, rootfs string) // what "/prog" is
	}{
		{"absent at root", func(t *testing.T, rootfs string) { os.Remove(filepath.Join(rootfs, "prog")) }},
		{"other program at root", func(t *testing.T, rootfs string) {
			writeFile(t, filepath.Join(rootfs, "prog"), "#!/bin/sh\necho prog-at-root\n")
			os.Chmod(filepath.Join(rootfs, "prog"), 0o755)
		}},
		{"not executable at root", func(t *testing.T, rootfs string) {
			writeFile(t, filepath.Join(rootfs, "prog"), "#!/bin/sh\necho prog-at-root\n")
			os.Chmod(filepath.Join(rootfs, "prog"), 0o644)
		}},
	}
	check := func(t *testing.T, res result) {
		t.Helper()
		if res.code != 0 || !strings.Contains(res.stdout, "prog-in-cwd") {
			t.Fatalf("./prog with cwd /work did not run /work/prog: %s", res)
		}
		h.checkProbe(t, "./prog", res, advRootCaps(t))
	}
	setup := func(t *testing.T, rootfs string) {
		writeFile(t, filepath.Join(rootfs, "work", "probe"), h.probe())
		writeFile(t, filepath.Join(rootfs, "work", "prog"), prog)
		os.Chmod(filepath.Join(rootfs, "work", "prog"), 0o755)
	}
	for _, p := range advInitPaths {
		t.Run(p.name, func(t *testing.T) {
			r, p := advFor(t, r, p)
			b := advBundle(t, "./prog")
			b.spec.Process.Cwd = "/work"
			setup(t, b.rootfs)
			for _, v := range variants {
				t.Run(v.name, func(t *testing.T) {
					v.root(t, b.rootfs)
					_, res := advRun(t, r, p, b, nil)
					check(t, res)
				})
			}
		})
	}
	shared, sharedB := advRunning(t, r, nil)
	setup(t, sharedB.rootfs)
	for _, p := range advExecPaths {
		t.Run(p.name, func(t *testing.T) {
			r, p := advFor(t, r, p)
			id, b := shared, sharedB
			if p.rootless {
				id, b = advRunningOn(t, r, p, nil)
				setup(t, b.rootfs)
			}
			for _, v := range variants {
				t.Run(v.name, func(t *testing.T) {
					v.root(t, b.rootfs)
					proc := advProcess("")
					proc.Args, proc.Cwd = []string{"./prog"}, "/work"
					check(t, advExec(t, r, p, id, proc, nil))
				})
			}
		})
	}
}
