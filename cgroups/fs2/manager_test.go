package fs2

import (
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"berth/cgroups"
	"berth/cgroups/ebpf"
	"berth/cgroups/host"
	"berth/cgroups/internal/cgfs"
	"berth/cgroups/internal/cgtest"
)

// newTest returns a manager for a fresh cgroup of the test's own at
// the top of the host's cgroup2 mount: /sys/fs/cgroup on a v2 host, the
// controller-less hybrid mount on a v1 host (where the freezer, kill and
// device filter still work). It enables only controllers the mount's root
// already passes down, so the test writes to no cgroup it did not create.
func newTest(t *testing.T) (*Manager, map[string]bool) {
	t.Helper()
	cgtest.NeedRoot(t)
	h, err := host.Probe()
	if err != nil {
		t.Skip(err)
	}
	if h.V2Mount == "" {
		t.Skip("no cgroup2 mount on this host")
	}
	on, err := cgfs.ReadTrimmed(h.V2Mount, "cgroup.subtree_control")
	if err != nil {
		t.Fatal(err)
	}
	ctrls := fields(on)
	m, err := New(h.V2Mount, h.V2Root, cgroups.Config{Path: cgtest.Path()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	m.controllers = slices.Sorted(maps.Keys(ctrls))
	cgtest.Cleanup(t, m)
	return m, ctrls
}

func TestMain(m *testing.M) { cgtest.Main(m) }

func ptr[T any](v T) *T { return &v }

func TestV2Lifecycle(t *testing.T) {
	m, ctrls := newTest(t)
	var h *cgtest.Helper
	if err := cgroups.StartIn(m, func(fd int) error {
		h = cgtest.StartHelper(t, &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: fd})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(h.Pid()) + "/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	if got := host.ProcCgroups(string(b))[""]; got != m.path {
		t.Fatalf("helper born in %q, want %q", got, m.path)
	}
	if err := m.Apply(h.Pid()); err != nil {
		t.Fatal(err)
	}

	r := &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{
		{Allow: false, Access: "rwm"},
		{Allow: true, Type: "c", Major: ptr[int64](1), Minor: ptr[int64](11), Access: "r"},
	}}
	var want []string
	if ctrls["pids"] {
		r.Pids = &specs.LinuxPids{Limit: ptr[int64](50)}
		want = append(want, "pids.max=50")
	}
	if ctrls["memory"] {
		r.Memory = &specs.LinuxMemory{Limit: ptr[int64](64 << 20), Reservation: ptr[int64](1 << 20)}
		want = append(want, "memory.max=67108864", "memory.low=1048576")
		if cgfs.Exists(m.dir + "/memory.swap.max") {
			r.Memory.Swap = ptr[int64](96 << 20)
			want = append(want, "memory.swap.max=33554432")
		}
	}
	if ctrls["cpu"] {
		r.CPU = &specs.LinuxCPU{Shares: ptr[uint64](1024), Quota: ptr[int64](50000), Period: ptr[uint64](100000)}
		want = append(want, "cpu.weight=39", "cpu.max=50000 100000")
	}
	t0 := time.Now()
	if err := m.Set(r); err != nil {
		t.Fatal(err)
	}
	t.Logf("Set with the device filter: %v", time.Since(t0))
	for _, w := range want {
		file, val, _ := strings.Cut(w, "=")
		if got := cgtest.ReadBack(t, m.dir, file); got != val {
			t.Errorf("%s = %q, want %q", file, got, val)
		}
	}
	cgtest.CheckDevices(t, h)

	// Set again (an update) replaces the program instead of adding one.
	if err := m.Set(r); err != nil {
		t.Fatal(err)
	}
	dirFile, err := ebpf.OpenCgroup(m.dir)
	if err != nil {
		t.Fatal(err)
	}
	ids, _, err := ebpf.Attached(int(dirFile.Fd()))
	dirFile.Close()
	if err != nil || len(ids) != 1 {
		t.Fatalf("device programs after a second Set: %v, %v", ids, err)
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
	if err := m.Thaw(); err != nil {
		t.Fatal(err)
	}
	if got := h.Reply(t, 5*time.Second); got != "ok" {
		t.Fatalf("thawed helper answered %q", got)
	}

	pids, err := m.Pids()
	if err != nil || !slices.Equal(pids, []int{h.Pid()}) {
		t.Fatalf("Pids = %v, %v; want [%d]", pids, err, h.Pid())
	}
	st, err := m.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.CPU.Usage.Total == 0 || ctrls["pids"] && st.Pids.Limit != 50 {
		t.Fatalf("stats = %+v", st)
	}

	loaded, err := Load(m.mount, m.Paths()[cgroups.UnifiedKey], false)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(loaded.Paths(), m.Paths()) || loaded.Path() != m.path || !loaded.Unified() {
		t.Fatalf("Load gave %v %q", loaded.Paths(), loaded.Path())
	}
	// Kill a frozen cgroup: cgroup.kill (or the fallback) must still
	// kill.
	if err := loaded.Freeze(); err != nil {
		t.Fatal(err)
	}
	if err := loaded.Kill(); err != nil {
		t.Fatal(err)
	}
	if got := h.WaitExit(t); got != "signal: killed" {
		t.Fatalf("helper: %s", got)
	}
	if err := loaded.Destroy(); err != nil {
		t.Fatal(err)
	}
	if cgfs.Exists(m.dir) {
		t.Fatal("cgroup left behind")
	}
}

// A privileged list attaches no program; a later restricted one does.
func TestV2DevicesAllowAll(t *testing.T) {
	m, _ := newTest(t)
	count := func() int {
		f, err := ebpf.OpenCgroup(m.dir)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		ids, _, err := ebpf.Attached(int(f.Fd()))
		if err != nil {
			t.Fatal(err)
		}
		return len(ids)
	}
	if err := m.Set(nil); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 1 {
		t.Fatalf("default list: %d programs", n)
	}
	if err := m.Set(&specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}}}); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 0 {
		t.Fatalf("privileged list: %d programs", n)
	}
}

