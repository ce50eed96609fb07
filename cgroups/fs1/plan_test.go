package fs1

import (
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"berth/cgroups/devices"
	"berth/cgroups/internal/cgtest"
)

var v1Paths = map[string]string{
	"memory": "/m", "cpu": "/c", "cpuacct": "/c", "cpuset": "/cs", "pids": "/p",
	"blkio": "/b", "devices": "/d", "freezer": "/f", "net_cls": "/n", "net_prio": "/n", "hugetlb": "/h",
}

// v1Host is a v1 cgroup with a modern kernel's files, whose device list
// already is the default one (so device writes stay out of the plans).
func v1Host() cgtest.Fake {
	def, _ := devices.Effective(nil)
	list, _ := devices.V1List(def)
	return cgtest.Fake{
		"/d/devices.list":                   strings.Join(list, "\n"),
		"/m/memory.limit_in_bytes":          "9223372036854771712",
		"/m/memory.memsw.limit_in_bytes":    "9223372036854771712",
		"/m/memory.usage_in_bytes":          "1000000",
		"/m/memory.kmem.limit_in_bytes":     "9223372036854771712",
		"/m/memory.kmem.tcp.limit_in_bytes": "9223372036854771712",
		"/c/cpu.cfs_burst_us":               "0",
		"/c/cpu.idle":                       "0",
		"/c/cpu.rt_runtime_us":              "0",
		"/b/blkio.bfq.weight":               "100",
		"/b/blkio.bfq.weight_device":        "",
		"/h/hugetlb.2MB.limit_in_bytes":     "0",
	}
}

