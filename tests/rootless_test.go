package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Rootless: berth run by an ordinary user. Each test makes a dedicated
// unprivileged user with subordinate id ranges of its own (and removes
// it, its ranges, files and processes at the end, also on failure) and runs
// berth as that user through setpriv, with a clean environment. On this
// host (cgroup v1, no systemd) no cgroup is delegated: containers without
// limits run in the caller's cgroup, and limits are refused.

// rootlessSubCount is the size of the test user's subordinate ranges.
const rootlessSubCount = 65536

// rootlessUser is a throw-away unprivileged user.
type rootlessUser struct {
	name     string
	uid, gid int
	home     string // its HOME, a temp dir it owns
	xdg      string // its XDG_RUNTIME_DIR, mode 0700
	subStart int    // first id of its /etc/subuid and /etc/subgid range
}

// needRootlessTool finds a tool the rootless tests need: off CI a missing
// one skips the test; with CI set, or in the systemd VM guest (whose image
// has them), it fails it, as .ci/run installs it.
func needRootlessTool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "" && os.Getenv("BERTH_VM_GUEST") != "systemd" {
		t.Skipf("%s is not installed (apt-get install %s); with CI set this fails instead", name, pkg)
	}
	t.Fatalf("%s not found (CI=%s): apt-get install %s (.ci/run installs it)", name, os.Getenv("CI"), pkg)
	return ""
}

