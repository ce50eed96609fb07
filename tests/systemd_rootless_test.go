package tests

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Rootless under systemd (the systemd VM guest: cgroup v2, systemd as PID
// 1): the test user gets its own systemd manager (user@UID.service, which
// systemd delegates the user's cgroup subtree to) with a session bus, as a
// login with lingering would, and runs berth in a scope of that manager,
// as a terminal of a desktop session does.

// requireUserManagerV2 is requireSystemd for the tests of a user's own
// manager: cgroup v2 only. systemd delegates no v1 hierarchy to a user's
// manager, so on the guest's hybrid boot berth refuses the rootless
// systemd driver (TestSystemdRootlessOnV1) and nothing is delegated.
func requireUserManagerV2(t *testing.T) {
	t.Helper()
	requireSystemd(t)
	if !isUnified() {
		t.Skip("a user's own systemd manager gets no cgroup v1 delegation: the guest's cgroup v2 boot runs this, TestSystemdRootlessOnV1 the refusal here")
	}
}

// TestSystemdRootlessOnV1: on a hybrid host --systemd-cgroup as an
// unprivileged user fails create naming the host's mode, with the user's
// manager and its session bus running, and leaves no state.
func TestSystemdRootlessOnV1(t *testing.T) {
	requireSystemd(t)
	if isUnified() {
		t.Skip("cgroup v2: TestSystemdRootlessScope runs the container under the user's manager")
	}
	u := newRootlessUser(t)
	startUserManager(t, u)
	r := u.runtime(t)
	r.global = []string{"--systemd-cgroup"}
	r.wrap = append(u.inSession(t), "sh", "-c", `"$@"; exit $?`, "sh")
	c, res := r.tryCreate(rootlessBundle(t, u, false, "true"))
	assertErrorLine(t, res, "--systemd-cgroup as an unprivileged user", "cgroups are hybrid", "cgroup v2 host")
	if _, err := os.Stat(r.root + "/" + c.id); !os.IsNotExist(err) {
		t.Errorf("state of the refused create left: %v", err)
	}
}

// startUserManager starts u's systemd manager with its session bus and
// makes /run/user/UID, where it lives, u's XDG_RUNTIME_DIR. The manager
// is stopped at the end, before the user is removed (cleanups run last
// registered first).
func startUserManager(t *testing.T, u *rootlessUser) {
	t.Helper()
	unit := fmt.Sprintf("user@%d.service", u.uid)
	t.Cleanup(func() {
		for _, unit := range []string{unit, fmt.Sprintf("user-runtime-dir@%d.service", u.uid)} {
			if out, err := exec.Command("systemctl", "stop", unit).CombinedOutput(); err != nil {
				t.Errorf("systemctl stop %s: %v: %s", unit, err, out)
			}
		}
	})
	sh(t, time.Minute, "systemctl", "start", unit)
	u.xdg = fmt.Sprintf("/run/user/%d", u.uid)
	for i := 0; ; i++ {
		fi, err := os.Stat(u.xdg + "/bus")
		if err == nil && fi.Mode().Type() == os.ModeSocket {
			return
		}
		if i == 100 {
			t.Fatalf("%s started, but its session bus %s/bus is missing (%v): is dbus-user-session in the guest image?", unit, u.xdg, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// managerCgroup is the cgroup of u's systemd manager.
func (u *rootlessUser) managerCgroup() string {
	return fmt.Sprintf("/user.slice/user-%d.slice/user@%d.service", u.uid, u.uid)
}

// inSession is the command line prefix that runs a program as u in a
// scope of its own manager (opts: more systemd-run options).
func (u *rootlessUser) inSession(t *testing.T, opts ...string) []string {
	t.Helper()
	sr := needTool(t, "systemd-run", "systemd")
	a := append(u.as(), sr, "--user", "--scope", "--quiet", "--collect")
	return append(append(a, opts...), "--")
}

// userUnitProps reads properties of a unit of u's manager.
func userUnitProps(t *testing.T, u *rootlessUser, unit string, props ...string) map[string]string {
	t.Helper()
	a := append(u.as(), "systemctl", "--user", "show", "-p", strings.Join(props, ","), unit)
	cmd := exec.Command(a[0], a[1:]...)
	cmd.Env = u.env()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("systemctl --user show %s: %v: %s", unit, err, out)
	}
	m := map[string]string{}
	for _, l := range lines(string(out)) {
		if k, v, ok := strings.Cut(l, "="); ok {
			m[k] = v
		}
	}
	return m
}

// TestSystemdRootlessScope: --systemd-cgroup as an unprivileged user makes
// the container's scope in the user's own manager (default slice
// user.slice), under user@UID.service, with its limits as unit
// properties and in the cgroup files; update changes them; delete stops
// the unit.
func TestSystemdRootlessScope(t *testing.T) {
	requireUserManagerV2(t)
	u := newRootlessUser(t)
	startUserManager(t, u)
	r := u.runtime(t)
	r.global = []string{"--systemd-cgroup"}
	// berth alone in a scope of the user's: moving into the container's
	// scope to spawn the init would empty it, and systemd stop it.
	r.wrap = u.inSession(t)
	alone, res := r.tryCreate(rootlessBundle(t, u, false, "true"))
	assertErrorLine(t, res, "--systemd-cgroup", "only process of its cgroup", ".scope")
	if p := userUnitProps(t, u, "berth-"+alone.id+".scope", "LoadState"); p["LoadState"] != "not-found" {
		t.Errorf("the refused create left its unit: %v", p)
	}
	// A shell waits in the caller's scope, as in a terminal.
	r.wrap = append(u.inSession(t), "sh", "-c", `"$@"; exit $?`, "sh")
	b := rootlessBundle(t, u, false, "sh", "-c", "echo started; exec sleep 1000")
	mem, pids := int64(64<<20), int64(50)
	b.spec.Linux.Resources = &specs.LinuxResources{
		Memory:  &specs.LinuxMemory{Limit: &mem},
		Pids:    &specs.LinuxPids{Limit: &pids},
		Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}},
	}
	c := r.create(b)
	st := r.state(c.id)
	unit := "berth-" + c.id + ".scope"
	want := u.managerCgroup() + "/user.slice/" + unit
	if cg := readProc(fmt.Sprintf("/proc/%d/cgroup", st.Pid)); cg != "0::"+want+"\n" {
		t.Errorf("the container's cgroup: %q, want %s", cg, want)
	}
	if got := cgroupFile(t, st.Pid, "memory", "memory.limit_in_bytes", "memory.max"); got != "67108864" {
		t.Errorf("memory.max %q, want 67108864", got)
	}
	if got := cgroupFile(t, st.Pid, "pids", "pids.max", "pids.max"); got != "50" {
		t.Errorf("pids.max %q, want 50", got)
	}
	p := userUnitProps(t, u, unit, "ActiveState", "Slice", "ControlGroup", "MemoryMax", "TasksMax")
	if p["ActiveState"] != "active" || p["Slice"] != "user.slice" || p["ControlGroup"] != want || p["MemoryMax"] != "67108864" || p["TasksMax"] != "50" {
		t.Errorf("the user's unit %s: %v", unit, p)
	}
	c.start()
	c.waitOutput("started")
	res = r.run("exec", c.id, "sh", "-c", "echo exec-ok; sleep 0.2")
	if res.code != 0 || !strings.Contains(res.stdout, "exec-ok") {
		t.Errorf("exec: %s", res)
	}
	ps := r.mustRun("ps", "--format", "json", c.id)
	if !strings.Contains(ps.stdout, strconv.Itoa(st.Pid)) {
		t.Errorf("ps: %s, want the init %d (from the scope's cgroup)", ps, st.Pid)
	}
	r.mustRun("update", "--memory", "128M", c.id)
	if p := userUnitProps(t, u, unit, "MemoryMax"); p["MemoryMax"] != strconv.Itoa(128<<20) {
		t.Errorf("MemoryMax after update: %v", p)
	}
	if got := cgroupFile(t, st.Pid, "memory", "memory.limit_in_bytes", "memory.max"); got != strconv.Itoa(128<<20) {
		t.Errorf("memory.max after update %q", got)
	}
	r.mustRun("kill", c.id, "KILL")
	r.waitStatus(c.id, specs.StateStopped)
	r.mustRun("delete", c.id)
	var lp map[string]string
	for i := 0; i < 100; i++ {
		if lp = userUnitProps(t, u, unit, "LoadState"); lp["LoadState"] == "not-found" {
			break
		}
		sleepMs(50)
	}
	if lp["LoadState"] != "not-found" {
		t.Errorf("unit %s still known to the user's manager after delete: %v", unit, lp)
	}
	if _, err := os.Stat("/sys/fs/cgroup" + want); !os.IsNotExist(err) {
		t.Errorf("cgroup %s left after delete: %v", want, err)
	}
}

// TestSystemdRootlessNoUserBus: --systemd-cgroup as an unprivileged user
// without a session bus (no manager of its own) fails create, saying so,
// and leaves no state.
func TestSystemdRootlessNoUserBus(t *testing.T) {
	requireUserManagerV2(t)
	u := newRootlessUser(t)
	r := u.runtime(t)
	r.global = []string{"--systemd-cgroup"}
	c, res := r.tryCreate(rootlessBundle(t, u, false, "true"))
	assertErrorLine(t, res, "--systemd-cgroup", "session bus", u.xdg+"/bus")
	if _, err := os.Stat(r.root + "/" + c.id); !os.IsNotExist(err) {
		t.Errorf("state of the failed create left: %v", err)
	}
}

// TestSystemdRootlessDelegated: without --systemd-cgroup, berth run by the
// user in a scope its manager delegates (Delegate=yes) makes the
// container a cgroup of its own in it, with its limits: berth runs in a
// leaf of the scope ("run"), and the container's relative cgroup goes
// beside it.
func TestSystemdRootlessDelegated(t *testing.T) {
	requireUserManagerV2(t)
	u := newRootlessUser(t)
	startUserManager(t, u)
	r := u.runtime(t)
	r.wrap = u.inSession(t)
	scope := fmt.Sprintf("brl-deleg-%d.scope", os.Getpid())
	b := rootlessBundle(t, u, false, "sleep", "1000")
	mem, pids := int64(64<<20), int64(50)
	b.spec.Linux.Resources = &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: &mem},
		Pids:   &specs.LinuxPids{Limit: &pids},
	}
	create := *r
	create.wrap = append(u.inSession(t, "-p", "Delegate=yes", "--unit="+scope),
		"sh", "-c", `cg=/sys/fs/cgroup$(sed -n 's/^0:://p' /proc/self/cgroup) && mkdir "$cg/run" && echo $$ >"$cg/run/cgroup.procs" && exec "$@"`, "sh")
	c := create.create(b)
	st := r.state(c.id)
	want := u.managerCgroup() + "/app.slice/" + scope + "/" + c.id
	if cg := readProc(fmt.Sprintf("/proc/%d/cgroup", st.Pid)); cg != "0::"+want+"\n" {
		t.Errorf("the container's cgroup: %q, want %s", cg, want)
	}
	if got := cgroupFile(t, st.Pid, "memory", "memory.limit_in_bytes", "memory.max"); got != "67108864" {
		t.Errorf("memory.max %q, want 67108864", got)
	}
	if got := cgroupFile(t, st.Pid, "pids", "pids.max", "pids.max"); got != "50" {
		t.Errorf("pids.max %q, want 50", got)
	}
	r.mustRun("update", "--pids-limit", "60", c.id)
	if got := cgroupFile(t, st.Pid, "pids", "pids.max", "pids.max"); got != "60" {
		t.Errorf("pids.max after update %q, want 60", got)
	}
	res := r.run("exec", c.id, "sh", "-c", "echo exec-ok")
	if res.code != 0 || !strings.Contains(res.stdout, "exec-ok") {
		t.Errorf("exec: %s", res)
	}
	r.mustRun("delete", "--force", c.id)
	if _, err := os.Stat("/sys/fs/cgroup" + want); !os.IsNotExist(err) {
		t.Errorf("the container's cgroup %s is left: %v", want, err)
	}
}