func TestPlanV1(t *testing.T) {
	for _, tc := range []struct {
		name  string
		r     *specs.LinuxResources
		host  func(cgtest.Fake)
		want  []string
		warns int
		err   string
	}{
		{name: "nothing", r: &specs.LinuxResources{}},
		{
			name: "memory raise: memsw first",
			r:    &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr[int64](512 << 20), Swap: ptr[int64](1 << 30), Reservation: ptr[int64](256 << 20)}},
			host: func(f cgtest.Fake) { f["/m/memory.limit_in_bytes"] = "268435456" },
			want: []string{
				"/m/memory.memsw.limit_in_bytes=1073741824 (linux.resources.memory.swap)",
				"/m/memory.limit_in_bytes=536870912 (linux.resources.memory.limit)",
				"/m/memory.soft_limit_in_bytes=268435456 (linux.resources.memory.reservation)",
			},
		},
		{
			name: "memory lower: limit first",
			r:    &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr[int64](64 << 20), Swap: ptr[int64](128 << 20)}},
			want: []string{
				"/m/memory.limit_in_bytes=67108864 (linux.resources.memory.limit)",
				"/m/memory.memsw.limit_in_bytes=134217728 (linux.resources.memory.swap)",
			},
		},
		{
			name: "unlimited memory lifts memsw",
			r:    &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr[int64](-1)}},
			want: []string{
				"/m/memory.memsw.limit_in_bytes=-1 (linux.resources.memory.swap)",
				"/m/memory.limit_in_bytes=-1 (linux.resources.memory.limit)",
			},
		},
		{
			name: "no swap accounting",
			r:    &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr[int64](100), Swap: ptr[int64](200)}},
			host: func(f cgtest.Fake) { delete(f, "/m/memory.memsw.limit_in_bytes") },
			err:  "swapaccount=1",
		},
		{
			name: "no swap accounting, unlimited",
			r:    &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr[int64](-1), Swap: ptr[int64](-1)}},
			host: func(f cgtest.Fake) { delete(f, "/m/memory.memsw.limit_in_bytes") },
			want: []string{"/m/memory.limit_in_bytes=-1 (linux.resources.memory.limit)"},
		},
		{
			name: "swap below limit",
			r:    &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr[int64](200), Swap: ptr[int64](100)}},
			err:  "memory.swap: 100 is below memory.limit 200",
		},
		{
			name: "checkBeforeUpdate",
			r:    &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr[int64](4096), CheckBeforeUpdate: ptr(true)}},
			err:  "below the current usage 1000000",
		},
		{
			name: "memory knobs",
			r: &specs.LinuxResources{Memory: &specs.LinuxMemory{
				Kernel: ptr[int64](1 << 20), KernelTCP: ptr[int64](1 << 20), Swappiness: ptr[uint64](10),
				DisableOOMKiller: ptr(true), UseHierarchy: ptr(true),
			}},
			want: []string{
				"/m/memory.kmem.limit_in_bytes=1048576 (linux.resources.memory.kernel)",
				"/m/memory.kmem.tcp.limit_in_bytes=1048576 (linux.resources.memory.kernelTCP)",
				"/m/memory.swappiness=10 (linux.resources.memory.swappiness)",
				"/m/memory.oom_control=1 (linux.resources.memory.disableOOMKiller)",
				"/m/memory.use_hierarchy=1 (linux.resources.memory.useHierarchy)",
			},
		},
		{
			name:  "kernel memory gone",
			r:     &specs.LinuxResources{Memory: &specs.LinuxMemory{Kernel: ptr[int64](1 << 20)}},
			host:  func(f cgtest.Fake) { delete(f, "/m/memory.kmem.limit_in_bytes") },
			warns: 1,
		},
		{
			name: "swappiness range",
			r:    &specs.LinuxResources{Memory: &specs.LinuxMemory{Swappiness: ptr[uint64](101)}},
			err:  "swappiness: 101 is above 100",
		},
		{
			name: "cpu",
			r: &specs.LinuxResources{CPU: &specs.LinuxCPU{
				Shares: ptr[uint64](512), Quota: ptr[int64](50000), Period: ptr[uint64](100000), Burst: ptr[uint64](1000),
				RealtimePeriod: ptr[uint64](1000000), RealtimeRuntime: ptr[int64](950000), Idle: ptr[int64](1),
				Cpus: "0-1", Mems: "0",
			}},
			want: []string{
				"/c/cpu.shares=512 (linux.resources.cpu.shares)",
				"/c/cpu.cfs_period_us=100000 (linux.resources.cpu.period) retry",
				"/c/cpu.cfs_quota_us=50000 (linux.resources.cpu.quota) retry",
				"/c/cpu.cfs_burst_us=1000 (linux.resources.cpu.burst) retry",
				"/c/cpu.rt_period_us=1000000 (linux.resources.cpu.realtimePeriod) retry",
				"/c/cpu.rt_runtime_us=950000 (linux.resources.cpu.realtimeRuntime) retry",
				"/c/cpu.idle=1 (linux.resources.cpu.idle)",
				"/cs/cpuset.cpus=0-1 (linux.resources.cpu.cpus)",
				"/cs/cpuset.mems=0 (linux.resources.cpu.mems)",
			},
		},
		{
			name: "quota alone, unlimited",
			r:    &specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: ptr[int64](-5)}},
			want: []string{"/c/cpu.cfs_quota_us=-1 (linux.resources.cpu.quota)"},
		},
		{
			name: "no rt group scheduling",
			r:    &specs.LinuxResources{CPU: &specs.LinuxCPU{RealtimeRuntime: ptr[int64](1000)}},
			host: func(f cgtest.Fake) { delete(f, "/c/cpu.rt_runtime_us") },
			err:  "no realtime group scheduling",
		},
		{
			name: "pids",
			r:    &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: ptr[int64](0)}},
			want: []string{"/p/pids.max=0 (linux.resources.pids.limit)"},
		},
		{
			name: "pids unlimited",
			r:    &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: ptr[int64](-1)}},
			want: []string{"/p/pids.max=max (linux.resources.pids.limit)"},
		},
		{
			name: "blkio on bfq",
			r: &specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{
				Weight: ptr[uint16](300), LeafWeight: ptr[uint16](10),
				WeightDevice:            []specs.LinuxWeightDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 0}, Weight: ptr[uint16](500)}},
				ThrottleReadBpsDevice:   []specs.LinuxThrottleDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 0}, Rate: 1048576}},
				ThrottleWriteIOPSDevice: []specs.LinuxThrottleDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 16}, Rate: 300}},
			}},
			want: []string{
				"/b/blkio.bfq.weight=300 (linux.resources.blockIO.weight)",
				"/b/blkio.bfq.weight_device=8:0 500 (linux.resources.blockIO.weightDevice[0].weight)",
				"/b/blkio.throttle.read_bps_device=8:0 1048576 (linux.resources.blockIO.throttleReadBpsDevice[0])",
				"/b/blkio.throttle.write_iops_device=8:16 300 (linux.resources.blockIO.throttleWriteIOPSDevice[0])",
			},
			warns: 1,
		},
		{
			name: "blkio on cfq",
			r:    &specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{Weight: ptr[uint16](300)}},
			host: func(f cgtest.Fake) { f["/b/blkio.weight"] = "500" },
			want: []string{"/b/blkio.weight=300 (linux.resources.blockIO.weight)"},
		},
		{
			name: "hugetlb",
			r:    &specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 4 << 21}}},
			host: func(f cgtest.Fake) { f["/h/hugetlb.2MB.rsvd.limit_in_bytes"] = "0" },
			want: []string{
				"/h/hugetlb.2MB.limit_in_bytes=8388608 (linux.resources.hugepageLimits[0].limit)",
				"/h/hugetlb.2MB.rsvd.limit_in_bytes=8388608 (linux.resources.hugepageLimits[0].limit)",
			},
		},
		{
			name: "hugetlb unknown size",
			r:    &specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "1GB", Limit: 1}}},
			err:  `hugepageLimits[0].pageSize: "1GB" is not a huge page size of this host`,
		},
		{
			name: "network",
			r:    &specs.LinuxResources{Network: &specs.LinuxNetwork{ClassID: ptr[uint32](0x100001), Priorities: []specs.LinuxInterfacePriority{{Name: "eth0", Priority: 5}}}},
			want: []string{
				"/n/net_cls.classid=1048577 (linux.resources.network.classID)",
				"/n/net_prio.ifpriomap=eth0 5 (linux.resources.network.priorities[0])",
			},
		},
		{
			name: "rdma not mounted",
			r:    &specs.LinuxResources{Rdma: map[string]specs.LinuxRdma{"mlx4_0": {HcaHandles: ptr[uint32](2)}}},
			err:  "linux.resources.rdma: the rdma controller is not mounted",
		},
		{
			name: "unified on v1",
			r:    &specs.LinuxResources{Unified: map[string]string{"memory.high": "1G"}},
			err:  `linux.resources.unified["memory.high"]: cgroup v2 files cannot be written on this cgroup v1 host`,
		},
		{
			name: "device list changes",
			r:    &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: true, Type: "c", Major: ptr[int64](10), Minor: ptr[int64](200), Access: "rwm"}}},
			want: []string{
				"/d/devices.deny=a (default deny-all)",
				"/d/devices.allow=c 10:200 rwm (linux.resources.devices[0])",
				"/d/devices.allow=c 1:3 rwm (default allow-list (/dev/null))",
				"/d/devices.allow=c 1:5 rwm (default allow-list (/dev/zero))",
				"/d/devices.allow=c 1:7 rwm (default allow-list (/dev/full))",
				"/d/devices.allow=c 5:0 rwm (default allow-list (/dev/tty))",
				"/d/devices.allow=c 1:8 rwm (default allow-list (/dev/random))",
				"/d/devices.allow=c 1:9 rwm (default allow-list (/dev/urandom))",
				"/d/devices.allow=c 5:1 rwm (default allow-list (/dev/console))",
				"/d/devices.allow=c 5:2 rwm (default allow-list (/dev/ptmx))",
				"/d/devices.allow=c 136:* rwm (default allow-list (/dev/pts/*))",
			},
		},
		{
			name: "bad device rule",
			r:    &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Type: "q"}}},
			err:  `linux.resources.devices[0].type: "q"`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			host := v1Host()
			if tc.host != nil {
				tc.host(host)
			}
			pl, err := plan(tc.r, v1Paths, host)
			cgtest.CheckPlan(t, pl, err, tc.err, tc.want, tc.warns)
		})
	}
}

func TestPlanV1FreshDevices(t *testing.T) {
	host := v1Host()
	host["/d/devices.list"] = "a *:* rwm\n"
	pl, err := plan(nil, v1Paths, host)
	if err != nil {
		t.Fatal(err)
	}
	if len(pl.Writes) != 1+len(devices.Defaults) || pl.Writes[0].Value != "a" || pl.Writes[0].File != "devices.deny" {
		t.Fatalf("a fresh cgroup gets deny-all and the defaults, got %s", cgtest.Show(pl))
	}
	missing := maps2(v1Paths, "devices")
	if _, err := plan(nil, missing, host); err == nil || !strings.Contains(err.Error(), "devices controller is not mounted") {
		t.Fatalf("no devices controller: %v", err)
	}
	priv := &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}}}
	if pl, err := plan(priv, missing, host); err != nil || len(pl.Writes) != 0 {
		t.Fatalf("privileged without a devices controller: %v %v", cgtest.Show(pl), err)
	}
}

func maps2(m map[string]string, drop string) map[string]string {
	out := make(map[string]string)
	for k, v := range m {
		if k != drop {
			out[k] = v
		}
	}
	return out
}
