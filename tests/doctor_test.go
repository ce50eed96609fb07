package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The doctor tests force each check the way the host itself would: the
// doctor runs in a private mount namespace where the test mounts over what
// the check reads (tmpfs over /sys/fs/cgroup or /sys/kernel/security, a
// read-only state root, a ramfs root), in a user namespace whose own
// user.max_user_namespaces is 0, under personality(UNAME26), or under a
// seccomp filter that refuses one syscall. The setup runs in this test
// binary re-executed as a helper (doctorHelperEnv), which then execs
// berth; no file on the host is changed and every mount dies with the
// helper's namespace.

// doctorCheck is one entry of `berth doctor --format json`.
type doctorCheck struct {
	Name   string `json:"name"`
	Status string `json:"status"`
	Detail string `json:"detail"`
	Hint   string `json:"hint"`
}

// doctorNames is every check, in the order the doctor prints them.
var doctorNames = []string{
	"kernel", "privileges", "cgroup", "cgroup controllers", "cgroup delegation", "systemd",
	"user namespaces", "seccomp", "apparmor", "selinux", "overlayfs", "idmapped mounts",
	"pidfd_open", "clone3", "CLONE_INTO_CGROUP", "openat2", "time namespaces",
	"state root", "newuidmap/newgidmap", "other runtimes",
}

const doctorHelperEnv = "BERTH_DOCTOR_TEST_HELPER"

// helperStep is one thing the helper does before it execs berth.
type helperStep struct {
	Op     string // mount, write, mkdir, symlink, copy, pivot, unshare, personality, seccomp
	Source string `json:",omitempty"`
	Target string `json:",omitempty"`
	FSType string `json:",omitempty"`
	Flags  uintptr
	Data   string     `json:",omitempty"`
	Deny   []denyRule `json:",omitempty"`
}

// denyRule makes a syscall fail with Errno; with ArgMask, only when its
// first argument has one of those bits (clone and unshare flags).
type denyRule struct {
	Nr      uintptr
	Errno   uint16
	ArgMask uint32
}

type helperPlan struct {
	Steps []helperStep
	Argv  []string
	Env   []string
}

// init turns this test binary into the helper when doctorHelperEnv is
// set: it runs the steps on its main thread (locked, so unshare and
// seccomp, which act on the calling thread, stay on the thread that
// execs) and execs the plan's argv. It never returns to the tests.
func init() {
	plan := os.Getenv(doctorHelperEnv)
	if plan == "" {
		return
	}
	goruntime.LockOSThread()
	err := runHelperPlan(plan)
	fmt.Fprintf(os.Stderr, "doctor test helper: %v\n", err)
	os.Exit(125)
}

func runHelperPlan(text string) error {
	var p helperPlan
	if err := json.Unmarshal([]byte(text), &p); err != nil {
		return err
	}
	for _, s := range p.Steps {
		var err error
		switch s.Op {
		case "mount":
			err = unix.Mount(s.Source, s.Target, s.FSType, s.Flags, s.Data)
		case "write":
			// No O_TRUNC: cgroup and sysctl files take a plain write.
			var f *os.File
			if f, err = os.OpenFile(s.Target, os.O_WRONLY|os.O_CREATE, 0o644); err == nil {
				_, err = f.WriteString(s.Data)
				if cerr := f.Close(); err == nil {
					err = cerr
				}
			}
		case "mkdir":
			err = os.MkdirAll(s.Target, 0o755)
		case "symlink":
			err = os.Symlink(s.Source, s.Target)
		case "copy":
			var data []byte
			if data, err = os.ReadFile(s.Source); err == nil {
				err = os.WriteFile(s.Target, data, 0o755)
			}
		case "pivot":
			// pivot_root, not chroot: the kernel refuses a chrooted
			// process a user namespace, and the doctor needs one.
			old := filepath.Join(s.Target, ".old")
			if err = os.Mkdir(old, 0o700); err == nil {
				if err = unix.PivotRoot(s.Target, old); err == nil {
					if err = unix.Chdir("/"); err == nil {
						if err = unix.Unmount("/.old", unix.MNT_DETACH); err == nil {
							err = os.Remove("/.old")
						}
					}
				}
			}
		case "unshare":
			err = unix.Unshare(int(s.Flags))
		case "personality":
			if _, _, errno := unix.RawSyscall(unix.SYS_PERSONALITY, s.Flags, 0, 0); errno != 0 {
				err = errno
			}
		case "seccomp":
			err = loadDenyFilter(s.Deny)
		default:
			err = fmt.Errorf("unknown step")
		}
		if err != nil {
			return fmt.Errorf("%s %s %s: %w", s.Op, s.FSType, s.Target, err)
		}
	}
	return syscall.Exec(p.Argv[0], p.Argv, p.Env)
}