// TestSystemdRootlessPodman: podman as the user, on its own manager
// (--cgroup-manager=systemd, the rootless default on such a host), with
// --runtime berth: berth runs as root of podman's user namespace and
// reaches the user's manager on the session bus; the memory limit is the
// scope's.
func TestSystemdRootlessPodman(t *testing.T) {
	requireUserManagerV2(t)
	u := newRootlessUser(t)
	startUserManager(t, u)
	pm := needTool(t, "podman", "podman")
	upm := podmanAsUser(t, u, pm, u.inSession(t), "systemd")
	podmanAs := upm.run
	image := fmt.Sprintf("localhost/berth-rootless-sd-%d:1", os.Getpid())
	podmanAs("import", upm.tar, image)
	out := podmanAs("run", "--rm", "--network", "none", "--memory", "64m", image, "sh", "-c", "echo podman-ok; cat /sys/fs/cgroup/memory.max")
	if !strings.Contains(out, "podman-ok\n67108864") {
		t.Errorf("podman run --rm --memory 64m: %q, want memory.max 67108864", out)
	}
	id := strings.TrimSpace(podmanAs("run", "-d", "--network", "none", "--memory", "64m", image, "sleep", "1000"))
	id = id[strings.LastIndex(id, "\n")+1:]
	unit := "libpod-" + id + ".scope"
	p := userUnitProps(t, u, unit, "ActiveState", "MemoryMax", "ControlGroup")
	if p["ActiveState"] != "active" || p["MemoryMax"] != "67108864" || !strings.HasPrefix(p["ControlGroup"], u.managerCgroup()+"/") {
		t.Errorf("the user's unit %s: %v", unit, p)
	}
	if b, err := os.ReadFile("/sys/fs/cgroup" + p["ControlGroup"] + "/memory.max"); err != nil || strings.TrimSpace(string(b)) != "67108864" {
		t.Errorf("%s memory.max: %q, %v", unit, b, err)
	}
	if out := podmanAs("exec", id, "sh", "-c", "echo exec-ok"); !strings.Contains(out, "exec-ok") {
		t.Errorf("podman exec: %q", out)
	}
	podmanAs("stop", "-t", "1", id)
	podmanAs("rm", id)
}