// newRootlessUser creates the user, with no subordinate ids from
// login.defs and one range of its own (a per-test-binary block far above
// any other allocation), and removes all of it at the end.
func newRootlessUser(t *testing.T) *rootlessUser {
	t.Helper()
	requireRoot(t)
	useradd := needRootlessTool(t, "useradd", "passwd")
	needRootlessTool(t, "setpriv", "util-linux")
	needRootlessTool(t, "newuidmap", "uidmap")
	needRootlessTool(t, "newgidmap", "uidmap")
	seq := idSeq.Add(1)
	u := &rootlessUser{name: fmt.Sprintf("brl%d-%d", os.Getpid()%1000000, seq)}
	// Above 2^30 (no login.defs allocation reaches there), below 2^32.
	u.subStart = 1<<30 + (os.Getpid()%700*64+int(seq%64))*rootlessSubCount
	u.home = testDir(t, "rootless-home")
	t.Cleanup(func() { removeRootlessUser(t, u) })
	sub := fmt.Sprintf("%d-%d", u.subStart, u.subStart+rootlessSubCount-1)
	out, err := exec.Command(useradd, "--no-create-home", "--home-dir", u.home, "--shell", "/usr/sbin/nologin",
		"--user-group", "-K", "SUB_UID_COUNT=0", "-K", "SUB_GID_COUNT=0", u.name).CombinedOutput()
	if err != nil {
		t.Fatalf("useradd %s: %v: %s", u.name, err, out)
	}
	if out, err := exec.Command("usermod", "--add-subuids", sub, "--add-subgids", sub, u.name).CombinedOutput(); err != nil {
		t.Fatalf("usermod --add-subuids %s %s: %v: %s", sub, u.name, err, out)
	}
	var st syscall.Stat_t
	pw, err := exec.Command("getent", "passwd", u.name).Output()
	f := strings.Split(strings.TrimSpace(string(pw)), ":")
	if err != nil || len(f) < 4 {
		t.Fatalf("getent passwd %s: %v %q", u.name, err, pw)
	}
	u.uid, u.gid = atoi(t, f[2]), atoi(t, f[3])
	u.xdg = testDir(t, "rootless-xdg")
	for _, d := range []string{u.home, u.xdg} {
		if err := os.Chown(d, u.uid, u.gid); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(u.xdg, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Stat(u.xdg, &st); err != nil || int(st.Uid) != u.uid {
		t.Fatalf("XDG_RUNTIME_DIR %s not the user's: %v", u.xdg, err)
	}
	return u
}

// removeRootlessUser kills what the user left running (by pid), removes
// the files it owns under the test's directories (testDir removes those),
// its subordinate ranges and the user. Anything that stays is an error.
func removeRootlessUser(t *testing.T, u *rootlessUser) {
	for i := 0; i < 50; i++ {
		pids := userProcesses(u.uid)
		if len(pids) == 0 {
			break
		}
		for _, pid := range pids {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if u.uid != 0 {
		// Files the user made (podman's storage, containers' writes) are
		// removed with their directories; some are read-only to root's
		// RemoveAll only through their modes, which root ignores.
		sub := fmt.Sprintf("%d-%d", u.subStart, u.subStart+rootlessSubCount-1)
		exec.Command("usermod", "--del-subuids", sub, "--del-subgids", sub, u.name).Run()
	}
	if out, err := exec.Command("userdel", u.name).CombinedOutput(); err != nil && u.uid != 0 {
		t.Errorf("userdel %s: %v: %s", u.name, err, out)
	}
	for _, f := range []string{"/etc/subuid", "/etc/subgid", "/etc/passwd", "/etc/group"} {
		data, _ := os.ReadFile(f)
		for _, line := range strings.Split(string(data), "\n") {
			if strings.HasPrefix(line, u.name+":") {
				t.Errorf("%s still has %q after userdel", f, line)
			}
		}
	}
}

// userProcesses lists the pids whose real uid is uid.
func userProcesses(uid int) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		status, err := os.ReadFile("/proc/" + e.Name() + "/status")
		if err != nil {
			continue
		}
		if f := strings.Fields(statusField(string(status), "Uid")); len(f) > 0 && f[0] == strconv.Itoa(uid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// env is the user's clean environment (no root's variables), plus extra.
func (u *rootlessUser) env(extra ...string) []string {
	return append([]string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME=" + u.home, "USER=" + u.name, "LOGNAME=" + u.name,
		"XDG_RUNTIME_DIR=" + u.xdg,
	}, extra...)
}

// as is the command line prefix that runs a program as the user.
func (u *rootlessUser) as() []string {
	return []string{"setpriv", "--reuid=" + strconv.Itoa(u.uid), "--regid=" + strconv.Itoa(u.gid), "--clear-groups",
		"--inh-caps=-all", "--"}
}

// runtime is berth as the user, with its state where a non-root caller's
// goes by default ($XDG_RUNTIME_DIR/berth; the harness names it with
// --root, TestRootlessDefaultRoot goes without).
func (u *rootlessUser) runtime(t *testing.T) *runtime {
	t.Helper()
	return &runtime{t: t, bin: runtimeBin(t), root: filepath.Join(u.xdg, "berth"), wrap: u.as(), env: u.env(), user: u}
}

// rootlessBundle is the tests' usual bundle made rootless for u, as
// `berth spec --rootless` shapes a spec: a user namespace mapping
// container root to the user (single: that id alone; else also ids 1-65536
// to its subordinate range), no limits, the rootfs the user's.
func rootlessBundle(t *testing.T, u *rootlessUser, single bool, args ...string) *bundle {
	t.Helper()
	b := newBundle(t, args...)
	rootlessUserNS(t, b, u, single)
	return b
}

// rootlessUserNS gives b a user namespace u can make (see rootlessBundle)
// and hands it the rootfs.
func rootlessUserNS(t *testing.T, b *bundle, u *rootlessUser, single bool) {
	t.Helper()
	b.addNamespace(specs.UserNamespace, "")
	uids := []specs.LinuxIDMapping{{ContainerID: 0, HostID: uint32(u.uid), Size: 1}}
	gids := []specs.LinuxIDMapping{{ContainerID: 0, HostID: uint32(u.gid), Size: 1}}
	if single {
		// gid 5 (tty) is not mapped.
		for i, m := range b.spec.Mounts {
			if m.Destination == "/dev/pts" {
				b.spec.Mounts[i].Options = slicesWithout(m.Options, "gid=5")
			}
		}
	} else {
		uids = append(uids, specs.LinuxIDMapping{ContainerID: 1, HostID: uint32(u.subStart), Size: rootlessSubCount})
		gids = append(gids, specs.LinuxIDMapping{ContainerID: 1, HostID: uint32(u.subStart), Size: rootlessSubCount})
	}
	b.spec.Linux.UIDMappings, b.spec.Linux.GIDMappings = uids, gids
	chownTree(t, b.rootfs, u.uid, u.gid)
}

func slicesWithout(l []string, drop string) []string {
	var out []string
	for _, s := range l {
		if s != drop {
			out = append(out, s)
		}
	}
	return out
}

func chownTree(t *testing.T, dir string, uid, gid int) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// hostIDs reads the real, effective, saved and fs uid (or gid) of pid.
func hostIDs(t *testing.T, pid int, field string) string {
	t.Helper()
	return statusField(readProc(fmt.Sprintf("/proc/%d/status", pid)), field)
}

// TestRootlessSpec: `berth spec --rootless` as the user maps the user's own
// ids, drops the network and cgroup namespaces and the limits, binds /sys,
// and the bundle runs as it is.
func TestRootlessSpec(t *testing.T) {
	u := newRootlessUser(t)
	r := u.runtime(t)
	b := newBundle(t, "true")
	chownTree(t, b.dir, u.uid, u.gid)
	res := r.runCmd(func(c *exec.Cmd) { c.Dir = b.dir }, "spec", "--rootless")
	if res.code != 0 {
		t.Fatalf("spec --rootless: %s", res)
	}
	data, err := os.ReadFile(filepath.Join(b.dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s specs.Spec
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	want := []specs.LinuxIDMapping{{ContainerID: 0, HostID: uint32(u.uid), Size: 1}}
	if fmt.Sprint(s.Linux.UIDMappings) != fmt.Sprint(want) {
		t.Errorf("uidMappings %v, want %v", s.Linux.UIDMappings, want)
	}
	for _, ns := range s.Linux.Namespaces {
		if ns.Type == specs.NetworkNamespace || ns.Type == specs.CgroupNamespace {
			t.Errorf("spec --rootless keeps a %s namespace", ns.Type)
		}
	}
	if s.Linux.Resources != nil {
		t.Errorf("spec --rootless keeps linux.resources %+v", s.Linux.Resources)
	}
	s.Process.Terminal = false
	s.Process.Args = []string{"sh", "-c", "cat /proc/self/uid_map /proc/self/setgroups; awk '$5 == \"/sys\" { print $3 }' /proc/self/mountinfo"}
	b.spec = &s
	out := r.mustRunContainer(b)
	f := strings.Fields(out)
	if len(f) < 5 || strings.Join(f[:4], " ") != fmt.Sprintf("0 %d 1 deny", u.uid) {
		t.Errorf("spec --rootless container: %q, want the map of uid %d alone and setgroups denied", out, u.uid)
	}
	// The host's /sys (bound): the host's sysfs, the same device.
	if got, want := f[len(f)-1], hostSysfsDev(t); got != want {
		t.Errorf("the container's /sys is device %s, want the host's sysfs (%s) bound", got, want)
	}
}

// hostSysfsDev is the device (major:minor in mountinfo) of the host's
// /sys: a bind of it has the same, a sysfs of another network namespace
// another (which telling them apart by their interfaces cannot do on a
// host with lo alone).
func hostSysfsDev(t *testing.T) string {
	t.Helper()
	for _, l := range lines(readProc("/proc/self/mountinfo")) {
		if f := strings.Fields(l); len(f) > 4 && f[4] == "/sys" {
			return f[2]
		}
	}
	t.Fatal("no /sys in the test's /proc/self/mountinfo")
	return ""
}

// TestRootlessLifecycle: create, start, state, exec, ps, kill, delete as
// the user, with its own ids alone mapped and with its subordinate range,
// and no cgroup (none delegated): the container's processes run as the
// user's ids on the host.
func TestRootlessLifecycle(t *testing.T) {
	u := newRootlessUser(t)
	for _, single := range []bool{true, false} {
		t.Run(map[bool]string{true: "own-ids", false: "subuid-range"}[single], func(t *testing.T) {
			r := u.runtime(t)
			b := rootlessBundle(t, u, single, "sh", "-c", "cat /proc/self/setgroups; echo started; exec sleep 1000")
			c := r.create(b)
			if st := r.state(c.id); st.Status != specs.StateCreated || st.Pid == 0 {
				t.Fatalf("state after create: %+v", st)
			}
			// The waiting init is berth's own binary, used in place (root's,
			// not writable by the user): a process of the container cannot
			// write it (CVE-2019-5736).
			before := readProc(r.bin)
			res := r.run("exec", c.id, "sh", "-c", "head -c 4 /proc/1/exe | grep -q ELF && echo readable; echo x >> /proc/1/exe && echo WROTE")
			if !strings.Contains(res.stdout, "readable") || strings.Contains(res.stdout, "WROTE") || readProc(r.bin) != before {
				t.Errorf("the created init's /proc/1/exe: %s", res)
			}
			c.start()
			c.waitOutput("started")
			st := r.waitStatus(c.id, specs.StateRunning)
			wantSetgroups := map[bool]string{true: "deny", false: "allow"}[single]
			if !strings.Contains(c.stdout(), wantSetgroups+"\nstarted") {
				t.Errorf("/proc/self/setgroups: %q, want %s", c.stdout(), wantSetgroups)
			}
			if ids := hostIDs(t, st.Pid, "Uid"); strings.Fields(ids)[0] != strconv.Itoa(u.uid) {
				t.Errorf("the container's root is uid %q on the host, want %d", ids, u.uid)
			}
			if cg := readProc(fmt.Sprintf("/proc/%d/cgroup", st.Pid)); cg != readProc("/proc/self/cgroup") {
				// setpriv ran in the test's cgroup, and berth made none.
				t.Errorf("the container has a cgroup of its own:\n%s\nthe caller's:\n%s", cg, readProc("/proc/self/cgroup"))
			}
			res = r.run("exec", c.id, "sh", "-c", "id -u; cat /proc/self/uid_map | grep -c .")
			if res.code != 0 || !strings.HasPrefix(res.stdout, "0\n") {
				t.Errorf("exec: %s", res)
			}
			if !single {
				// A non-root user of the container is a subordinate id.
				res := r.run("exec", "--user", "1000:1000", c.id, "sh", "-c", "id -u; sleep 0.5 & wait")
				if res.code != 0 || strings.TrimSpace(res.stdout) != "1000" {
					t.Errorf("exec --user 1000: %s", res)
				}
				res = r.run("exec", "--user", "1000:1000", "--additional-gids", "10", c.id, "id", "-G")
				if res.code != 0 || strings.TrimSpace(res.stdout) != "1000 10" {
					t.Errorf("exec with additional gids (setgroups allowed): %s", res)
				}
			} else {
				res := r.run("exec", "--additional-gids", "10", c.id, "true")
				assertErrorLine(t, res, "additionalGids", "setgroups")
			}
			ps := r.run("ps", "--format", "json", c.id)
			var pids []int
			if ps.code != 0 || json.Unmarshal([]byte(ps.stdout), &pids) != nil || len(pids) != 1 || pids[0] != st.Pid {
				t.Errorf("ps --format json: %s, want [%d] (from the pid namespace: no cgroup)", ps, st.Pid)
			}
			for _, cmd := range [][]string{{"pause", c.id}, {"update", "--pids-limit", "10", c.id}} {
				assertErrorLine(t, r.run(cmd...), "no cgroup")
			}
			r.mustRun("kill", c.id, "KILL")
			r.waitStatus(c.id, specs.StateStopped)
			r.mustRun("delete", c.id)
			if _, err := os.Stat(filepath.Join(r.root, c.id)); !os.IsNotExist(err) {
				t.Errorf("state of %s left under %s: %v", c.id, r.root, err)
			}
		})
	}
}

// TestRootlessDefaultRoot: without --root, a non-root caller's state goes
// to $XDG_RUNTIME_DIR/berth, and without XDG_RUNTIME_DIR (and no
// /run/user/UID) create says what to set.
func TestRootlessDefaultRoot(t *testing.T) {
	u := newRootlessUser(t)
	b := rootlessBundle(t, u, true, "true")
	b.write(t)
	run := func(env []string, args ...string) result {
		cmd := exec.Command(u.as()[0], append(append(u.as()[1:], runtimeBin(t)), args...)...)
		cmd.Env = env
		out := outputFiles(t)
		cmd.Stdout, cmd.Stderr = out.stdout, out.stderr
		err := cmd.Run()
		res := out.collect(args)
		res.code = exitCode(t, err, res)
		return res
	}
	id := fmt.Sprintf("brl-%d", os.Getpid())
	if res := run(u.env(), "run", "--bundle", b.dir, id); res.code != 0 {
		t.Fatalf("run without --root: %s", res)
	}
	if _, err := os.Stat(filepath.Join(u.xdg, "berth")); err != nil {
		t.Errorf("no state root under XDG_RUNTIME_DIR: %v", err)
	}
	var env []string
	for _, e := range u.env() {
		if !strings.HasPrefix(e, "XDG_RUNTIME_DIR=") {
			env = append(env, e)
		}
	}
	res := run(env, "run", "--bundle", b.dir, id)
	assertErrorLine(t, res, "XDG_RUNTIME_DIR")

	// An XDG_RUNTIME_DIR another user can write (here root's, as a shared
	// directory would be), with a state root of theirs in it: refused,
	// before anything is made there.
	shared := testDir(t, "rootless-shared-xdg")
	if err := os.Chmod(shared, 0o1777); err != nil {
		t.Fatal(err)
	}
	theirs := filepath.Join(shared, "berth")
	if err := os.Mkdir(theirs, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(theirs, 0o777); err != nil {
		t.Fatal(err)
	}
	res = run(append(env, "XDG_RUNTIME_DIR="+shared), "run", "--bundle", b.dir, id)
	assertErrorLine(t, res, "state root "+theirs+": owner uid 0, mode 0777")
	if entries, _ := os.ReadDir(theirs); len(entries) != 0 {
		t.Errorf("create in another user's state root left %d entries", len(entries))
	}
	// Nor is a state there acted on: another user chose it (the pid kill
	// signals, the hooks delete runs).
	if err := os.Mkdir(filepath.Join(theirs, id), 0o755); err != nil {
		t.Fatal(err)
	}
	state := `{"id":"` + id + `","pid":1,"status":"stopped","config":{"ociVersion":"1.2.0","hooks":{"poststop":[{"path":"/bin/true"}]}}}`
	if err := os.WriteFile(filepath.Join(theirs, id, "state.json"), []byte(state), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"list"}, {"state", id}, {"delete", id}} {
		res = run(append(env, "XDG_RUNTIME_DIR="+shared), args...)
		assertErrorLine(t, res, "state root "+theirs+": owner uid 0, mode 0777")
	}
}

// TestRootlessRefused: what a rootless container cannot have fails create
// with one line that says why and what to do, and leaves nothing behind.
func TestRootlessRefused(t *testing.T) {
	u := newRootlessUser(t)
	mem := int64(64 << 20)
	for _, tc := range []struct {
		name  string
		edit  func(b *bundle)
		env   []string
		extra []string // create's flags
		hints []string
	}{
		{"memory limit without delegation", func(b *bundle) {
			b.spec.Linux.Resources = &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: &mem}}
		}, nil, nil, []string{"linux.resources.memory: a rootless container without a cgroup cannot have limits"}},
		{"pids limit without delegation", func(b *bundle) {
			b.spec.Linux.Resources = &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: ptrInt64(10)}}
		}, nil, nil, []string{"linux.resources.pids", "delegated"}},
		{"cgroupsPath without delegation", func(b *bundle) { b.spec.Linux.CgroupsPath = "/berth-rootless-test" }, nil, nil,
			[]string{`linux.cgroupsPath "/berth-rootless-test": a rootless container cannot create it`}},
		{"veth networking", nil, nil, []string{"--net-bridge", "br-rl-test"}, []string{"built-in veth networking needs root"}},
		{"subordinate range not given to the user", func(b *bundle) {
			b.spec.Linux.UIDMappings[1].HostID = uint32(u.subStart + rootlessSubCount)
		}, nil, nil, []string{"newuidmap", "/etc/subuid gives " + u.name}},
		{"newuidmap missing", nil, []string{"PATH=/nonexistent"}, nil, []string{"needs newuidmap (package uidmap), not found in PATH"}},
		{"additionalGids with setgroups denied", func(b *bundle) {
			b.spec.Linux.UIDMappings, b.spec.Linux.GIDMappings = b.spec.Linux.UIDMappings[:1], b.spec.Linux.GIDMappings[:1]
			b.spec.Process.User.AdditionalGids = []uint32{0}
		}, nil, nil, []string{"process.user.additionalGids [0]: setgroups is denied"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := u.runtime(t)
			if tc.env != nil {
				r.env = u.env(tc.env...)
				r.env = append([]string{}, r.env[1:]...) // PATH replaced
			}
			b := rootlessBundle(t, u, false, "true")
			if tc.edit != nil {
				tc.edit(b)
			}
			if strings.Contains(tc.name, "additionalGids") {
				for i, m := range b.spec.Mounts {
					if m.Destination == "/dev/pts" {
						b.spec.Mounts[i].Options = slicesWithout(m.Options, "gid=5")
					}
				}
			}
			c, res := r.tryCreate(b, tc.extra...)
			if res.code == 0 {
				t.Fatalf("create succeeded: %s", res)
			}
			assertErrorLine(t, res, tc.hints...)
			// Not assertNothingLeft's whole mount table: an unprivileged
			// create can mount nothing on the host (only in the bundle's
			// view of it), and other tests mount meanwhile.
			if m := mountsUnder(b.dir); len(m) > 0 {
				t.Errorf("mounts left under the bundle: %q", m)
			}
			if _, err := os.Stat(filepath.Join(r.root, c.id)); !os.IsNotExist(err) {
				t.Errorf("state directory of the failed create left (%v)", err)
			}
			pids := tokenProcesses(c.id)
			for i := 0; i < 100 && len(pids) > 0; i++ {
				sleepMs(20)
				pids = tokenProcesses(c.id)
			}
			if len(pids) > 0 {
				t.Errorf("processes of the failed create left: %v", pids)
			}
		})
	}
}

// TestRootlessNoUserNSFallbacks: what an unprivileged user namespace cannot
// do is done the other runtimes' way: device nodes are bound from the
// host, a sysfs of a network namespace the container does not own is the
// host's bound, and a bind of a host mount keeps the flags the kernel
// locks (nosuid, nodev, noexec) when it is made read-only.
func TestRootlessNoUserNSFallbacks(t *testing.T) {
	u := newRootlessUser(t)
	r := u.runtime(t)
	vol := testDir(t, "rootless-vol")
	writeFile(t, filepath.Join(vol, "f"), "vol-ok\n")
	chownTree(t, vol, u.uid, u.gid)
	// A host mount with nosuid,nodev,noexec (the test's own tmpfs): a
	// read-only bind of a directory in it keeps them (the kernel locks them
	// in the user namespace), as runc does.
	shm := testDir(t, "rootless-locked")
	if err := syscall.Mount("tmpfs", shm, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV|syscall.MS_NOEXEC, "mode=755"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Unmount(shm, syscall.MNT_DETACH) })
	if err := os.Chown(shm, u.uid, u.gid); err != nil {
		t.Fatal(err)
	}
	b := rootlessBundle(t, u, false, "sh", "-c", `
echo x > /dev/null && head -c 4 /dev/zero | wc -c
grep -E ' /dev/(null|zero) ' /proc/self/mountinfo | wc -l
awk '$5 == "/sys" { print $3 }' /proc/self/mountinfo
cat /vol/f
touch /shm/x 2>/dev/null && echo shm-writable
grep ' /shm ' /proc/self/mountinfo
`)
	b.removeNamespace(specs.NetworkNamespace) // the host's: its sysfs cannot be mounted anew
	b.addMount(specs.Mount{Destination: "/vol", Type: "bind", Source: vol, Options: []string{"bind", "ro"}})
	b.addMount(specs.Mount{Destination: "/shm", Type: "bind", Source: shm, Options: []string{"bind", "ro"}})
	out := r.mustRunContainer(b)
	l := lines(out)
	if len(l) < 5 {
		t.Fatalf("output: %q", out)
	}
	if l[0] != "4" {
		t.Errorf("/dev/zero and /dev/null do not work: %q", out)
	}
	if l[1] != "2" {
		t.Errorf("/dev/null and /dev/zero are not bind mounts of the host's nodes: %q", out)
	}
	if l[2] != hostSysfsDev(t) {
		t.Errorf("/sys is not the host's sysfs (device %s) bound: %q", hostSysfsDev(t), out)
	}
	if l[3] != "vol-ok" {
		t.Errorf("bind volume: %q", out)
	}
	if strings.Contains(out, "shm-writable") {
		t.Errorf("the read-only bind /shm is writable: %q", out)
	}
	m := l[len(l)-1]
	for _, opt := range []string{"ro", "nosuid", "nodev", "noexec"} {
		if f := strings.Fields(m); len(f) < 6 || !hasOpt(f[5], opt) {
			t.Errorf("/shm mount %q lacks %s", m, opt)
		}
	}
}

// TestRootlessDoctor: `berth doctor` as the user has the rootless section:
// its subordinate ranges, the cgroup delegation it lacks on this host, its
// XDG_RUNTIME_DIR; and says what is missing once the ranges are gone.
func TestRootlessDoctor(t *testing.T) {
	u := newRootlessUser(t)
	r := u.runtime(t)
	doctor := func(env []string) map[string]doctorCheck {
		t.Helper()
		r.env = env
		res := r.run("doctor", "--format", "json")
		var list []doctorCheck
		if err := json.Unmarshal([]byte(res.stdout), &list); err != nil {
			t.Fatalf("doctor --format json: %v: %s", err, res)
		}
		m := map[string]doctorCheck{}
		for _, c := range list {
			m[c.Name] = c
		}
		return m
	}
	checks := doctor(u.env())
	sub := fmt.Sprintf("%d-%d", u.subStart, u.subStart+rootlessSubCount-1)
	expect(t, checks, "rootless: subordinate ids", "ok", "/etc/subuid: "+sub+"; /etc/subgid: "+sub)
	expect(t, checks, "rootless: XDG_RUNTIME_DIR", "ok", u.xdg+": mode 0700, owner uid "+strconv.Itoa(u.uid))
	expect(t, checks, "user namespaces", "ok", "probe as uid "+strconv.Itoa(u.uid)+": clone(CLONE_NEWUSER) made one")
	expect(t, checks, "newuidmap/newgidmap", "ok", "newuidmap (setuid)")
	expect(t, checks, "privileges", "warn", fmt.Sprintf("running as uid %d: only rootless containers", u.uid))
	// Nothing is delegated to a fresh user on this host (v1, no systemd);
	// on a host that delegates, the check names the cgroups.
	cg := checks["rootless: cgroups"]
	switch {
	case cg.Status == "warn" && strings.Contains(cg.Detail, fmt.Sprintf("no cgroup delegated to uid %d", u.uid)) && strings.Contains(cg.Hint, "Delegate=yes"):
	case cg.Status == "ok" && strings.Contains(cg.Detail, fmt.Sprintf("delegated to uid %d", u.uid)):
	default:
		t.Errorf("rootless: cgroups: %+v", cg)
	}

	var noXDG []string
	for _, e := range u.env() {
		if !strings.HasPrefix(e, "XDG_RUNTIME_DIR=") {
			noXDG = append(noXDG, e)
		}
	}
	if out, err := exec.Command("usermod", "--del-subuids", sub, "--del-subgids", sub, u.name).CombinedOutput(); err != nil {
		t.Fatalf("usermod --del-subuids: %v: %s", err, out)
	}
	checks = doctor(noXDG)
	c := expect(t, checks, "rootless: subordinate ids", "warn", "/etc/subuid: none for "+u.name)
	if !strings.Contains(c.Hint, "usermod --add-subuids") {
		t.Errorf("subordinate ids hint: %q", c.Hint)
	}
	expect(t, checks, "rootless: XDG_RUNTIME_DIR", "warn", fmt.Sprintf("not set, and no /run/user/%d", u.uid))
}

// TestRootlessPodman: podman as the user, with storage of its own (HOME and
// XDG_RUNTIME_DIR private, vfs driver, the image imported from a tarball),
// runs its containers through berth: run --rm, run -it, run -d + exec +
// exec -it + ps + top + stop + rm. podman makes the user namespace (subordinate ids
// through newuidmap) and runs berth as root of it.
func TestRootlessPodman(t *testing.T) {
	u := newRootlessUser(t)
	pm := needTool(t, "podman", "podman")
	needRootlessTool(t, "slirp4netns", "slirp4netns")
	p := podmanAsUser(t, u, pm, u.as(), "cgroupfs")
	podmanAs := p.run
	image := fmt.Sprintf("localhost/berth-rootless-%d:1", os.Getpid())
	podmanAs("import", p.tar, image)

	out := podmanAs("run", "--rm", image, "sh", "-c", "echo podman-ok; id -u; cat /proc/self/uid_map")
	if f := strings.Fields(out); !strings.Contains(out, "podman-ok\n0\n") || len(f) < 8 ||
		strings.Join(f[len(f)-6:], " ") != fmt.Sprintf("0 %d 1 1 %d %d", u.uid, u.subStart, rootlessSubCount) {
		t.Errorf("podman run --rm: %q, want uid 0 mapped to uid %d and the subordinate range", out, u.uid)
	}
	onTerminalEnv(t, "podman run -it", "it-ok", u.env(), p.argv("run", "--rm", "-it", image, "sh", "-c", "tty && echo it-ok"))

	id := strings.TrimSpace(podmanAs("run", "-d", image, "sleep", "1000"))
	id = id[strings.LastIndex(id, "\n")+1:]
	if out := podmanAs("exec", id, "sh", "-c", "echo exec-ok; id -u"); !strings.Contains(out, "exec-ok\n0") {
		t.Errorf("podman exec: %q", out)
	}
	onTerminalEnv(t, "podman exec -it", "exec-it-ok", u.env(), p.argv("exec", "-it", id, "sh", "-c", "tty && echo exec-it-ok"))
	if out := podmanAs("ps", "--format", "{{.ID}} {{.Status}}"); !strings.Contains(out, id[:12]+" Up") {
		t.Errorf("podman ps: %q", out)
	}
	if out := podmanAs("top", id); !strings.Contains(out, "sleep 1000") {
		t.Errorf("podman top: %q", out)
	}
	podmanAs("stop", "-t", "1", id)
	if out := podmanAs("inspect", "-f", "{{.State.Status}}", id); !strings.Contains(out, "exited") {
		t.Errorf("podman inspect after stop: %q", out)
	}
	podmanAs("rm", id)
	if out := podmanAs("ps", "-a", "-q"); strings.TrimSpace(out) != "" {
		t.Errorf("podman ps -a after rm: %q", out)
	}
}

// onTerminalEnv is onTerminal with the environment env.
func onTerminalEnv(t *testing.T, what, want string, env, argv []string) {
	t.Helper()
	out := onPty(t, time.Minute, env, argv)
	if !strings.Contains(out, "/dev/pts/") || !strings.Contains(out, want) {
		t.Errorf("%s: %q", what, out)
	}
}

// TestRootlessDelegatedCgroup: with a cgroup delegated to the user (root
// makes it and chowns it, the way a v1 host or a v2 manager delegates),
// the rootless container gets a cgroup of its own under it and its
// limits; berth leaves the device rules alone (only the host's root may
// set them), as runc does. berth is started inside the delegated cgroup:
// a relative cgroupsPath goes under berth's own cgroup (on v2, under its
// parent, so there berth runs in a leaf of the delegated one).
func TestRootlessDelegatedCgroup(t *testing.T) {
	u := newRootlessUser(t)
	r := u.runtime(t)
	deleg := fmt.Sprintf("/berth-test-%d-rootless", os.Getpid())
	removeCgroupsAtEnd(t, deleg)
	var dirs []string // where berth runs: the delegated cgroup (v2: its leaf "run")
	if isUnified() {
		d := "/sys/fs/cgroup" + deleg
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		writeCgroup(t, d, "cgroup.subtree_control", "+memory +pids")
		if err := os.Mkdir(d+"/run", 0o755); err != nil {
			t.Fatal(err)
		}
		chownTree(t, d, u.uid, u.gid)
		dirs = []string{d + "/run"}
	} else {
		hs, _ := filepath.Glob("/sys/fs/cgroup/*/cgroup.procs")
		for _, procs := range hs {
			d := filepath.Dir(procs) + deleg
			if err := os.Mkdir(d, 0o755); err != nil {
				t.Fatal(err)
			}
			if strings.HasSuffix(filepath.Dir(procs), "/cpuset") {
				for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
					writeCgroup(t, d, f, readCgroup(t, filepath.Dir(procs), f))
				}
			}
			chownTree(t, d, u.uid, u.gid)
			dirs = append(dirs, d)
		}
	}
	// setpriv runs in the delegated cgroup: root moves the shell there
	// first, which then becomes the user and execs berth.
	var move strings.Builder
	for _, d := range dirs {
		fmt.Fprintf(&move, "echo $$ > %s/cgroup.procs && ", d)
	}
	r.wrap = append([]string{"sh", "-c", move.String() + `exec "$@"`, "sh"}, u.as()...)

	res := r.run("doctor", "--format", "json")
	var checks []doctorCheck
	if err := json.Unmarshal([]byte(res.stdout), &checks); err != nil {
		t.Fatalf("doctor: %v: %s", err, res)
	}
	for _, c := range checks {
		if c.Name == "rootless: cgroups" && (c.Status != "ok" || !strings.Contains(c.Detail, fmt.Sprintf("delegated to uid %d", u.uid))) {
			t.Errorf("doctor in the delegated cgroup: %+v", c)
		}
	}

	b := rootlessBundle(t, u, false, "sleep", "1000")
	mem, pids := int64(64<<20), int64(50)
	b.spec.Linux.Resources = &specs.LinuxResources{
		Memory:  &specs.LinuxMemory{Limit: &mem},
		Pids:    &specs.LinuxPids{Limit: &pids},
		Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}},
	}
	c := r.create(b)
	st := r.state(c.id)
	if got := cgroupFile(t, st.Pid, "memory", "memory.limit_in_bytes", "memory.max"); got != "67108864" {
		t.Errorf("memory limit %q, want 67108864", got)
	}
	if got := cgroupFile(t, st.Pid, "pids", "pids.max", "pids.max"); got != "50" {
		t.Errorf("pids limit %q, want 50", got)
	}
	cg := readProc(fmt.Sprintf("/proc/%d/cgroup", st.Pid))
	if !strings.Contains(cg, deleg+"/"+c.id) {
		t.Errorf("the container is not in a cgroup of its own under %s:\n%s", deleg, cg)
	}
	r.mustRun("update", "--pids-limit", "60", c.id)
	if got := cgroupFile(t, st.Pid, "pids", "pids.max", "pids.max"); got != "60" {
		t.Errorf("pids limit after update %q, want 60", got)
	}
	r.mustRun("delete", "--force", c.id)
	for _, d := range dirs {
		if isUnified() {
			d = filepath.Dir(d)
		}
		if _, err := os.Stat(filepath.Join(d, c.id)); err == nil {
			t.Errorf("the container's cgroup %s/%s is left", d, c.id)
		}
	}
}

