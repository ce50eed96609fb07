package cgroups

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
	"golang.org/x/sys/unix"

	"berth/cgroups/ebpf"
)

// newV2Test returns a v2 manager for a fresh cgroup of the test's own at
// the top of the host's cgroup2 mount: /sys/fs/cgroup on a v2 host, the
// controller-less hybrid mount on a v1 host (where the freezer, kill and
// device filter still work). It enables only controllers the mount's root
// already passes down, so the test writes to no cgroup it did not create.
func newV2Test(t *testing.T) (*v2Manager, map[string]bool) {
	t.Helper()
	needRoot(t)
	h, err := probeHost()
	if err != nil {
		t.Skip(err)
	}
	if h.v2Mount == "" {
		t.Skip("no cgroup2 mount on this host")
	}
	on, err := readTrimmed(h.v2Mount, "cgroup.subtree_control")
	if err != nil {
		t.Fatal(err)
	}
	ctrls := fields(on)
	m, err := newV2(h.v2Mount, h.v2Root, testPath(), false, nil)
	if err != nil {
		t.Fatal(err)
	}
	m.controllers = sortedKeys(ctrls)
	cleanupManager(t, m)
	return m, ctrls
}

func TestV2Lifecycle(t *testing.T) {
	m, ctrls := newV2Test(t)
	var h *helper
	if err := StartIn(m, func(fd int) error {
		h = startHelper(t, &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: fd})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(h.pid()) + "/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	if got := procCgroups(string(b))[""]; got != m.path {
		t.Fatalf("helper born in %q, want %q", got, m.path)
	}
	if err := m.Apply(h.pid()); err != nil {
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
		if exists(m.dir + "/memory.swap.max") {
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
		if got := readBack(t, m.dir, file); got != val {
			t.Errorf("%s = %q, want %q", file, got, val)
		}
	}
	checkDevices(t, h)

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
	if st, err := m.FreezerState(); err != nil || st != Frozen {
		t.Fatalf("FreezerState = %v, %v", st, err)
	}
	if got := h.ask2(t, "ping", 300*time.Millisecond); got != "<timeout>" {
		t.Fatalf("a frozen helper answered %q", got)
	}
	if err := m.Thaw(); err != nil {
		t.Fatal(err)
	}
	if got := h.reply(t, 5*time.Second); got != "ok" {
		t.Fatalf("thawed helper answered %q", got)
	}

	pids, err := m.Pids()
	if err != nil || !slices.Equal(pids, []int{h.pid()}) {
		t.Fatalf("Pids = %v, %v; want [%d]", pids, err, h.pid())
	}
	st, err := m.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.CPU.Usage.Total == 0 || ctrls["pids"] && st.Pids.Limit != 50 {
		t.Fatalf("stats = %+v", st)
	}

	loaded, err := Load(m.Paths())
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
	if got := h.waitExit(t); got != "signal: killed" {
		t.Fatalf("helper: %s", got)
	}
	if err := loaded.Destroy(); err != nil {
		t.Fatal(err)
	}
	if exists(m.dir) {
		t.Fatal("cgroup left behind")
	}
}

// A privileged list attaches no program; a later restricted one does.
func TestV2DevicesAllowAll(t *testing.T) {
	m, _ := newV2Test(t)
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
	m, _ := newV2Test(t)
	// Only when the root cannot offer rdma at all: Set would otherwise
	// enable it in the root's cgroup.subtree_control, not the test's.
	if avail, err := readTrimmed(m.mount, "cgroup.controllers"); err != nil || fields(avail)["rdma"] {
		t.Skip("the cgroup2 root offers rdma")
	}
	err := m.Set(&specs.LinuxResources{Rdma: map[string]specs.LinuxRdma{"mlx4_0": {HcaHandles: ptr[uint32](1)}}})
	if err == nil || !strings.Contains(err.Error(), "linux.resources.rdma: the rdma controller is not available in "+m.dir) {
		t.Fatalf("error = %v", err)
	}
}

func TestLoadRefusesNonCgroupPaths(t *testing.T) {
	for _, saved := range []map[string]string{
		nil,
		{"unified": "relative/x"},
		{"memory": "/sys/fs/cgroup/memory/../../../etc"},
		{"unified": "/tmp/x"},
	} {
		if _, err := Load(saved); err == nil {
			t.Errorf("Load(%v) accepted", saved)
		}
	}
}

func TestSignalGone(t *testing.T) {
	needRoot(t)
	m, err := NewManager(testPath(), "x")
	if err != nil {
		t.Fatal(err)
	}
	if m.Exists() {
		t.Fatal("exists before Create")
	}
	if pids, err := m.Pids(); err != nil || len(pids) != 0 {
		t.Fatalf("Pids of a missing cgroup = %v, %v", pids, err)
	}
	if err := m.Kill(); err != nil {
		t.Fatalf("Kill of a missing cgroup: %v", err)
	}
	if err := m.Destroy(); err != nil {
		t.Fatalf("Destroy of a missing cgroup: %v", err)
	}
	if err := m.Signal(unix.SIGTERM); err != nil {
		t.Fatalf("Signal of a missing cgroup: %v", err)
	}
}