// loadDenyFilter installs a seccomp filter on the calling thread that
// fails the listed syscalls and allows everything else. It is written
// here by hand, not with berth's compiler, so the test does not lean on
// the code it runs. (No architecture check: only native calls matter.)
func loadDenyFilter(rules []denyRule) error {
	const (
		ldNr  = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
		jeq   = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
		jset  = unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K
		ret   = unix.BPF_RET | unix.BPF_K
		arg0  = 16 // offsetof(struct seccomp_data, args[0]), low word on little-endian
		nrOff = 0
	)
	prog := []unix.SockFilter{{Code: ldNr, K: nrOff}}
	for _, r := range rules {
		errnoRet := unix.SECCOMP_RET_ERRNO | uint32(r.Errno)
		if r.ArgMask == 0 {
			prog = append(prog,
				unix.SockFilter{Code: jeq, K: uint32(r.Nr), Jt: 0, Jf: 1},
				unix.SockFilter{Code: ret, K: errnoRet})
			continue
		}
		prog = append(prog,
			unix.SockFilter{Code: jeq, K: uint32(r.Nr), Jt: 0, Jf: 4},
			unix.SockFilter{Code: ldNr, K: arg0},
			unix.SockFilter{Code: jset, K: r.ArgMask, Jt: 0, Jf: 1},
			unix.SockFilter{Code: ret, K: errnoRet},
			unix.SockFilter{Code: ldNr, K: nrOff})
	}
	prog = append(prog, unix.SockFilter{Code: ret, K: unix.SECCOMP_RET_ALLOW})
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("prctl(PR_SET_NO_NEW_PRIVS): %w", err)
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	if _, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, 0, uintptr(unsafe.Pointer(&fprog))); errno != 0 {
		return fmt.Errorf("seccomp(SECCOMP_SET_MODE_FILTER): %w", errno)
	}
	return nil
}

// doctorRun describes one doctor invocation.
type doctorRun struct {
	steps []helperStep         // run by the helper in a private mount namespace
	attr  *syscall.SysProcAttr // for the helper, or for berth when there are no steps
	env   []string             // KEY=VALUE overriding the test's environment
	argv  []string             // instead of berth doctor (with steps only)
	root  string               // --root; the runtime's own by default
	bin   string               // berth as the helper sees it after its steps
	text  bool                 // text output instead of JSON
}

// withEnv overrides base with extra, key by key (Go's os.Getenv takes the
// first of two equal keys, so an appended duplicate would not win).
func withEnv(base, extra []string) []string {
	var out []string
	for _, kv := range base {
		key, _, _ := strings.Cut(kv, "=")
		if !slices.ContainsFunc(extra, func(e string) bool { return strings.HasPrefix(e, key+"=") }) {
			out = append(out, kv)
		}
	}
	return append(out, extra...)
}

