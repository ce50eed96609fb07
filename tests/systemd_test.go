package tests

import (
	"context"
	"encoding/json"
	"fmt"
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

// The systemd cgroup driver's tests need systemd as PID 1 and its bus: they
// run in the systemd VM guest (make test-vm, tests/vm/run.sh --guest
// systemd, booted once on cgroup v2 and once hybrid), which fails them
// rather than skipping when systemd is missing or the cgroup mode is not
// the one the run booted (BERTH_VM_CGROUP). On a host without systemd
// they are skipped: the guest runs are where CI runs them.
func requireSystemd(t *testing.T) *runtime {
	t.Helper()
	if fi, err := os.Stat("/run/systemd/system"); err != nil || !fi.IsDir() {
		if os.Getenv("BERTH_VM_GUEST") == "systemd" {
			t.Fatalf("the systemd guest has no /run/systemd/system: systemd is not PID 1")
		}
		t.Skip("systemd is not PID 1 here: the systemd VM guest runs this (make test-vm)")
	}
	if os.Getenv("BERTH_VM_GUEST") == "systemd" {
		want := os.Getenv("BERTH_VM_CGROUP")
		if got := map[bool]string{true: "v2", false: "hybrid"}[isUnified()]; got != want {
			t.Fatalf("the systemd guest booted for cgroup %q is on %s", want, got)
		}
	}
	needTool(t, "systemctl", "systemd")
	r := newRuntime(t)
	r.global = []string{"--systemd-cgroup"}
	return r
}

// unitProps reads properties of a unit with systemctl show.
func unitProps(t *testing.T, unit string, props ...string) map[string]string {
	t.Helper()
	out := sh(t, 30*time.Second, "systemctl", "show", "-p", strings.Join(props, ","), unit)
	m := map[string]string{}
	for _, l := range lines(out) {
		if k, v, ok := strings.Cut(l, "="); ok {
			m[k] = v
		}
	}
	return m
}

// assertUnitGone checks that systemd no longer knows the unit and that its
// cgroup is gone. A slice is different: systemd loads any slice name it is
// asked about (slices need no unit file), so it must be inactive.
func assertUnitGone(t *testing.T, unit, cgroup string) {
	t.Helper()
	gone := func(p map[string]string) bool {
		if strings.HasSuffix(unit, ".slice") {
			return p["ActiveState"] == "inactive" && p["FragmentPath"] == "" && p["Transient"] == "no"
		}
		return p["LoadState"] == "not-found"
	}
	var p map[string]string
	for i := 0; i < 100; i++ {
		p = unitProps(t, unit, "LoadState", "ActiveState", "FragmentPath", "Transient")
		if gone(p) {
			break
		}
		sleepMs(50)
	}
	if !gone(p) {
		t.Errorf("unit %s still known to systemd: %v", unit, p)
	}
	if cgroup != "" {
		assertNoCgroupDirs(t, cgroup)
	}
}

// stopUnitAtEnd stops and forgets a unit (a slice systemd made for a test)
// when the test ends, whatever happened.
func stopUnitAtEnd(t *testing.T, unit string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		exec.CommandContext(ctx, "systemctl", "stop", unit).Run()
		exec.CommandContext(ctx, "systemctl", "reset-failed", unit).Run()
	})
}