// TestRootlessTimeNamespaceExec: a rootless container with a time
// namespace of its own (and linux.timeOffsets, written while the init is
// dumpable) takes an exec while created, as one without: the init stays
// dumpable, so the caller may open its /proc/<pid>/ns files.
func TestRootlessTimeNamespaceExec(t *testing.T) {
	u := newRootlessUser(t)
	r := u.runtime(t)
	b := rootlessBundle(t, u, true, "sleep", "1000")
	b.addNamespace(specs.TimeNamespace, "")
	b.spec.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"monotonic": {Secs: 86400}}
	c := r.create(b)
	res := r.run("exec", c.id, "cat", "/proc/self/timens_offsets")
	if res.code != 0 || !strings.Contains(res.stdout, "86400") {
		t.Errorf("exec into the created container: %s", res)
	}
	r.mustRun("kill", c.id, "KILL")
	r.waitStatus(c.id, specs.StateStopped)
	r.mustRun("delete", c.id)
}

// userPodman is podman run as a rootless user, with storage of its own
// (vfs, file events), a given cgroup manager and --runtime berth.
type userPodman struct {
	t      *testing.T
	u      *rootlessUser
	prefix []string // how a command becomes the user's (u.as(), u.inSession)
	base   []string
	// tar is the rootfs tarball, readable by the user for an import.
	tar string
}