// execDoctor runs the doctor (or d.argv) as d says and returns its output.
func (r *runtime) execDoctor(t *testing.T, d doctorRun) result {
	t.Helper()
	bin, root := d.bin, d.root
	if bin == "" {
		bin = r.bin
	}
	if root == "" {
		root = r.root
	}
	argv := d.argv
	if argv == nil {
		argv = []string{bin, "--root", root, "doctor"}
		if !d.text {
			argv = append(argv, "--format", "json")
		}
	}
	env := withEnv(os.Environ(), d.env)
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	var cmd *exec.Cmd
	if len(d.steps) > 0 {
		self, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		plan, err := json.Marshal(helperPlan{Steps: d.steps, Argv: argv, Env: env})
		if err != nil {
			t.Fatal(err)
		}
		cmd = exec.CommandContext(ctx, self)
		cmd.Env = append(os.Environ(), doctorHelperEnv+"="+string(plan))
		attr := &syscall.SysProcAttr{}
		if d.attr != nil {
			a := *d.attr
			attr = &a
		}
		// Go makes / MS_REC|MS_PRIVATE after this unshare: nothing the
		// helper mounts reaches the host.
		attr.Unshareflags |= syscall.CLONE_NEWNS
		cmd.SysProcAttr = attr
	} else {
		cmd = exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.Env = env
		cmd.SysProcAttr = d.attr
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := result{args: argv, stdout: stdout.String(), stderr: stderr.String()}
	res.code = exitCode(t, err, res)
	if ctx.Err() != nil {
		t.Fatalf("doctor timed out: %s", res)
	}
	if res.code == 125 {
		t.Fatalf("the test helper failed before berth ran: %s", res)
	}
	return res
}

// doctor runs `berth doctor --format json` as d says and indexes the
// checks by name.
func (r *runtime) doctor(t *testing.T, d doctorRun) map[string]doctorCheck {
	t.Helper()
	res := r.execDoctor(t, d)
	var checks []doctorCheck
	if err := json.Unmarshal([]byte(res.stdout), &checks); err != nil {
		t.Fatalf("doctor --format json is not a JSON array of checks: %v\n%s", err, res)
	}
	byName := map[string]doctorCheck{}
	failed := false
	for _, c := range checks {
		byName[c.Name] = c
		failed = failed || c.Status == "fail"
	}
	if want := 0; failed {
		want = 1
		if res.code != want {
			t.Errorf("a check failed but doctor exits %d: %s", res.code, res)
		}
	} else if res.code != want {
		t.Errorf("no check failed but doctor exits %d: %s", res.code, res)
	}
	return byName
}

// expect asserts a check's status and that its detail (or hint) names
// every cause given.
func expect(t *testing.T, checks map[string]doctorCheck, name, status string, causes ...string) doctorCheck {
	t.Helper()
	c, ok := checks[name]
	if !ok {
		t.Fatalf("no %q check", name)
	}
	if status != "" && c.Status != status {
		t.Errorf("%s: status %s, want %s: %s (%s)", name, c.Status, status, c.Detail, c.Hint)
	}
	for _, cause := range causes {
		if !strings.Contains(c.Detail, cause) && !strings.Contains(c.Hint, cause) {
			t.Errorf("%s: %q does not name %q (hint %q)", name, c.Detail, cause, c.Hint)
		}
	}
	return c
}

// notStatus asserts the baseline of a forced check, so a test shows a
// change and not a host that was already broken.
func notStatus(t *testing.T, checks map[string]doctorCheck, name string, bad ...string) {
	t.Helper()
	if c := checks[name]; slices.Contains(bad, c.Status) {
		t.Fatalf("baseline %s is already %s here: %s (%s)", name, c.Status, c.Detail, c.Hint)
	}
}

func statfsType(t *testing.T, p string) int64 {
	t.Helper()
	var st unix.Statfs_t
	if err := unix.Statfs(p, &st); err != nil {
		return 0
	}
	return int64(st.Type)
}

// TestDoctor runs every check on this host as it is and holds the
// answers to what the kernel says by other means.
func TestDoctor(t *testing.T) {
	r := newRuntime(t)
	res := r.execDoctor(t, doctorRun{})
	var checks []doctorCheck
	if err := json.Unmarshal([]byte(res.stdout), &checks); err != nil {
		t.Fatalf("doctor --format json is not a JSON array of checks: %v\n%s", err, res)
	}
	var names []string
	for _, c := range checks {
		names = append(names, c.Name)
		if c.Status != "ok" && c.Status != "warn" && c.Status != "fail" {
			t.Errorf("check %q has status %q", c.Name, c.Status)
		}
		if c.Detail == "" || c.Status != "ok" && c.Hint == "" {
			t.Errorf("check %q (%s) lacks a reason or a remedy: %+v", c.Name, c.Status, c)
		}
	}
	if !slices.Equal(names, doctorNames) {
		t.Errorf("checks %q, want %q", names, doctorNames)
	}
	got := r.doctor(t, doctorRun{})

	// cgroups as statfs and the controller files tell them.
	switch statfsType(t, "/sys/fs/cgroup") {
	case unix.CGROUP2_SUPER_MAGIC:
		expect(t, got, "cgroup", "ok", "v2 (unified)")
		want, err := os.ReadFile("/sys/fs/cgroup/cgroup.controllers")
		if err != nil {
			t.Fatal(err)
		}
		expect(t, got, "cgroup controllers", "", "/sys/fs/cgroup (cgroup /): "+strings.TrimSpace(string(want)))
		expect(t, got, "CLONE_INTO_CGROUP", "ok", "clone3(CLONE_INTO_CGROUP)")
	case unix.TMPFS_MAGIC:
		mode := "v1 (legacy)"
		if statfsType(t, "/sys/fs/cgroup/unified") == unix.CGROUP2_SUPER_MAGIC {
			mode = "hybrid"
		}
		expect(t, got, "cgroup", "warn", mode)
		if statfsType(t, "/sys/fs/cgroup/memory") == unix.CGROUP_SUPER_MAGIC {
			expect(t, got, "cgroup controllers", "", "memory")
		}
	}

	var u unix.Utsname
	unix.Uname(&u)
	expect(t, got, "kernel", "", unix.ByteSliceToString(u.Release[:]))
	expect(t, got, "privileges", "ok", "root")
	expect(t, got, "user namespaces", "ok", "made one")
	if data, err := os.ReadFile("/proc/sys/user/max_user_namespaces"); err == nil {
		expect(t, got, "user namespaces", "", "max_user_namespaces="+strings.TrimSpace(string(data)))
	}
	// These syscalls exist on any kernel berth supports; a probe that
	// fails here is a broken probe.
	for _, name := range []string{"pidfd_open", "clone3", "openat2", "time namespaces", "seccomp"} {
		expect(t, got, name, "ok")
	}
	if _, err := os.Stat("/proc/self/ns/time"); err != nil {
		t.Errorf("time namespaces are ok, but /proc/self/ns/time: %v", err)
	}

	text := r.execDoctor(t, doctorRun{text: true})
	if text.code != res.code || len(lines(text.stdout)) < len(checks) || !strings.Contains(text.stdout, "cgroup") {
		t.Errorf("text form (exit %d, json exit %d):\n%s", text.code, res.code, text.stdout)
	}
	assertErrorLine(t, r.run("doctor", "--format", "yaml"), "text or json")
}

// TestDoctorOutput logs the text form, so `go test -v` shows what this
// host (or the VM) gives a runtime.
func TestDoctorOutput(t *testing.T) {
	r := newRuntime(t)
	res := r.execDoctor(t, doctorRun{text: true, root: "/run/berth"})
	if res.code != 0 && res.code != 1 || res.stdout == "" {
		t.Fatalf("berth doctor: %s", res)
	}
	var u unix.Utsname
	unix.Uname(&u)
	t.Logf("berth doctor on %s (exit %d):\n%s", unix.ByteSliceToString(u.Release[:]), res.code, res.stdout)
}

// TestDoctorKernelVersion: under personality(UNAME26) the kernel itself
// reports a 2.6 release. The version check must fail, and every probe must
// still answer as before, since none of them trusts the version.
func TestDoctorKernelVersion(t *testing.T) {
	r := newRuntime(t)
	base := r.doctor(t, doctorRun{})
	const uname26 = 0x0020000
	forced := r.doctor(t, doctorRun{steps: []helperStep{{Op: "personality", Flags: uname26}}})
	notStatus(t, base, "kernel", "fail")
	expect(t, forced, "kernel", "fail", "uname says 2.6.", "older than 3.10")
	for _, name := range []string{"pidfd_open", "clone3", "CLONE_INTO_CGROUP", "openat2", "time namespaces", "idmapped mounts", "overlayfs", "seccomp"} {
		if forced[name].Status != base[name].Status {
			t.Errorf("%s follows the version: %+v under UNAME26, %+v without", name, forced[name], base[name])
		}
	}
}

// TestDoctorPrivileges runs the doctor as nobody: privileges warn, and the
// user namespace probe is then an unprivileged clone(CLONE_NEWUSER).
func TestDoctorPrivileges(t *testing.T) {
	r := newRuntime(t)
	got := r.doctor(t, doctorRun{attr: &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}})
	expect(t, got, "privileges", "warn", "uid 65534")
	expect(t, got, "user namespaces", "", "probe as uid 65534")
	expect(t, got, "state root", "fail", "EACCES")
	if statfsType(t, "/sys/fs/cgroup") == unix.CGROUP2_SUPER_MAGIC {
		// The root's own cgroup is not nobody's: no delegation.
		expect(t, got, "cgroup delegation", "warn", "not delegated to uid 65534")
	}
}

