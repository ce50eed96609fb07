package cgroups

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"berth/cgroups/devices"
)

// fakeCgroup answers a planner's questions from a map of "dir/file" to
// contents.
type fakeCgroup map[string]string

func (f fakeCgroup) exists(dir, file string) bool {
	_, ok := f[dir+"/"+file]
	return ok
}

func (f fakeCgroup) read(dir, file string) (string, error) {
	v, ok := f[dir+"/"+file]
	if !ok {
		return "", &os.PathError{Op: "open", Path: dir + "/" + file, Err: unix.ENOENT}
	}
	return strings.TrimSpace(v), nil
}

func show(pl *plan) []string {
	var out []string
	for _, w := range pl.writes {
		s := w.dir + "/" + w.file + "=" + w.value + " (" + w.field + ")"
		if w.retry {
			s += " retry"
		}
		out = append(out, s)
	}
	return out
}

func ptr[T any](v T) *T { return &v }

var v1Paths = map[string]string{
	"memory": "/m", "cpu": "/c", "cpuacct": "/c", "cpuset": "/cs", "pids": "/p",
	"blkio": "/b", "devices": "/d", "freezer": "/f", "net_cls": "/n", "net_prio": "/n", "hugetlb": "/h",
}

// v1Host is a v1 cgroup with a modern kernel's files, whose device list
// already is the default one (so device writes stay out of the plans).
func v1Host() fakeCgroup {
	def, _ := devices.Effective(nil)
	list, _ := devices.V1List(def)
	return fakeCgroup{
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
		host  func(fakeCgroup)
		want  []string
		warns int
		err   string
	}{
		{name: "nothing", r: &specs.LinuxResources{}},
		{
			name: "memory raise: memsw first",
			r:    &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr[int64](512 << 20), Swap: ptr[int64](1 << 30), Reservation: ptr[int64](256 << 20)}},
			host: func(f fakeCgroup) { f["/m/memory.limit_in_bytes"] = "268435456" },
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
			host: func(f fakeCgroup) { delete(f, "/m/memory.memsw.limit_in_bytes") },
			err:  "swapaccount=1",
		},
		{
			name: "no swap accounting, unlimited",
			r:    &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr[int64](-1), Swap: ptr[int64](-1)}},
			host: func(f fakeCgroup) { delete(f, "/m/memory.memsw.limit_in_bytes") },
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
			host:  func(f fakeCgroup) { delete(f, "/m/memory.kmem.limit_in_bytes") },
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
			host: func(f fakeCgroup) { delete(f, "/c/cpu.rt_runtime_us") },
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
			host: func(f fakeCgroup) { f["/b/blkio.weight"] = "500" },
			want: []string{"/b/blkio.weight=300 (linux.resources.blockIO.weight)"},
		},
		{
			name: "hugetlb",
			r:    &specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 4 << 21}}},
			host: func(f fakeCgroup) { f["/h/hugetlb.2MB.rsvd.limit_in_bytes"] = "0" },
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
			pl, err := planV1(tc.r, v1Paths, host)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := show(pl); !slices.Equal(got, tc.want) {
				t.Fatalf("writes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			if len(pl.warnings) != tc.warns {
				t.Fatalf("warnings %q, want %d", pl.warnings, tc.warns)
			}
		})
	}
}

func TestPlanV1FreshDevices(t *testing.T) {
	host := v1Host()
	host["/d/devices.list"] = "a *:* rwm\n"
	pl, err := planV1(nil, v1Paths, host)
	if err != nil {
		t.Fatal(err)
	}
	if len(pl.writes) != 1+len(devices.Defaults) || pl.writes[0].value != "a" || pl.writes[0].file != "devices.deny" {
		t.Fatalf("a fresh cgroup gets deny-all and the defaults, got %s", show(pl))
	}
	missing := maps2(v1Paths, "devices")
	if _, err := planV1(nil, missing, host); err == nil || !strings.Contains(err.Error(), "devices controller is not mounted") {
		t.Fatalf("no devices controller: %v", err)
	}
	priv := &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}}}
	if pl, err := planV1(priv, missing, host); err != nil || len(pl.writes) != 0 {
		t.Fatalf("privileged without a devices controller: %v %v", show(pl), err)
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

// v2Host is a cgroup v2 directory with the files of a modern kernel.
func v2Host() fakeCgroup {
	return fakeCgroup{
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
		host  func(fakeCgroup)
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
			host: func(f fakeCgroup) { delete(f, "/g/memory.swap.max") },
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
			host: func(f fakeCgroup) { f["/g/cpu.max"] = "20000 100000" },
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
			host: func(f fakeCgroup) { f["/g/io.bfq.weight"] = "default 100" },
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
			host: func(f fakeCgroup) { f["/g/hugetlb.2MB.rsvd.max"] = "max" },
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
			pl, err := planV2(tc.r, "/g", host)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := show(pl); !slices.Equal(got, tc.want) {
				t.Fatalf("writes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			if len(pl.warnings) != tc.warns {
				t.Fatalf("warnings %q, want %d", pl.warnings, tc.warns)
			}
		})
	}
}

func TestNeededV2(t *testing.T) {
	r := &specs.LinuxResources{
		Memory:         &specs.LinuxMemory{Swappiness: ptr[uint64](1)}, // warns only: no controller needed
		CPU:            &specs.LinuxCPU{Cpus: "0"},
		Pids:           &specs.LinuxPids{Limit: ptr[int64](5)},
		HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB"}},
		Unified:        map[string]string{"misc.max": "x 1", "cgroup.max.depth": "3"},
	}
	got := neededV2(r)
	want := map[string]string{
		"cpuset": "linux.resources.cpu.cpus/mems", "pids": "linux.resources.pids",
		"hugetlb": "linux.resources.hugepageLimits", "misc": `linux.resources.unified["misc.max"]`,
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("neededV2 = %v, want %v", got, want)
	}
}

// run writes in order, retries EINVAL writes after the rest, and names
// file, value and field on failure.
func TestPlanRunAndErrors(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	pl := &plan{}
	pl.add(write{dir: dir, file: "a", value: "1", field: "f.a"})
	pl.add(write{dir: dir, file: "missing", value: "512", field: "linux.resources.memory.limit"})
	err := pl.run()
	want := fmt.Sprintf(`write "512" to %s/missing (linux.resources.memory.limit): no such file or directory`, dir)
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v\nwant %s", err, want)
	}
	var we *WriteError
	if !errors.As(err, &we) || !errors.Is(err, unix.ENOENT) {
		t.Fatalf("error %v is not a WriteError wrapping ENOENT", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "a")); string(b) != "1" {
		t.Fatalf("first write did not happen: %q", b)
	}
}
