package fs1

import (
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"berth/cgroups"
	"berth/cgroups/host"
	"berth/cgroups/internal/cgfs"
	"berth/cgroups/internal/cgtest"
)

func TestMain(m *testing.M) { cgtest.Main(m) }

func ptr[T any](v T) *T { return &v }

// newTest returns a manager for a fresh cgroup of the test's own,
// skipping on hosts without v1 hierarchies.
func newTest(t *testing.T) *Manager {
	t.Helper()
	cgtest.NeedRoot(t)
	h, err := host.Probe()
	if err != nil {
		t.Skip(err)
	}
	if h.Unified || len(h.V1) == 0 {
		t.Skip("no cgroup v1 hierarchies on this host")
	}
	m, err := New(h, cgroups.Config{Path: cgtest.Path()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cgtest.Cleanup(t, m)
	return m
}

func TestV1Lifecycle(t *testing.T) {
	m := newTest(t)
	h := cgtest.StartHelper(t, nil)
	if err := m.Apply(h.Pid()); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(h.Pid()) + "/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	in := host.ProcCgroups(string(b))
	for ctrl := range m.paths {
		key := ctrl
		if ctrl == cgroups.UnifiedKey {
			key = ""
		}
		if in[key] != m.Path() {
			t.Errorf("helper is in %s:%s, want %s", ctrl, in[key], m.Path())
		}
	}

	_, hasMemsw := os.Stat(m.paths["memory"] + "/memory.memsw.limit_in_bytes")
	r := &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: ptr[int64](64 << 20), Reservation: ptr[int64](32 << 20)},
		Pids:   &specs.LinuxPids{Limit: ptr[int64](50)},
		CPU:    &specs.LinuxCPU{Shares: ptr[uint64](512), Quota: ptr[int64](50000), Period: ptr[uint64](100000), Cpus: "0", Mems: "0"},
		Devices: []specs.LinuxDeviceCgroup{
			{Allow: false, Access: "rwm"},
			{Allow: true, Type: "c", Major: ptr[int64](1), Minor: ptr[int64](11), Access: "r"},
		},
	}
	if hasMemsw == nil {
		r.Memory.Swap = ptr[int64](128 << 20)
	}
	if err := m.Set(r); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ ctrl, file, want string }{
		{"memory", "memory.limit_in_bytes", "67108864"},
		{"memory", "memory.soft_limit_in_bytes", "33554432"},
		{"pids", "pids.max", "50"},
		{"cpu", "cpu.shares", "512"},
		{"cpu", "cpu.cfs_quota_us", "50000"},
		{"cpu", "cpu.cfs_period_us", "100000"},
		{"cpuset", "cpuset.cpus", "0"},
		{"cpuset", "cpuset.mems", "0"},
	} {
		if got := cgtest.ReadBack(t, m.paths[c.ctrl], c.file); got != c.want {
			t.Errorf("%s = %q, want %q", c.file, got, c.want)
		}
	}
	if hasMemsw == nil {
		if got := cgtest.ReadBack(t, m.paths["memory"], "memory.memsw.limit_in_bytes"); got != "134217728" {
			t.Errorf("memsw = %s", got)
		}
	}
	list := cgtest.ReadBack(t, m.paths["devices"], "devices.list")
	if !strings.Contains(list, "c 1:11 r\n") || strings.Contains(list, "a *:*") {
		t.Errorf("devices.list =\n%s", list)
	}

	cgtest.CheckDevices(t, h)

	// Setting the same list again leaves devices.list alone.
	if err := m.Set(r); err != nil {
		t.Fatal(err)
	}

	if err := m.Freeze(); err != nil {
		t.Fatal(err)
	}
	if st, err := m.FreezerState(); err != nil || st != cgroups.Frozen {
		t.Fatalf("FreezerState = %v, %v", st, err)
	}
	if got := h.Ask2(t, "ping", 300*time.Millisecond); got != "<timeout>" {
		t.Fatalf("a frozen helper answered %q", got)
	}
	t.Logf("frozen helper's state in /proc/%d/stat: %s", h.Pid(), cgtest.ProcState(t, h.Pid()))
	if err := m.Thaw(); err != nil {
		t.Fatal(err)
	}
	if got := h.Reply(t, 5*time.Second); got != "ok" {
		t.Fatalf("thawed helper answered %q", got)
	}
	if st, _ := m.FreezerState(); st != cgroups.Thawed {
		t.Fatalf("FreezerState after thaw = %v", st)
	}

	pids, err := m.Pids()
	if err != nil || !slices.Equal(pids, []int{h.Pid()}) {
		t.Fatalf("Pids = %v, %v; want [%d]", pids, err, h.Pid())
	}
	st, err := m.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Memory.Usage.Limit != 64<<20 || st.Memory.Usage.Usage == 0 || st.Pids.Current == 0 || st.Pids.Limit != 50 || st.CPU.Usage.Total == 0 {
		t.Fatalf("stats = %+v", st)
	}

	h2, _ := host.Probe()
	loaded := Load(m.Paths(), h2, false)
	if !maps.Equal(loaded.Paths(), m.Paths()) || loaded.Path() != m.Path() {
		t.Fatalf("Load gave %v %q, want %v %q", loaded.Paths(), loaded.Path(), m.Paths(), m.Path())
	}
	if err := loaded.Signal(unix.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if got := h.WaitExit(t); got != "signal: terminated" {
		t.Fatalf("helper: %s", got)
	}
	if err := loaded.Destroy(); err != nil {
		t.Fatal(err)
	}
	if loaded.Exists() {
		t.Fatalf("cgroup still there: %v", loaded.Paths())
	}
}