// TestDoctorCgroupHidden covers /sys/fs/cgroup with an empty tmpfs.
func TestDoctorCgroupHidden(t *testing.T) {
	r := newRuntime(t)
	base := r.doctor(t, doctorRun{})
	notStatus(t, base, "cgroup", "fail")
	forced := r.doctor(t, doctorRun{steps: []helperStep{{Op: "mount", Source: "tmpfs", Target: "/sys/fs/cgroup", FSType: "tmpfs"}}})
	expect(t, forced, "cgroup", "fail", "/sys/fs/cgroup (tmpfs, no cgroup hierarchy")
	expect(t, forced, "cgroup controllers", "fail", "no cgroup hierarchy")
	expect(t, forced, "CLONE_INTO_CGROUP", "warn", "no cgroup2 hierarchy reachable")
}

// TestDoctorCgroupV1Hierarchy hides the v1 memory hierarchy under a
// tmpfs: it is still in mountinfo, but no longer reachable.
func TestDoctorCgroupV1Hierarchy(t *testing.T) {
	if statfsType(t, "/sys/fs/cgroup/memory") != unix.CGROUP_SUPER_MAGIC {
		t.Skip("no cgroup v1 memory hierarchy at /sys/fs/cgroup/memory (a pure cgroup v2 host): TestDoctorCgroupV2Namespace covers v2")
	}
	r := newRuntime(t)
	base := r.doctor(t, doctorRun{})
	if c := base["cgroup controllers"]; strings.Contains(c.Detail, "for memory") || strings.Contains(c.Detail, ", memory") {
		t.Fatalf("baseline already misses memory: %+v", c)
	}
	forced := r.doctor(t, doctorRun{steps: []helperStep{{Op: "mount", Source: "tmpfs", Target: "/sys/fs/cgroup/memory", FSType: "tmpfs"}}})
	c := expect(t, forced, "cgroup controllers", "warn", "no reachable hierarchy under /sys/fs/cgroup for memory", "memory limits")
	if strings.Contains(strings.SplitN(c.Detail, ";", 2)[0], "memory") {
		t.Errorf("memory is still listed as mounted: %s", c.Detail)
	}
}

