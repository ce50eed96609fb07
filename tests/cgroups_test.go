package tests

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// cgroupFile reads a cgroup file of the container's init from the host,
// v2 first (unified), then the v1 hierarchy of the controller.
func cgroupFile(t *testing.T, pid int, v1ctrl, v1file, v2file string) string {
	t.Helper()
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		parts := strings.SplitN(l, ":", 3)
		if len(parts) != 3 {
			continue
		}
		var p string
		switch {
		case parts[0] == "0" && parts[1] == "" && isUnified():
			p = "/sys/fs/cgroup" + parts[2] + "/" + v2file
		case strings.Contains(","+parts[1]+",", ","+v1ctrl+","):
			p = "/sys/fs/cgroup/" + v1ctrl + parts[2] + "/" + v1file
		default:
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatalf("read %s: %v", p, err)
		}
		return strings.TrimSpace(string(b))
	}
	t.Fatalf("no %s cgroup for pid %d in %s", v1ctrl, pid, data)
	return ""
}

func isUnified() bool {
	_, err := os.Stat("/sys/fs/cgroup/cgroup.controllers")
	return err == nil
}

func TestCgroupLimitsAndCommands(t *testing.T) {
	r := newRuntime(t)
	b := newBundle(t, "sh", "-c", "sleep 1000 & sleep 1000")
	limit := int64(64 << 20)
	pids := int64(20)
	b.spec.Linux.Resources = &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: &limit},
		Pids:   &specs.LinuxPids{Limit: &pids},
	}
	b.spec.Linux.CgroupsPath = "/berth-test-" + strconv.Itoa(os.Getpid()) + "-" + strconv.FormatInt(idSeq.Add(1), 10)
	c := r.create(b)
	c.start()
	pid := r.state(c.id).Pid

	if got := cgroupFile(t, pid, "memory", "memory.limit_in_bytes", "memory.max"); got != strconv.FormatInt(limit, 10) {
		t.Errorf("memory limit: %s, want %d", got, limit)
	}
	if got := cgroupFile(t, pid, "pids", "pids.max", "pids.max"); got != "20" {
		t.Errorf("pids.max: %s, want 20", got)
	}

	// ps lists the init and its child (once the shell has forked it).
	var ps []int
	for i := 0; ; i++ {
		err := json.Unmarshal([]byte(r.mustRun("ps", "--format", "json", c.id).stdout), &ps)
		if err == nil && len(ps) >= 2 {
			break
		}
		if err != nil || i == 100 {
			t.Fatalf("ps --format json: %v %v", ps, err)
		}
		sleepMs(20)
	}

	r.mustRun("update", "--memory", strconv.FormatInt(2*limit, 10), "--pids-limit", "30", c.id)
	if got := cgroupFile(t, pid, "memory", "memory.limit_in_bytes", "memory.max"); got != strconv.FormatInt(2*limit, 10) {
		t.Errorf("memory limit after update: %s, want %d", got, 2*limit)
	}
	// runc's form with the flags after the id, and sizes with units.
	r.mustRun("update", c.id, "--memory", "160M", "--pids-limit=35")
	if got := cgroupFile(t, pid, "memory", "memory.limit_in_bytes", "memory.max"); got != strconv.Itoa(160<<20) {
		t.Errorf("memory limit after update ID --memory 160M: %s, want %d", got, 160<<20)
	}
	if got := cgroupFile(t, pid, "pids", "pids.max", "pids.max"); got != "35" {
		t.Errorf("pids.max after update ID --pids-limit=35: %s, want 35", got)
	}
	assertErrorLine(t, r.run("update", c.id, "--memory", "1x"), "--memory")
	assertErrorLine(t, r.run("update", c.id, "--bogus", "1"), "argument")
	// dockerd's form: LinuxResources JSON on stdin.
	res := r.runCmd(func(cmd *exec.Cmd) { cmd.Stdin = strings.NewReader(`{"pids":{"limit":40}}`) }, "update", "--resources", "-", c.id)
	if res.code != 0 {
		t.Fatalf("update --resources -: %s", res)
	}
	if got := cgroupFile(t, pid, "pids", "pids.max", "pids.max"); got != "40" {
		t.Errorf("pids.max after update --resources -: %s, want 40", got)
	}

	r.mustRun("pause", c.id)
	if st := r.state(c.id).Status; st != "paused" {
		t.Errorf("status after pause: %s", st)
	}
	assertErrorLine(t, r.run("exec", c.id, "true"), "paused")
	r.mustRun("resume", c.id)
	if st := r.state(c.id).Status; st != specs.StateRunning {
		t.Errorf("status after resume: %s", st)
	}

	var ev struct {
		Type string `json:"type"`
		Data struct {
			Pids struct {
				Current uint64 `json:"current"`
			} `json:"pids"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(r.mustRun("events", "--stats", c.id).stdout), &ev); err != nil || ev.Type != "stats" || ev.Data.Pids.Current < 2 {
		t.Errorf("events --stats: %+v %v", ev, err)
	}

	r.mustRun("kill", "--all", c.id, "KILL")
	r.waitStatus(c.id, specs.StateStopped)
	r.mustRun("delete", c.id)
	if _, err := os.Stat("/sys/fs/cgroup/pids" + b.spec.Linux.CgroupsPath); err == nil {
		t.Errorf("cgroup %s remains after delete", b.spec.Linux.CgroupsPath)
	}
	if _, err := os.Stat("/sys/fs/cgroup" + b.spec.Linux.CgroupsPath); err == nil && isUnified() {
		t.Errorf("cgroup %s remains after delete", b.spec.Linux.CgroupsPath)
	}
}

// TestPsStopped: ps on a stopped container is no error, as with runc: the
// table header alone (or the JSON list, empty) when nothing is left; and
// what its cgroup still holds, such as a child that outlived an init
// without a pid namespace, is listed.
func TestPsStopped(t *testing.T) {
	r := newRuntime(t)
	psJSON := func(id string) []int {
		t.Helper()
		res := r.mustRun("ps", "--format", "json", id)
		var pids []int
		if err := json.Unmarshal([]byte(res.stdout), &pids); err != nil {
			t.Fatalf("ps --format json: %v: %s", err, res)
		}
		return pids
	}

	c := r.create(newBundle(t, "true"))
	c.start()
	r.waitStatus(c.id, specs.StateStopped)
	if out := lines(r.mustRun("ps", c.id).stdout); len(out) != 1 || !strings.Contains(out[0], "PID") {
		t.Errorf("ps of a stopped container: %q, want the header alone", out)
	}
	if pids := psJSON(c.id); len(pids) != 0 {
		t.Errorf("ps --format json of a stopped container: %v, want none", pids)
	}

	b := newShBundle(t, "sleep 1000 & exit 0")
	b.removeNamespace(specs.PIDNamespace)
	c = r.create(b)
	c.start()
	r.waitStatus(c.id, specs.StateStopped)
	pids := psJSON(c.id)
	if len(pids) != 1 {
		t.Fatalf("ps --format json: %v, want the sleep left in the cgroup", pids)
	}
	if cmd, _ := os.ReadFile("/proc/" + strconv.Itoa(pids[0]) + "/cmdline"); !strings.HasPrefix(string(cmd), "sleep\x00") {
		t.Errorf("ps listed pid %d (%q), want the sleep", pids[0], cmd)
	}
	r.mustRun("delete", c.id)
}

// TestCgroupPidsLimitLow: a limit below what berth's own init needs must
// still let the workload start (limits are set once the init is up), and
// then hold for the workload.
func TestCgroupPidsLimitLow(t *testing.T) {
	r := newRuntime(t)
	// No pipeline: its members would race the loop's children for the
	// few pids. Processes are counted in /proc, which needs no fork.
	b := newShBundle(t, "(for i in 1 2 3 4 5 6 7 8; do sleep 5 & done) 2>/dev/null; n=0; for p in /proc/[0-9]*; do n=$((n+1)); done; echo done $n")
	pids := int64(4)
	b.spec.Linux.Resources = &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: &pids}}
	out := strings.TrimSpace(r.mustRunContainer(b))
	var n int
	if _, err := fmt.Sscanf(out, "done %d", &n); err != nil || n < 2 || n > 4 {
		t.Errorf("pids.max 4: want \"done N\" with 2 <= N <= 4 processes, got %q", out)
	}
}

// TestCgroupFrozenRefused: a linux.cgroupsPath naming an existing cgroup
// that is frozen, by itself or through its parent, is refused before
// anything is made or started (runc refuses it too), instead of leaving
// run -d waiting on an init frozen in it. The cgroup stays as it was.
func TestCgroupFrozenRefused(t *testing.T) {
	r := newRuntime(t)
	b := newBundle(t, "true")
	type freezer struct{ mount, file, value string }
	var freezers []freezer
	if isUnified() {
		freezers = append(freezers, freezer{"/sys/fs/cgroup", "cgroup.freeze", "1"})
	} else {
		freezers = append(freezers, freezer{"/sys/fs/cgroup/freezer", "freezer.state", "FROZEN"})
		if _, err := os.Stat("/sys/fs/cgroup/unified/cgroup.procs"); err == nil {
			// A hybrid host's cgroup2 mount has a freezer of its own.
			freezers = append(freezers, freezer{"/sys/fs/cgroup/unified", "cgroup.freeze", "1"})
		}
	}
	for _, f := range freezers {
		for _, viaParent := range []bool{false, true} {
			cg := uniqueCgroup()
			removeCgroupsAtEnd(t, cg)
			frozen, target := f.mount+cg, cg
			if viaParent {
				target = cg + "/child"
			}
			if err := os.MkdirAll(f.mount+target, 0o755); err != nil {
				t.Fatal(err)
			}
			writeCgroup(t, frozen, f.file, f.value)
			b.spec.Linux.CgroupsPath = target
			id, res := r.runContainer(b, "--detach")
			what := fmt.Sprintf("%s=%s in %s, cgroupsPath %s", f.file, f.value, frozen, target)
			assertErrorAll(t, res, "linux.cgroupsPath", f.mount+target, "frozen")
			if _, err := os.Stat(filepath.Join(r.root, id)); !os.IsNotExist(err) {
				t.Errorf("%s: state of %s left (%v)", what, id, err)
			}
			if d := cgroupDirs(cg); len(d) != 1 || d[0] != frozen {
				t.Errorf("%s: cgroup directories after the refusal: %q, want only %s", what, d, frozen)
			}
			if _, err := os.Stat(f.mount + target); err != nil {
				t.Errorf("%s: the existing cgroup was removed: %v", what, err)
			}
		}
	}
}

// TestCgroupCpusetEmptyParent: on cgroup v1 an existing parent whose
// cpuset.cpus and cpuset.mems are empty (a pod cgroup an engine made and
// left empty) gets them from its own parent, top down, as with runc, so
// the container can join below it; the sets it had stay.
func TestCgroupCpusetEmptyParent(t *testing.T) {
	if isUnified() {
		t.Skip("cgroup v2: cpuset.cpus and cpuset.mems start as the parent's there")
	}
	const mount = "/sys/fs/cgroup/cpuset"
	r := newRuntime(t)
	top := uniqueCgroup()
	removeCgroupsAtEnd(t, top)
	pod := top + "/pod"
	if err := os.MkdirAll(mount+pod, 0o755); err != nil {
		t.Fatal(err)
	}
	rootCpus, rootMems := readCgroup(t, mount, "cpuset.cpus"), readCgroup(t, mount, "cpuset.mems")
	// The top level has cpus but no mems; the pod has neither.
	writeCgroup(t, mount+top, "cpuset.cpus", rootCpus)
	for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
		if got := readCgroup(t, mount+pod, f); got != "" {
			t.Fatalf("new cgroup %s/%s = %q, want empty (cgroup.clone_children set?)", mount+pod, f, got)
		}
	}
	b := newShBundle(t, "grep -E '^(Cpus|Mems)_allowed_list' /proc/self/status")
	b.spec.Linux.CgroupsPath = pod + "/ctr"
	out := r.mustRunContainer(b)
	if want := "Cpus_allowed_list:\t" + rootCpus + "\nMems_allowed_list:\t" + rootMems + "\n"; out != want {
		t.Errorf("container's cpuset: %q, want %q", out, want)
	}
	for _, d := range []string{top, pod} {
		if cpus, mems := readCgroup(t, mount+d, "cpuset.cpus"), readCgroup(t, mount+d, "cpuset.mems"); cpus != rootCpus || mems != rootMems {
			t.Errorf("%s: cpus %q mems %q, want the root's %q %q", mount+d, cpus, mems, rootCpus, rootMems)
		}
	}
	cgroupGone(t, pod+"/ctr")
}

func readCgroup(t *testing.T, dir, file string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}
