package fs2

import (
	"fmt"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"berth/cgroups/internal/cgtest"
)

// v2Host is a cgroup v2 directory with the files of a modern kernel.
func v2Host() cgtest.Fake {
	return cgtest.Fake{
		"/g/memory.max":      "max",
		"/g/memory.swap.max": "max",
		"/g/memory.current":  "1000000",
		"/g/cpu.max":         "max 100000",
		"/g/cpu.max.burst":   "0",
		"/g/cpu.idle":        "0",
		"/g/io.weight":       "default 100",
		"/g/hugetlb.2MB.max": "max",
		"/g/memory.high":     "max",
		"/g/io.max":          "",
	}
}

func TestPlanV2(t *testing.T) {
	for _, tc := range []struct {
		name  string
		r     *specs.LinuxResources
		host  func(cgtest.Fake)
		want  []string
		warns int
		err   string
	}{
		{name: "nothing", r: nil},
		{
			name: "memory",
			r:    &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr[int64](512 << 20), Swap: ptr[int64](1 << 30), Reservation: ptr[int64](256 << 20)}},
			want: []string{
				"/g/memory.max=536870912 (linux.resources.memory.limit)",
				"/g/memory.swap.max=536870912 (linux.resources.memory.swap)",
				"/g/memory.low=268435456 (linux.resources.memory.reservation)",
			},
		},
		{
			name: "memory unlimited",
			r:    &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr[int64](-1), Swap: ptr[int64](-1)}},
			want: []string{
				"/g/memory.max=max (linux.resources.memory.limit)",
				"/g/memory.swap.max=max (linux.resources.memory.swap)",
			},
		},
		{
			name: "swap without limit",
			r:    &specs.LinuxResources{Memory: &specs.LinuxMemory{Swap: ptr[int64](1 << 30)}},
			err:  "needs memory.limit on cgroup v2",
		},
		{
			name: "no swap accounting",
			r:    &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr[int64](100), Swap: ptr[int64](200)}},
			host: func(f cgtest.Fake) { delete(f, "/g/memory.swap.max") },
			err:  "does not account swap",
		},
		{
			name: "checkBeforeUpdate",
			r:    &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr[int64](4096), CheckBeforeUpdate: ptr(true)}},
			err:  "below the current usage 1000000 (/g/memory.current)",
		},
		{
			name: "v1-only memory knobs warn",
			r: &specs.LinuxResources{Memory: &specs.LinuxMemory{Kernel: ptr[int64](1), KernelTCP: ptr[int64](1), Swappiness: ptr[uint64](0),
				DisableOOMKiller: ptr(true), UseHierarchy: ptr(false)}},
			warns: 5,
		},
		{
			name: "cpu",
			r: &specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: ptr[uint64](1024), Quota: ptr[int64](50000), Period: ptr[uint64](100000),
				Burst: ptr[uint64](1000), Idle: ptr[int64](0), Cpus: "1", Mems: "0"}},
			want: []string{
				"/g/cpu.weight=39 (linux.resources.cpu.shares)",
				"/g/cpu.max=50000 100000 (linux.resources.cpu.quota/period) retry",
				"/g/cpu.max.burst=1000 (linux.resources.cpu.burst) retry",
				"/g/cpu.idle=0 (linux.resources.cpu.idle)",
				"/g/cpuset.cpus=1 (linux.resources.cpu.cpus)",
				"/g/cpuset.mems=0 (linux.resources.cpu.mems)",
			},
		},
		{
			name: "period alone keeps the quota",
			r:    &specs.LinuxResources{CPU: &specs.LinuxCPU{Period: ptr[uint64](50000)}},
			host: func(f cgtest.Fake) { f["/g/cpu.max"] = "20000 100000" },
			want: []string{"/g/cpu.max=20000 50000 (linux.resources.cpu.quota/period)"},
		},
		{
			name: "quota unlimited",
			r:    &specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: ptr[int64](-1)}},
			want: []string{"/g/cpu.max=max (linux.resources.cpu.quota)"},
		},
		{
			name: "shares out of range",
			r:    &specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: ptr[uint64](1)}},
			err:  "cpu.shares: 1 is outside 2..262144",
		},
		{
			name: "realtime",
			r:    &specs.LinuxResources{CPU: &specs.LinuxCPU{RealtimeRuntime: ptr[int64](1000)}},
			err:  "cgroup v2 has no realtime group scheduling",
		},
		{
			name: "pids",
			r:    &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: ptr[int64](100)}},
			want: []string{"/g/pids.max=100 (linux.resources.pids.limit)"},
		},
		{
			name: "io with iocost",
			r: &specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{
				Weight: ptr[uint16](500), LeafWeight: ptr[uint16](10),
				WeightDevice:            []specs.LinuxWeightDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 0}, Weight: ptr[uint16](1000)}},
				ThrottleReadBpsDevice:   []specs.LinuxThrottleDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 0}, Rate: 1048576}},
				ThrottleWriteBpsDevice:  []specs.LinuxThrottleDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 0}, Rate: 0}},
				ThrottleReadIOPSDevice:  []specs.LinuxThrottleDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 259, Minor: 0}, Rate: 100}},
				ThrottleWriteIOPSDevice: []specs.LinuxThrottleDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 259, Minor: 0}, Rate: 50}},
			}},
			want: []string{
				"/g/io.weight=4950 (linux.resources.blockIO.weight)",
				"/g/io.weight=8:0 10000 (linux.resources.blockIO.weightDevice[0].weight)",
				"/g/io.max=8:0 rbps=1048576 (linux.resources.blockIO.throttleReadBpsDevice[0])",
				"/g/io.max=8:0 wbps=max (linux.resources.blockIO.throttleWriteBpsDevice[0])",
				"/g/io.max=259:0 riops=100 (linux.resources.blockIO.throttleReadIOPSDevice[0])",
				"/g/io.max=259:0 wiops=50 (linux.resources.blockIO.throttleWriteIOPSDevice[0])",
			},
			warns: 1,
		},
		{
			name: "io with bfq",
			r:    &specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{Weight: ptr[uint16](5)}},
			host: func(f cgtest.Fake) { f["/g/io.bfq.weight"] = "default 100" },
			want: []string{"/g/io.bfq.weight=5 (linux.resources.blockIO.weight)"},
		},
		{
			name: "io weight range",
			r:    &specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{Weight: ptr[uint16](5)}},
			err:  "blockIO.weight: 5 is outside 10..1000",
		},
		{
			name: "hugetlb",
			r:    &specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 1 << 22}}},
			host: func(f cgtest.Fake) { f["/g/hugetlb.2MB.rsvd.max"] = "max" },
			want: []string{
				"/g/hugetlb.2MB.max=4194304 (linux.resources.hugepageLimits[0].limit)",
				"/g/hugetlb.2MB.rsvd.max=4194304 (linux.resources.hugepageLimits[0].limit)",
			},
		},
		{
			name: "rdma",
			r: &specs.LinuxResources{Rdma: map[string]specs.LinuxRdma{
				"mlx5_1": {HcaHandles: ptr[uint32](3), HcaObjects: ptr[uint32](10000)},
				"mlx4_0": {HcaObjects: ptr[uint32](1000)},
			}},
			want: []string{
				`/g/rdma.max=mlx4_0 hca_object=1000 (linux.resources.rdma["mlx4_0"])`,
				`/g/rdma.max=mlx5_1 hca_handle=3 hca_object=10000 (linux.resources.rdma["mlx5_1"])`,
			},
		},
		{
			name: "network",
			r:    &specs.LinuxResources{Network: &specs.LinuxNetwork{ClassID: ptr[uint32](1)}},
			err:  "cgroup v2 has no net_cls/net_prio",
		},
		{
			name: "unified last, line by line",
			r: &specs.LinuxResources{
				Pids:    &specs.LinuxPids{Limit: ptr[int64](10)},
				Unified: map[string]string{"memory.high": "1073741824", "io.max": "259:0 rbps=2097152 wiops=120\n253:0 rbps=2097152 wiops=120\n"},
			},
			want: []string{
				"/g/pids.max=10 (linux.resources.pids.limit)",
				`/g/io.max=259:0 rbps=2097152 wiops=120 (linux.resources.unified["io.max"])`,
				`/g/io.max=253:0 rbps=2097152 wiops=120 (linux.resources.unified["io.max"])`,
				`/g/memory.high=1073741824 (linux.resources.unified["memory.high"])`,
			},
		},
		{
			name: "unified missing file",
			r:    &specs.LinuxResources{Unified: map[string]string{"misc.max": "x 1"}},
			err:  `linux.resources.unified["misc.max"]: no such file in /g (is the "misc" controller available?`,
		},
		{
			name: "unified path escape",
			r:    &specs.LinuxResources{Unified: map[string]string{"../memory.max": "1"}},
			err:  "not a cgroup file name",
		},
		{
			name: "unified refuses cgroup.procs",
			r:    &specs.LinuxResources{Unified: map[string]string{"cgroup.procs": "1"}},
			err:  "does not let the spec write cgroup.procs",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			host := v2Host()
			if tc.host != nil {
				tc.host(host)
			}
			pl, err := plan(tc.r, "/g", host)
			cgtest.CheckPlan(t, pl, err, tc.err, tc.want, tc.warns)
		})
	}
}

func TestNeeded(t *testing.T) {
	r := &specs.LinuxResources{
		Memory:         &specs.LinuxMemory{Swappiness: ptr[uint64](1)}, // warns only: no controller needed
		CPU:            &specs.LinuxCPU{Cpus: "0"},
		Pids:           &specs.LinuxPids{Limit: ptr[int64](5)},
		HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB"}},
		Unified:        map[string]string{"misc.max": "x 1", "cgroup.max.depth": "3"},
	}
	got := needed(r)
	want := map[string]string{
		"cpuset": "linux.resources.cpu.cpus/mems", "pids": "linux.resources.pids",
		"hugetlb": "linux.resources.hugepageLimits", "misc": `linux.resources.unified["misc.max"]`,
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("needed = %v, want %v", got, want)
	}
}

func TestThrottleV2(t *testing.T) {
	if throttleV2(0) != "max" || throttleV2(1048576) != "1048576" {
		t.Error("throttleV2")
	}
}