// testCgroupV2 makes a cgroup tree (dirs relative to a new top cgroup) on
// the cgroup2 hierarchy, /sys/fs/cgroup or a hybrid host's unified one,
// and removes it, deepest first, at the end of the test.
func testCgroupV2(t *testing.T, dirs ...string) string {
	t.Helper()
	var v2 string
	for _, p := range []string{"/sys/fs/cgroup", "/sys/fs/cgroup/unified"} {
		if statfsType(t, p) == unix.CGROUP2_SUPER_MAGIC {
			v2 = p
			break
		}
	}
	if v2 == "" {
		t.Skip("no cgroup2 hierarchy on this host")
	}
	top := filepath.Join(v2, fmt.Sprintf("berth-doctor-%d", os.Getpid()))
	made := []string{top}
	if err := os.Mkdir(top, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		made = append(made, filepath.Join(top, d))
		if err := os.Mkdir(filepath.Join(top, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for i := len(made) - 1; i >= 0; i-- {
			if err := os.Remove(made[i]); err != nil {
				t.Errorf("remove test cgroup: %v", err)
			}
		}
	})
	return top
}

func hasController(dir, name string) bool {
	avail, _ := os.ReadFile(filepath.Join(dir, "cgroup.controllers"))
	return slices.Contains(strings.Fields(string(avail)), name)
}

// mountCgroupNS are the helper steps that show the doctor a cgroup2
// hierarchy rooted at the helper's cgroup of the moment.
var mountCgroupNS = []helperStep{
	{Op: "unshare", Flags: unix.CLONE_NEWCGROUP},
	// The kernel refuses a cgroup2 mount right on top of another
	// (EBUSY); a tmpfs in between separates them.
	{Op: "mount", Source: "tmpfs", Target: "/sys/fs/cgroup", FSType: "tmpfs"},
	{Op: "mount", Source: "cgroup2", Target: "/sys/fs/cgroup", FSType: "cgroup2"},
}

// TestDoctorCgroupV2Namespace makes the doctor see a cgroup2 hierarchy
// rooted at a fresh leaf cgroup: the helper moves into the leaf, unshares
// a cgroup namespace and mounts cgroup2 on /sys/fs/cgroup. The leaf's
// controllers are what its parent delegates (pids alone, where the host
// has it), its subtree_control is empty. On a hybrid host this is the
// controller-less unified hierarchy.
func TestDoctorCgroupV2Namespace(t *testing.T) {
	r := newRuntime(t)
	top := testCgroupV2(t, "leaf")
	leaf := filepath.Join(top, "leaf")
	if hasController(top, "pids") {
		if err := os.WriteFile(filepath.Join(top, "cgroup.subtree_control"), []byte("+pids"), 0); err != nil {
			t.Fatal(err)
		}
	}
	leafCtrl, err := os.ReadFile(filepath.Join(leaf, "cgroup.controllers"))
	if err != nil {
		t.Fatal(err)
	}
	got := r.doctor(t, doctorRun{steps: append([]helperStep{
		{Op: "write", Target: filepath.Join(leaf, "cgroup.procs"), Data: "0"},
	}, mountCgroupNS...)})
	expect(t, got, "cgroup", "ok", "v2 (unified) at /sys/fs/cgroup, berth's cgroup /")
	c := expect(t, got, "cgroup controllers", "warn", "missing: cpu cpuset memory")
	if want := "available at /sys/fs/cgroup (cgroup /): " + strings.TrimSpace(string(leafCtrl)) + ";"; !strings.Contains(c.Detail, want) {
		t.Errorf("controllers %q, want the leaf's %q", c.Detail, want)
	}
	expect(t, got, "cgroup delegation", "warn", "root cgroup.subtree_control is empty")
	// The probe child is born in the leaf (the namespace's /) by clone3.
	expect(t, got, "CLONE_INTO_CGROUP", "ok", "born in /sys/fs/cgroup by clone3(CLONE_INTO_CGROUP)")
}

// TestDoctorCgroupV2Delegation roots the namespace at a cgroup that hands
// pids down (where the host has it) and runs the doctor two levels below,
// in mid/leaf: relative cgroupsPaths would go under mid, which hands down
// nothing, and the check must name it.
func TestDoctorCgroupV2Delegation(t *testing.T) {
	r := newRuntime(t)
	top := testCgroupV2(t, "mid", "mid/leaf")
	// The namespace root must hold the helper when it unshares, and a
	// cgroup with processes cannot hand controllers down: the helper
	// enables pids itself once it has moved on to the leaf.
	steps := []helperStep{
		{Op: "write", Target: filepath.Join(top, "cgroup.procs"), Data: "0"},
		{Op: "unshare", Flags: unix.CLONE_NEWCGROUP},
		{Op: "write", Target: filepath.Join(top, "mid", "leaf", "cgroup.procs"), Data: "0"},
	}
	rootSub := "root cgroup.subtree_control is empty"
	if hasController(top, "pids") {
		steps = append(steps, helperStep{Op: "write", Target: filepath.Join(top, "cgroup.subtree_control"), Data: "+pids"})
		rootSub = "root cgroup.subtree_control: pids"
	}
	got := r.doctor(t, doctorRun{steps: append(steps, mountCgroupNS[1:]...)})
	expect(t, got, "cgroup", "ok", "berth's cgroup /mid/leaf")
	expect(t, got, "cgroup delegation", "warn", rootSub,
		"relative cgroupsPath parent /sys/fs/cgroup/mid cgroup.subtree_control is empty",
		"cgroups under /sys/fs/cgroup/mid cannot use cpu, cpuset, memory, pids")
	expect(t, got, "CLONE_INTO_CGROUP", "ok", "born in /sys/fs/cgroup/mid/leaf")
}

// TestDoctorUserNamespaces runs the doctor as root of a user namespace
// whose own user.max_user_namespaces is 0: the limit is per namespace, so
// the kernel really refuses the probe's clone(CLONE_NEWUSER) with ENOSPC.
func TestDoctorUserNamespaces(t *testing.T) {
	r := newRuntime(t)
	base := r.doctor(t, doctorRun{})
	notStatus(t, base, "user namespaces", "fail")
	got := r.doctor(t, doctorRun{
		attr: &syscall.SysProcAttr{
			Cloneflags:  syscall.CLONE_NEWUSER,
			UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}},
			GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}},
		},
		steps: []helperStep{{Op: "write", Target: "/proc/sys/user/max_user_namespaces", Data: "0"}},
	})
	expect(t, got, "user namespaces", "fail", "max_user_namespaces=0", "ENOSPC", "sysctl -w user.max_user_namespaces")
	expect(t, got, "privileges", "warn", "inside a user namespace", `"0 0 1"`)
	expect(t, got, "idmapped mounts", "warn", "not probed", "ENOSPC")
}