func TestV1WriteErrors(t *testing.T) {
	m := newTest(t)
	err := m.Set(&specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: ptr[int64](500)}})
	want := `write "500" to ` + m.paths["cpu"] + `/cpu.cfs_quota_us (linux.resources.cpu.quota): invalid argument`
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v\nwant %s", err, want)
	}
	err = m.Set(&specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: ptr[uint64](1)}})
	if err == nil || !strings.Contains(err.Error(), "linux.resources.cpu.shares: the kernel set") {
		t.Fatalf("clamped shares: %v", err)
	}
	err = m.Set(&specs.LinuxResources{Unified: map[string]string{"memory.high": "1"}})
	if err == nil || !strings.Contains(err.Error(), "cgroup v1 host") {
		t.Fatalf("unified on v1: %v", err)
	}
}

// Destroy removes sub-cgroups the container made, and refuses while a
// process is left, naming it.
func TestV1DestroyBusy(t *testing.T) {
	m := newTest(t)
	cmd := exec.Command("sleep", "100")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	if err := m.Apply(cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(m.paths["memory"], "nested")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	err := m.Destroy()
	if err == nil || !strings.Contains(err.Error(), "processes still in it: "+strconv.Itoa(cmd.Process.Pid)) {
		t.Fatalf("Destroy with a process left: %v", err)
	}
	if d := time.Since(t0); d < cgfs.DestroyTimeout || d > 3*cgfs.DestroyTimeout {
		t.Errorf("Destroy gave up after %v, want about %v", d, cgfs.DestroyTimeout)
	}
	if err := m.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := m.Destroy(); err != nil {
		t.Fatal(err)
	}
	if cgfs.Exists(sub) || m.Exists() {
		t.Fatal("cgroup left behind")
	}
}

// TestV1ApplyCost measures what joining every hierarchy costs: the
// cgroup.procs write of each hierarchy, cold (after a quiet spell) and
// warm. Run with -v to see the numbers.
func TestV1ApplyCost(t *testing.T) {
	cgtest.NeedRoot(t)
	if testing.Short() {
		t.Skip("slow")
	}
	var firsts, rests, totals []time.Duration
	for round := range 5 {
		m := newTest(t)
		if err := m.Create(); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("sleep", "100")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond) // let the kernel's rcu_sync go idle
		var per []string
		t0 := time.Now()
		for i, dir := range m.dirs() {
			w0 := time.Now()
			if err := cgfs.Write(dir, "cgroup.procs", strconv.Itoa(cmd.Process.Pid), ""); err != nil {
				t.Fatal(err)
			}
			d := time.Since(w0)
			per = append(per, filepath.Base(filepath.Dir(dir))+"="+d.Round(time.Microsecond).String())
			if i == 0 {
				firsts = append(firsts, d)
			} else {
				rests = append(rests, d)
			}
		}
		totals = append(totals, time.Since(t0))
		t.Logf("round %d: %d hierarchies in %v: %s", round, len(m.dirs()), totals[round].Round(time.Microsecond), strings.Join(per, " "))
		cmd.Process.Kill()
		cmd.Wait()
	}
	med := func(d []time.Duration) time.Duration { slices.Sort(d); return d[len(d)/2] }
	t.Logf("median: first write %v, each later write %v, all hierarchies %v", med(firsts), med(rests), med(totals))
}