func TestV2MissingController(t *testing.T) {
	m, _ := newTest(t)
	// Only when the root cannot offer rdma at all: Set would otherwise
	// enable it in the root's cgroup.subtree_control, not the test's.
	if avail, err := cgfs.ReadTrimmed(m.mount, "cgroup.controllers"); err != nil || fields(avail)["rdma"] {
		t.Skip("the cgroup2 root offers rdma")
	}
	err := m.Set(&specs.LinuxResources{Rdma: map[string]specs.LinuxRdma{"mlx4_0": {HcaHandles: ptr[uint32](1)}}})
	if err == nil || !strings.Contains(err.Error(), "linux.resources.rdma: the rdma controller is not available in "+m.dir) {
		t.Fatalf("error = %v", err)
	}
}

func TestNewPlaces(t *testing.T) {
	for _, tc := range []struct {
		own, rel, want string
	}{
		{"/user.slice/user-0.slice/session-1.scope", "ctr", "/user.slice/user-0.slice/ctr"},
		{"/", "ctr", "/ctr"},
		{"/init.scope", "berth/ctr", "/berth/ctr"},
	} {
		m, err := New("/sys/fs/cgroup", "/", cgroups.Config{Path: tc.rel, Relative: true}, map[string]string{"": tc.own})
		if err != nil {
			t.Fatal(err)
		}
		if m.path != tc.want || m.dir != "/sys/fs/cgroup"+tc.want {
			t.Errorf("own %s + %s = %s (%s), want %s", tc.own, tc.rel, m.path, m.dir, tc.want)
		}
	}
	m, _ := New("/sys/fs/cgroup", "/", cgroups.Config{Path: "/kubepods/pod/ctr"}, nil)
	if !maps.Equal(m.Paths(), map[string]string{"unified": "/sys/fs/cgroup/kubepods/pod/ctr"}) {
		t.Fatalf("Paths() = %v", m.Paths())
	}
}