// TestDoctorUnprivilegedUserns turns Debian's kernel.unprivileged_userns_clone
// off and runs the doctor as nobody, whose probe the kernel then refuses.
// The knob is host-wide, so only the throw-away VM (BERTH_VM=1) flips it.
func TestDoctorUnprivilegedUserns(t *testing.T) {
	const knob = "/proc/sys/kernel/unprivileged_userns_clone"
	old, err := os.ReadFile(knob)
	if err != nil {
		t.Skipf("this kernel has no %s (a Debian patch): nothing to force", knob)
	}
	if os.Getenv("BERTH_VM") != "1" {
		t.Skipf("%s is host-wide: only the throw-away VM (BERTH_VM=1) flips it", knob)
	}
	r := newRuntime(t)
	nobody := doctorRun{attr: &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}}
	if strings.TrimSpace(string(old)) == "1" {
		expect(t, r.doctor(t, nobody), "user namespaces", "ok", "probe as uid 65534: clone(CLONE_NEWUSER) made one")
	}
	if err := os.WriteFile(knob, []byte("0"), 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.WriteFile(knob, old, 0); err != nil {
			t.Errorf("restore %s: %v", knob, err)
		}
	})
	expect(t, r.doctor(t, doctorRun{}), "user namespaces", "warn", "unprivileged_userns_clone=0", "probe as root: clone(CLONE_NEWUSER) made one")
	expect(t, r.doctor(t, nobody), "user namespaces", "fail", "unprivileged_userns_clone=0", "probe as uid 65534: clone(CLONE_NEWUSER) failed: EPERM", "sysctl -w kernel.unprivileged_userns_clone=1")
}