// podmanAsUser returns u's podman, whose state is reset when the test ends.
func podmanAsUser(t *testing.T, u *rootlessUser, pm string, prefix []string, cgroupManager string) *userPodman {
	t.Helper()
	tarPath := rootfsTar(t)
	if err := os.Chmod(filepath.Dir(tarPath), 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(tarPath, 0o644)
	p := &userPodman{t: t, u: u, prefix: prefix, tar: tarPath,
		base: []string{pm, "--storage-driver", "vfs", "--cgroup-manager=" + cgroupManager, "--events-backend=file", "--runtime", runtimeBin(t)}}
	t.Cleanup(func() {
		a := p.argv("system", "reset", "-f")
		cmd := exec.Command(a[0], a[1:]...)
		cmd.Env = u.env()
		cmd.Run()
	})
	return p
}

// argv is the command line of podman args as the user.
func (p *userPodman) argv(args ...string) []string {
	return append(append(append([]string(nil), p.prefix...), p.base...), args...)
}

// run runs podman args as the user and returns its output; a failure
// fails the test.
func (p *userPodman) run(args ...string) string {
	p.t.Helper()
	a := p.argv(args...)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, a[0], a[1:]...)
	cmd.Env = p.u.env()
	out, err := cmd.CombinedOutput()
	if err != nil {
		p.t.Fatalf("podman %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}