// An OOM kill reaches NotifyOOM and the stats.
func TestV1OOM(t *testing.T) {
	m := newTest(t)
	h := cgtest.StartHelper(t, nil)
	if err := m.Apply(h.Pid()); err != nil {
		t.Fatal(err)
	}
	mem := &specs.LinuxMemory{Limit: ptr[int64](32 << 20)}
	if cgfs.Exists(m.paths["memory"] + "/memory.memsw.limit_in_bytes") {
		mem.Swap = ptr[int64](32 << 20) // no swapping out of trouble
	}
	if err := m.Set(&specs.LinuxResources{Memory: mem}); err != nil {
		t.Fatal(err)
	}
	n, err := m.NotifyOOM()
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	h.Send(t, "alloc 256")
	select {
	case <-n.C:
	case <-time.After(20 * time.Second):
		t.Fatal("no OOM notification")
	}
	if got := h.WaitExit(t); got != "signal: killed" {
		t.Fatalf("helper: %s", got)
	}
	st, err := m.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Memory.OOMKills != 1 || st.Memory.OOMEvents != 1 {
		t.Fatalf("memory stats after the OOM kill: %+v", st.Memory)
	}
	if err := m.Destroy(); err != nil {
		t.Fatal(err)
	}
	select {
	case _, ok := <-n.C:
		if ok {
			// A last notification may still be queued.
			if _, ok := <-n.C; ok {
				t.Fatal("notifier still open after the cgroup went")
			}
		}
	case <-time.After(5 * time.Second):
		t.Fatal("notifier not closed after the cgroup went")
	}
}

func TestNewPlaces(t *testing.T) {
	h := &host.Layout{
		V2Mount: "/sys/fs/cgroup/unified", V2Root: "/",
		V1: []host.Hierarchy{
			{Mountpoint: "/sys/fs/cgroup/cpu,cpuacct", Root: "/", Controllers: []string{"cpu", "cpuacct"}},
			{Mountpoint: "/sys/fs/cgroup/memory", Root: "/", Controllers: []string{"memory"}},
			{Mountpoint: "/sys/fs/cgroup/pids", Root: "/docker/abc", Controllers: []string{"pids"}},
		},
	}
	own := map[string]string{"cpu": "/", "cpuacct": "/", "memory": "/process_api/e9", "pids": "/docker/abc/sub", "": "/"}
	m, err := New(h, cgroups.Config{Path: "ctr", Relative: true}, own)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"cpu":     "/sys/fs/cgroup/cpu,cpuacct/ctr",
		"cpuacct": "/sys/fs/cgroup/cpu,cpuacct/ctr",
		"memory":  "/sys/fs/cgroup/memory/process_api/e9/ctr",
		"pids":    "/sys/fs/cgroup/pids/sub/ctr",
		"unified": "/sys/fs/cgroup/unified/ctr",
	}
	if !maps.Equal(m.Paths(), want) {
		t.Fatalf("relative paths = %v\nwant %v", m.Paths(), want)
	}
	if m.Path() != "/sub/ctr" {
		t.Fatalf("Path() = %q", m.Path())
	}
	m, err = New(h, cgroups.Config{Path: "/berth/ctr"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m.paths["memory"] != "/sys/fs/cgroup/memory/berth/ctr" || m.paths["unified"] != "/sys/fs/cgroup/unified/berth/ctr" || m.Path() != "/berth/ctr" {
		t.Fatalf("absolute paths = %v", m.Paths())
	}
	if len(m.dirs()) != 4 {
		t.Fatalf("dirs = %v, want the co-mounted cpu,cpuacct once", m.dirs())
	}
}