// TestDoctorSecurityFS: the LSM checks read the active LSMs from
// lsm_list_modules (6.8+) or from securityfs. With securityfs freshly
// mounted they must agree with /sys/kernel/security/lsm; with an empty
// tmpfs over it, an active AppArmor (or a kernel that answers only through
// securityfs) must be reported as unreadable, naming the path.
func TestDoctorSecurityFS(t *testing.T) {
	r := newRuntime(t)
	// A fresh securityfs over a tmpfs: where one is mounted already, the
	// kernel refuses a second right on top of it (EBUSY).
	mountSecfs := []helperStep{
		{Op: "mount", Source: "tmpfs", Target: "/sys/kernel/security", FSType: "tmpfs"},
		{Op: "mount", Source: "securityfs", Target: "/sys/kernel/security", FSType: "securityfs"},
	}
	cat := r.execDoctor(t, doctorRun{steps: mountSecfs, argv: []string{busyboxPath, "cat", "/sys/kernel/security/lsm"}})
	if cat.code != 0 {
		t.Fatalf("read /sys/kernel/security/lsm: %s", cat)
	}
	lsms := strings.Split(strings.TrimSpace(cat.stdout), ",")
	mounted := r.doctor(t, doctorRun{steps: mountSecfs})
	for _, name := range []string{"apparmor", "selinux"} {
		c := mounted[name]
		_, list, ok := strings.Cut(c.Detail, "active LSMs: ")
		list, _, _ = strings.Cut(list, " via ")
		if !ok {
			t.Errorf("%s names no active LSMs: %+v", name, c)
		} else if got := strings.Split(list, ","); !sameSet(got, lsms) {
			t.Errorf("%s: active LSMs %q, /sys/kernel/security/lsm says %q", name, got, lsms)
		}
		if active := slices.Contains(lsms, name); active == strings.HasPrefix(c.Detail, "not active") {
			t.Errorf("%s: %q, but /sys/kernel/security/lsm lists %q", name, c.Detail, lsms)
		}
	}
	t.Logf("with securityfs: apparmor %+v, selinux %+v", mounted["apparmor"], mounted["selinux"])

	hidden := r.doctor(t, doctorRun{steps: []helperStep{{Op: "mount", Source: "tmpfs", Target: "/sys/kernel/security", FSType: "tmpfs"}}})
	fromSecfs := strings.Contains(mounted["selinux"].Detail, "via /sys/kernel/security/lsm")
	switch {
	case slices.Contains(lsms, "apparmor"):
		expect(t, hidden, "apparmor", "warn", "/sys/kernel/security")
	case fromSecfs:
		expect(t, hidden, "apparmor", "warn", "/sys/kernel/security")
	default:
		// lsm_list_modules needs no filesystem, and no LSM here needs
		// securityfs: the answer must not change.
		if hidden["apparmor"] != mounted["apparmor"] {
			t.Errorf("apparmor changed without securityfs: %+v, was %+v", hidden["apparmor"], mounted["apparmor"])
		}
	}
	if fromSecfs {
		expect(t, hidden, "selinux", "warn", "/sys/kernel/security")
	} else if hidden["selinux"] != mounted["selinux"] {
		t.Errorf("selinux changed without securityfs: %+v, was %+v", hidden["selinux"], mounted["selinux"])
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// TestDoctorStateRoot mounts a tmpfs with the mode, owner and flags under
// test on the state root.
func TestDoctorStateRoot(t *testing.T) {
	r := newRuntime(t)
	root := filepath.Join(testDir(t, "doctor-state"), "root")
	if err := os.Mkdir(root, 0o700); err != nil {
		t.Fatal(err)
	}
	onTmpfs := func(flags uintptr, data string) map[string]doctorCheck {
		return r.doctor(t, doctorRun{root: root, steps: []helperStep{{Op: "mount", Source: "tmpfs", Target: root, FSType: "tmpfs", Flags: flags, Data: data}}})
	}
	expect(t, onTmpfs(0, "mode=0700"), "state root", "ok", root+": tmpfs, mode 0700, owner uid 0")
	expect(t, onTmpfs(unix.MS_RDONLY, "mode=0700"), "state root", "fail", "not writable: EROFS")
	expect(t, onTmpfs(0, "mode=0777"), "state root", "fail", "chmod 0700")
	expect(t, onTmpfs(0, "mode=0700,uid=65534"), "state root", "warn", "owned by uid 65534")

	// A filesystem that outlives a reboot leaves stale containers behind.
	for _, dir := range []string{"/var/tmp", filepath.Dir(r.bin), "/root"} {
		if typ := statfsType(t, dir); typ == 0 || typ == unix.TMPFS_MAGIC || typ == unix.RAMFS_MAGIC {
			continue
		}
		persistent, err := os.MkdirTemp(dir, "berth-doctor-")
		if err != nil {
			continue
		}
		defer os.RemoveAll(persistent)
		os.Chmod(persistent, 0o700)
		expect(t, r.doctor(t, doctorRun{root: persistent}), "state root", "warn", "survives a reboot")
		return
	}
	t.Log("no persistent filesystem here (all tmpfs or ramfs): the reboot warning cannot be forced")
}

// TestDoctorIdmapHelpers hides newuidmap/newgidmap from PATH, then offers
// copies without setuid.
func TestDoctorIdmapHelpers(t *testing.T) {
	r := newRuntime(t)
	bare := testDir(t, "doctor-path")
	// The user namespace probe runs cat.
	if err := os.Symlink(busyboxPath, filepath.Join(bare, "cat")); err != nil {
		t.Fatal(err)
	}
	expect(t, r.doctor(t, doctorRun{env: []string{"PATH=" + bare}}), "newuidmap/newgidmap", "warn", "not found in PATH: newuidmap, newgidmap")

	weak := testDir(t, "doctor-path")
	for _, name := range []string{"cat", "newuidmap", "newgidmap"} {
		copyFile(t, busyboxPath, filepath.Join(weak, name), 0o755)
	}
	expect(t, r.doctor(t, doctorRun{env: []string{"PATH=" + weak}}), "newuidmap/newgidmap", "warn",
		filepath.Join(weak, "newuidmap")+" (neither setuid nor file capabilities)")
}

// TestDoctorOtherRuntimes puts runc and crun state on a private /run.
func TestDoctorOtherRuntimes(t *testing.T) {
	r := newRuntime(t)
	privateRun := helperStep{Op: "mount", Source: "tmpfs", Target: "/run", FSType: "tmpfs"}
	expect(t, r.doctor(t, doctorRun{steps: []helperStep{privateRun}}), "other runtimes", "ok", "no state of other runtimes")
	withState := []helperStep{privateRun,
		{Op: "mkdir", Target: "/run/runc/web1"},
		{Op: "write", Target: "/run/runc/web1/state.json", Data: "{}"},
		{Op: "mkdir", Target: "/run/runc/not-a-container"},
		{Op: "mkdir", Target: "/run/crun/db2"},
		{Op: "write", Target: "/run/crun/db2/status", Data: "running"},
	}
	expect(t, r.doctor(t, doctorRun{steps: withState}), "other runtimes", "warn",
		"runc has 1 container(s) in /run/runc: web1", "crun has 1 container(s) in /run/crun: db2")
	expect(t, r.doctor(t, doctorRun{steps: withState, root: "/run/runc"}), "other runtimes", "fail", "--root /run/runc is runc's state directory")
}

// TestDoctorIdmapUnsupportedFS makes a ramfs, which cannot be idmapped,
// the root of the doctor's mount namespace (pivot_root) and checks the
// probe says so. The library directories are bound in (berth is linked
// dynamically); / itself stays ramfs.
func TestDoctorIdmapUnsupportedFS(t *testing.T) {
	r := newRuntime(t)
	base := r.doctor(t, doctorRun{})
	dir := testDir(t, "doctor-ramfs")
	steps := []helperStep{
		{Op: "mount", Source: "ramfs", Target: dir, FSType: "ramfs"},
		{Op: "copy", Source: r.bin, Target: filepath.Join(dir, "berth")},
		{Op: "copy", Source: busyboxPath, Target: filepath.Join(dir, "cat")},
		{Op: "mkdir", Target: filepath.Join(dir, "proc")},
		{Op: "mount", Source: "/proc", Target: filepath.Join(dir, "proc"), Flags: unix.MS_BIND | unix.MS_REC},
	}
	for _, p := range []string{"/lib", "/lib64", "/lib32", "/usr"} {
		fi, err := os.Lstat(p)
		switch {
		case err != nil:
		case fi.Mode()&os.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				t.Fatal(err)
			}
			steps = append(steps, helperStep{Op: "symlink", Source: target, Target: dir + p})
		case fi.IsDir():
			steps = append(steps,
				helperStep{Op: "mkdir", Target: dir + p},
				helperStep{Op: "mount", Source: p, Target: dir + p, Flags: unix.MS_BIND | unix.MS_REC})
		}
	}
	steps = append(steps, helperStep{Op: "pivot", Target: dir})
	got := r.doctor(t, doctorRun{steps: steps, bin: "/berth", root: "/state", env: []string{"PATH=/"}})
	expect(t, got, "idmapped mounts", "warn", "clone of / (ramfs): EINVAL", "cannot be idmapped")
	if strings.Contains(base["idmapped mounts"].Detail, "ramfs") {
		t.Errorf("baseline already on ramfs: %+v", base["idmapped mounts"])
	}
	expect(t, got, "state root", "ok", "it will be made in / (ramfs, writable)")
}

// TestDoctorSeccomp runs the doctor under a seccomp filter that refuses
// one syscall at a time, as a container runtime's default profile does
// (Docker's answers clone3 with ENOSYS). For the syscall probes that is
// exactly what a kernel without them looks like; for fsopen("overlay") the
// ENODEV stands in for a kernel built without overlayfs, which cannot be
// removed from a running kernel for one process.
func TestDoctorSeccomp(t *testing.T) {
	r := newRuntime(t)
	base := r.doctor(t, doctorRun{steps: []helperStep{{Op: "seccomp"}}})
	cases := []struct {
		check string
		rule  denyRule
		want  []string
		also  map[string]string // other checks that must follow, and why
	}{
		{check: "pidfd_open", rule: denyRule{Nr: unix.SYS_PIDFD_OPEN, Errno: uint16(unix.ENOSYS)}, want: []string{"ENOSYS", "seccomp mode 2"}},
		{check: "clone3", rule: denyRule{Nr: unix.SYS_CLONE3, Errno: uint16(unix.ENOSYS)}, want: []string{"ENOSYS", "seccomp mode 2"},
			also: map[string]string{"CLONE_INTO_CGROUP": "ENOSYS"}},
		{check: "openat2", rule: denyRule{Nr: unix.SYS_OPENAT2, Errno: uint16(unix.ENOSYS)}, want: []string{"openat2 RESOLVE_IN_ROOT on /: ENOSYS"}},
		{check: "time namespaces", rule: denyRule{Nr: unix.SYS_UNSHARE, Errno: uint16(unix.EINVAL), ArgMask: unix.CLONE_NEWTIME}, want: []string{"unshare(CLONE_NEWTIME): EINVAL"}},
		{check: "overlayfs", rule: denyRule{Nr: unix.SYS_FSOPEN, Errno: uint16(unix.ENODEV)}, want: []string{"ENODEV", "no overlay filesystem"}},
		{check: "seccomp", rule: denyRule{Nr: unix.SYS_SECCOMP, Errno: uint16(unix.EPERM)}, want: []string{"SECCOMP_GET_ACTION_AVAIL): EPERM"}},
		{check: "user namespaces", rule: denyRule{Nr: unix.SYS_CLONE, Errno: uint16(unix.EPERM), ArgMask: unix.CLONE_NEWUSER}, want: []string{"clone(CLONE_NEWUSER) failed: EPERM"},
			also: map[string]string{"idmapped mounts": "not probed"}},
	}
	probes := []string{"pidfd_open", "clone3", "openat2", "time namespaces", "overlayfs", "seccomp", "user namespaces"}
	for _, name := range probes {
		notStatus(t, base, name, "warn", "fail")
	}
	for _, tc := range cases {
		t.Run(tc.check, func(t *testing.T) {
			got := r.doctor(t, doctorRun{steps: []helperStep{{Op: "seccomp", Deny: []denyRule{tc.rule}}}})
			status := "warn"
			if tc.check == "seccomp" || tc.check == "user namespaces" {
				status = "fail"
			}
			expect(t, got, tc.check, status, tc.want...)
			for name, cause := range tc.also {
				if base[name].Status == "ok" {
					expect(t, got, name, "warn", cause)
				}
			}
			// The filter refuses one syscall: every other probe answers as before.
			for _, name := range probes {
				if name != tc.check && got[name].Status != base[name].Status {
					t.Errorf("%s changed too: %+v (was %+v)", name, got[name], base[name])
				}
			}
		})
	}
}