func TestSystemdScopeLifecycle(t *testing.T) {
	r := requireSystemd(t)
	b := newBundle(t, "sh", "-c", "sleep 1000 & sleep 1000")
	mem, pids := int64(64<<20), int64(20)
	shares, quota, period := uint64(512), int64(50000), uint64(100000)
	b.spec.Linux.Resources = &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: &mem},
		Pids:   &specs.LinuxPids{Limit: &pids},
		CPU:    &specs.LinuxCPU{Shares: &shares, Quota: &quota, Period: &period, Cpus: "0"},
	}
	// In its own cgroup namespace, whose root is the cgroup the init is
	// in when the stub unshares it: the scope's.
	b.addNamespace(specs.CgroupNamespace, "")
	prefix := fmt.Sprintf("berthtest%d", os.Getpid())
	b.spec.Linux.CgroupsPath = "system.slice:" + prefix + ":life"
	c := r.create(b)
	unit := prefix + "-life.scope"
	cg := "/system.slice/" + unit
	t.Cleanup(func() { stopUnitAtEnd(t, unit) })

	st := r.state(c.id)
	t.Logf("systemctl status %s:\n%s", unit, sh(t, 30*time.Second, "systemctl", "status", "--no-pager", "--lines", "0", unit))
	// cgroup v1 has its own names: MemoryLimit, CPUShares.
	memProp, cpuProp, cpuWant := sdProp("MemoryMax", "MemoryLimit"), sdProp("CPUWeight", "CPUShares"), sdProp("20", "512")
	p := unitProps(t, unit, "ActiveState", "ControlGroup", "Delegate", memProp, "TasksMax",
		cpuProp, "CPUQuotaPerSecUSec", "CPUQuotaPeriodUSec", "Description", "Slice")
	want := map[string]string{
		"ActiveState": "active", "ControlGroup": cg, "Delegate": "yes",
		memProp: strconv.FormatInt(mem, 10), "TasksMax": "20",
		cpuProp: cpuWant, "CPUQuotaPerSecUSec": "500ms", "CPUQuotaPeriodUSec": "100ms",
		"Description": "berth container " + c.id, "Slice": "system.slice",
	}
	for k, v := range want {
		if p[k] != v {
			t.Errorf("created: unit %s %s=%q, want %q", unit, k, p[k], v)
		}
	}
	if got := cgroupFile(t, st.Pid, "memory", "memory.limit_in_bytes", "memory.max"); got != strconv.FormatInt(mem, 10) {
		t.Errorf("memory limit %s, want %d", got, mem)
	}
	if isUnified() {
		if got := cgroupFile(t, st.Pid, "", "", "cpu.max"); got != "50000 100000" {
			t.Errorf("cpu.max %q, want \"50000 100000\"", got)
		}
	} else {
		q, p := cgroupFile(t, st.Pid, "cpu", "cpu.cfs_quota_us", ""), cgroupFile(t, st.Pid, "cpu", "cpu.cfs_period_us", "")
		if q != "50000" || p != "100000" {
			t.Errorf("cpu.cfs_quota_us %s, cpu.cfs_period_us %s, want 50000 and 100000", q, p)
		}
		if got := cgroupFile(t, st.Pid, "cpu", "cpu.shares", ""); got != "512" {
			t.Errorf("cpu.shares %s, want 512", got)
		}
	}
	// AllowedCPUs on v2; on v1, where systemd has no cpuset, the file
	// berth writes in the directory it made.
	if got := cgroupFile(t, st.Pid, "cpuset", "cpuset.cpus", "cpuset.cpus"); got != "0" {
		t.Errorf("cpuset.cpus %q, want \"0\"", got)
	}
	if isUnified() {
		if p := unitProps(t, unit, "AllowedCPUs"); p["AllowedCPUs"] != "0" {
			t.Errorf("AllowedCPUs %q, want \"0\"", p["AllowedCPUs"])
		}
	}
	if why := inCgroup(t, st.Pid, cg); why != "" {
		t.Errorf("init: %s", why)
	}
	procs := unitCgroupProcs(t, cg)
	if len(procs) != 1 || procs[0] != strconv.Itoa(st.Pid) {
		t.Errorf("the scope holds %v, want the init %d alone (berth itself must have left it)", procs, st.Pid)
	}
	own := readFile(t, "/proc/self/cgroup")
	if strings.Contains(own, unit) {
		t.Errorf("the test process is in the container's scope: %s", own)
	}

	c.start()
	var ps []int
	for i := 0; i < 200; i++ {
		json.Unmarshal([]byte(r.mustRun("ps", "--format", "json", c.id).stdout), &ps)
		if len(ps) >= 2 {
			break
		}
		sleepMs(20)
	}
	if len(ps) < 2 {
		t.Errorf("ps: %v, want the init and its child", ps)
	}
	// exec is born in the scope's cgroup.
	out := r.mustRun("exec", c.id, "cat", "/proc/self/cgroup").stdout
	for _, l := range lines(out) {
		if !strings.HasSuffix(l, ":/") {
			t.Errorf("exec's /proc/self/cgroup in the container's cgroup namespace: %q, want / in every hierarchy", out)
			break
		}
	}
	if len(lines(out)) == 0 {
		t.Errorf("exec's /proc/self/cgroup is empty")
	}

	r.mustRun("pause", c.id)
	if s := r.state(c.id).Status; s != "paused" {
		t.Errorf("after pause: %s", s)
	}
	if got, want := frozenFile(t, cg); got != want {
		t.Errorf("freezer after pause: %q, want %q", got, want)
	}
	r.mustRun("resume", c.id)
	if s := r.state(c.id).Status; s != "running" {
		t.Errorf("after resume: %s", s)
	}

	ev := r.mustRun("events", "--stats", c.id).stdout
	var e struct {
		Type string `json:"type"`
		Data struct {
			Memory struct {
				Usage struct {
					Limit uint64 `json:"limit"`
				} `json:"usage"`
			} `json:"memory"`
			Pids struct {
				Current uint64 `json:"current"`
			} `json:"pids"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(ev), &e); err != nil || e.Type != "stats" || e.Data.Pids.Current < 2 {
		t.Errorf("events --stats: %v: %q", err, ev)
	}

	newMem := int64(128 << 20)
	r.mustRun("update", "--memory", strconv.FormatInt(newMem, 10), "--pids-limit", "30", c.id)
	p = unitProps(t, unit, memProp, "TasksMax")
	if p[memProp] != strconv.FormatInt(newMem, 10) || p["TasksMax"] != "30" {
		t.Errorf("after update: unit %v, want %s=%d TasksMax=30", p, memProp, newMem)
	}
	if got := cgroupFile(t, st.Pid, "memory", "memory.limit_in_bytes", "memory.max"); got != strconv.FormatInt(newMem, 10) {
		t.Errorf("memory limit after update %s, want %d", got, newMem)
	}
	if got := cgroupFile(t, st.Pid, "pids", "pids.max", "pids.max"); got != "30" {
		t.Errorf("pids.max after update %s, want 30", got)
	}
	// systemd applies its properties again on a reload: the unit's, not
	// older ones, must come out.
	sh(t, 60*time.Second, "systemctl", "daemon-reload")
	if got := cgroupFile(t, st.Pid, "memory", "memory.limit_in_bytes", "memory.max"); got != strconv.FormatInt(newMem, 10) {
		t.Errorf("memory limit after daemon-reload %s, want %d", got, newMem)
	}
	// The device list systemd applied again still lets the container use
	// its default devices (on v1 systemd rewrites devices.deny/allow) and
	// nothing more.
	if res := r.run("exec", c.id, "sh", "-c", "echo x > /dev/null && head -c1 /dev/zero >/dev/null"); res.code != 0 {
		t.Errorf("/dev/null and /dev/zero after daemon-reload: %s", res)
	}
	if !isUnified() {
		if l := cgroupFile(t, st.Pid, "devices", "devices.list", ""); strings.Contains(l, "a *:* rwm") || !strings.Contains(l, "c 1:3 rwm") {
			t.Errorf("devices.list after daemon-reload: %q, want the default list, not every device", l)
		}
	}

	r.mustRun("kill", "--all", c.id, "KILL")
	r.waitStatus(c.id, "stopped")
	r.mustRun("delete", c.id)
	assertUnitGone(t, unit, cg)
}

func TestSystemdDeleteRunning(t *testing.T) {
	r := requireSystemd(t)
	b := newBundle(t, "sleep", "1000")
	// The empty path is ":berth:<id>", an empty slice system.slice.
	b.spec.Linux.CgroupsPath = ""
	c := r.create(b)
	unit := "berth-" + c.id + ".scope"
	t.Cleanup(func() { stopUnitAtEnd(t, unit) })
	if p := unitProps(t, unit, "ActiveState", "ControlGroup"); p["ActiveState"] != "active" || p["ControlGroup"] != "/system.slice/"+unit {
		t.Fatalf("unit %s: %v", unit, p)
	}
	c.start()
	r.mustRun("delete", "--force", c.id)
	assertUnitGone(t, unit, "/system.slice/"+unit)
}

func TestSystemdSlices(t *testing.T) {
	r := requireSystemd(t)
	top := fmt.Sprintf("berthtest%d", os.Getpid())
	removeSliceDirsAtEnd(t, top+".slice")
	stopUnitAtEnd(t, top+".slice")

	// Nested slices by dashes.
	b := newBundle(t, "sleep", "1000")
	b.spec.Linux.CgroupsPath = top + "-a-b.slice:pre:nested"
	c := r.create(b)
	unit := "pre-nested.scope"
	cg := "/" + top + ".slice/" + top + "-a.slice/" + top + "-a-b.slice/" + unit
	if p := unitProps(t, unit, "ActiveState", "ControlGroup", "Slice"); p["ControlGroup"] != cg || p["Slice"] != top+"-a-b.slice" || p["ActiveState"] != "active" {
		t.Errorf("nested slice: unit %s %v, want ControlGroup %s", unit, p, cg)
	}
	st := r.state(c.id)
	if why := inCgroup(t, st.Pid, cg); why != "" {
		t.Errorf("init: %s", why)
	}
	r.mustRun("delete", "--force", c.id)
	assertUnitGone(t, unit, cg)

	// A slice as the container's unit: placed by its name.
	b = newBundle(t, "sleep", "1000")
	b.spec.Linux.CgroupsPath = ":ignored:" + top + "-ctr.slice"
	c = r.create(b)
	unit = top + "-ctr.slice"
	cg = "/" + top + ".slice/" + unit
	if p := unitProps(t, unit, "ActiveState", "ControlGroup"); p["ControlGroup"] != cg || p["ActiveState"] != "active" {
		t.Errorf("slice unit %s: %v, want active in %s", unit, p, cg)
	}
	st = r.state(c.id)
	if why := inCgroup(t, st.Pid, cg); why != "" {
		t.Errorf("init: %s", why)
	}
	r.mustRun("delete", "--force", c.id)
	assertUnitGone(t, unit, cg)
}

func TestSystemdBadInputLeavesNothing(t *testing.T) {
	r := requireSystemd(t)
	mounts := hostMounts()
	for _, tc := range []struct{ path, hint string }{
		{"a/b.slice:p:n", "slash"},
		{"notaslice:p:n", `ends in ".slice"`},
		{"system.slice:p:", "name"},
		{"system.slice:p q:n", "unit name"},
		{"-a.slice:p:n", "dash"},
		{"system.slice:p:other-x.slice", "lives under other.slice"},
	} {
		b := newBundle(t, "true")
		b.spec.Linux.CgroupsPath = tc.path
		c, res := r.tryCreate(b)
		if res.code == 0 {
			t.Errorf("cgroupsPath %q: create succeeded", tc.path)
			continue
		}
		if !strings.Contains(res.stderr, tc.hint) || !strings.Contains(res.stderr, "linux.cgroupsPath") {
			t.Errorf("cgroupsPath %q: error %q does not name linux.cgroupsPath and %q", tc.path, res.stderr, tc.hint)
		}
		assertNothingLeft(t, r, c.id, mounts)
	}

	prefix := fmt.Sprintf("berthtest%d", os.Getpid())

	// Limits that fail once the unit runs (at the init's hooks point):
	// the unit goes with the failed create.
	b := newBundle(t, "true")
	b.spec.Linux.CgroupsPath = "system.slice:" + prefix + ":badcpus"
	b.spec.Linux.Resources = &specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "0-"}}
	c, res := r.tryCreate(b)
	if res.code == 0 || !strings.Contains(res.stderr, "linux.resources.cpu.cpus") {
		t.Errorf("create with cpus \"0-\": %s", res)
	}
	assertNothingLeft(t, r, c.id, mounts)
	assertUnitGone(t, prefix+"-badcpus.scope", "/system.slice/"+prefix+"-badcpus.scope")

	// A unit that already exists: systemd refuses it, the error names the
	// unit and the D-Bus error, and the first container keeps its unit.
	b = newBundle(t, "sleep", "1000")
	b.spec.Linux.CgroupsPath = "system.slice:" + prefix + ":dup"
	first := r.create(b)
	unit := prefix + "-dup.scope"
	t.Cleanup(func() { stopUnitAtEnd(t, unit) })
	b2 := newBundle(t, "sleep", "1000")
	b2.spec.Linux.CgroupsPath = b.spec.Linux.CgroupsPath
	c, res = r.tryCreate(b2)
	if res.code == 0 {
		t.Fatalf("second create in the same unit succeeded")
	}
	if !strings.Contains(res.stderr, unit) || !strings.Contains(res.stderr, "org.freedesktop.systemd1.UnitExists") {
		t.Errorf("error %q does not name the unit %s and the D-Bus error", res.stderr, unit)
	}
	assertNothingLeft(t, r, c.id, mounts)
	st := r.state(first.id)
	if p := unitProps(t, unit, "ActiveState"); p["ActiveState"] != "active" {
		t.Errorf("the first container's unit after the refused second: %v", p)
	}
	if got := readFile(t, fmt.Sprintf("/proc/%d/cgroup", st.Pid)); !strings.Contains(got, unit) {
		t.Errorf("the first container's init left its unit: %q", got)
	}
	r.mustRun("delete", "--force", first.id)
	assertUnitGone(t, unit, "/system.slice/"+unit)
}

// A create killed at any point leaves at most a state directory that
// delete -f clears, unit included.
func TestSystemdKilledCreate(t *testing.T) {
	r := requireSystemd(t)
	prefix := fmt.Sprintf("berthtest%d", os.Getpid())
	for i, delay := range []time.Duration{0, 5 * time.Millisecond, 20 * time.Millisecond, 60 * time.Millisecond, 150 * time.Millisecond} {
		b := newBundle(t, "sleep", "1000")
		name := "killed" + strconv.Itoa(i)
		b.spec.Linux.CgroupsPath = "system.slice:" + prefix + ":" + name
		unit := prefix + "-" + name + ".scope"
		t.Cleanup(func() { stopUnitAtEnd(t, unit) })
		id := r.newID()
		b.write(t)
		cmd := r.command(context.Background(), "create", "--bundle", b.dir, id)
		out := outputFiles(t)
		cmd.Stdout, cmd.Stderr = out.stdout, out.stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(delay)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		if res := r.run("delete", "--force", id); res.code != 0 && !strings.Contains(res.stderr, "does not exist") {
			t.Errorf("delete -f after create killed at %v: %s", delay, res)
		}
		assertUnitGone(t, unit, "/system.slice/"+unit)
	}
}

// Without --systemd-cgroup a systemd path still fails clearly.
func TestSystemdPathNeedsFlag(t *testing.T) {
	r := newRuntime(t)
	b := newBundle(t, "true")
	b.spec.Linux.CgroupsPath = "system.slice:p:n"
	c, res := r.tryCreate(b)
	if res.code == 0 || !strings.Contains(res.stderr, "--systemd-cgroup") {
		t.Errorf("create with a systemd path and the fs driver: %s", res)
	}
	assertNothingLeft(t, r, c.id, hostMounts())
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A Type=notify unit running `berth run -d` becomes active when the
// container says READY=1, not before, and its main process is then the
// container's init.
func TestSystemdNotifyUnit(t *testing.T) {
	r := requireSystemd(t)
	b := notifyBundle(t)
	prefix := fmt.Sprintf("berthtest%d", os.Getpid())
	b.spec.Linux.CgroupsPath = "system.slice:" + prefix + ":notify"
	id := r.newID()
	b.spec.Process.Env = append(b.spec.Process.Env, tokenVar+"="+id)
	b.write(t)
	unit := prefix + "-notify-svc.service"
	stopUnitAtEnd(t, unit)
	t.Cleanup(func() { r.forceDelete(id) })
	sh(t, 30*time.Second, "systemd-run", "--no-block", "--unit", unit, "-p", "Type=notify", "-p", "TimeoutStartSec=120",
		r.bin, "--root", r.root, "--systemd-cgroup", "run", "-d", "--bundle", b.dir, id)
	// The container waits for /go: the unit must stay activating.
	var p map[string]string
	for i := 0; i < 100; i++ {
		if p = unitProps(t, unit, "ActiveState"); p["ActiveState"] == "activating" {
			if _, err := os.Stat(filepath.Join(r.root, id)); err == nil {
				break
			}
		}
		sleepMs(100)
	}
	sleepMs(1000)
	if p = unitProps(t, unit, "ActiveState", "SubState"); p["ActiveState"] != "activating" {
		t.Fatalf("before READY=1: unit %s %v, want activating", unit, p)
	}
	writeFile(t, filepath.Join(b.rootfs, "go"), "")
	for i := 0; i < 300; i++ {
		if p = unitProps(t, unit, "ActiveState", "MainPID"); p["ActiveState"] == "active" {
			break
		}
		sleepMs(100)
	}
	st := r.state(id)
	if p["ActiveState"] != "active" || p["MainPID"] != strconv.Itoa(st.Pid) {
		t.Errorf("after READY=1: unit %s %v, want active with MainPID %d (the container's init)", unit, p, st.Pid)
	}
	r.mustRun("delete", "--force", id)
	assertUnitGone(t, prefix+"-notify.scope", "/system.slice/"+prefix+"-notify.scope")
}

// doctor's systemd line: PID 1, the bus, the version.
func TestSystemdDoctor(t *testing.T) {
	r := requireSystemd(t)
	var checks []doctorCheck
	out := r.run("doctor", "--format", "json").stdout
	if err := json.Unmarshal([]byte(out), &checks); err != nil {
		t.Fatalf("doctor --format json: %v\n%s", err, out)
	}
	for _, c := range checks {
		if c.Name == "systemd" {
			mode := sdProp("v2", "hybrid")
			if c.Status != "ok" || !strings.Contains(c.Detail, "is PID 1, its bus answers") || !strings.Contains(c.Detail, "systemd 2") || !strings.Contains(c.Detail, "(cgroup "+mode+")") {
				t.Errorf("doctor systemd: %+v", c)
			}
			return
		}
	}
	t.Errorf("doctor has no systemd check: %s", out)
}

// TestSystemdAloneInScope: berth the only process of a systemd scope
// (systemd-run --scope berth ...) is refused, naming that scope's
// directory (on v1 and hybrid the name=systemd hierarchy's), and leaves
// no unit: moving into the container's scope would empty the caller's,
// which systemd would stop, berth with it. With a shell staying in the
// scope, create goes ahead and berth comes back to it.
func TestSystemdAloneInScope(t *testing.T) {
	r := requireSystemd(t)
	sr := needTool(t, "systemd-run", "systemd")
	mounts := hostMounts()
	r.wrap = []string{sr, "--scope", "--quiet", "--collect", "--"}
	c, res := r.tryCreate(newBundle(t, "true"))
	dir := sdProp("/sys/fs/cgroup/system.slice/run-", "/sys/fs/cgroup/systemd/system.slice/run-")
	assertErrorLine(t, res, "--systemd-cgroup", "only process of its cgroup "+dir, ".scope")
	assertNothingLeft(t, r, c.id, mounts)
	assertUnitGone(t, "berth-"+c.id+".scope", "/system.slice/berth-"+c.id+".scope")

	r.wrap = []string{sr, "--scope", "--quiet", "--collect", "--", "sh", "-c", `"$@"; exit $?`, "sh"}
	c = r.create(newBundle(t, "sleep", "1000"))
	r.wrap = nil
	st := r.state(c.id)
	cg := "/system.slice/berth-" + c.id + ".scope"
	if msg := inCgroup(t, st.Pid, cg); msg != "" {
		t.Error(msg)
	}
	r.mustRun("delete", "--force", c.id)
	assertUnitGone(t, "berth-"+c.id+".scope", cg)
}
