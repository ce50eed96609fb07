package systemd

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"berth/cgroups/host"
)

func TestResourcePropertiesV1(t *testing.T) {
	r := &specs.LinuxResources{
		Memory:  &specs.LinuxMemory{Limit: i64(64 << 20), Reservation: i64(32 << 20), Swap: i64(128 << 20)},
		CPU:     &specs.LinuxCPU{Shares: u64(512), Quota: i64(50000), Period: u64(100000), Cpus: "0-1", Mems: "0"},
		Pids:    &specs.LinuxPids{Limit: i64(20)},
		BlockIO: &specs.LinuxBlockIO{Weight: u16(300)},
	}
	props, err := ResourcePropertiesV1(r, ParseProcDevices(procDevicesSample))
	if err != nil {
		t.Fatal(err)
	}
	got := propMap(props)
	for k, v := range map[string]any{
		"MemoryLimit":        uint64(64 << 20),
		"CPUShares":          uint64(512),
		"CPUQuotaPerSecUSec": uint64(500000),
		"CPUQuotaPeriodUSec": uint64(100000),
		"TasksMax":           uint64(20),
		"BlockIOWeight":      uint64(300),
		"DevicePolicy":       "strict",
	} {
		if !reflect.DeepEqual(got[k], v) {
			t.Errorf("%s = %#v, want %#v", k, got[k], v)
		}
	}
	// cgroup v2's names, and what systemd has no v1 property for
	// (cpuset, reservation, swap), are files only.
	for _, k := range []string{"MemoryMax", "MemoryLow", "MemorySwapMax", "CPUWeight", "IOWeight", "AllowedCPUs", "AllowedMemoryNodes"} {
		if v, ok := got[k]; ok {
			t.Errorf("%s = %v on cgroup v1", k, v)
		}
	}
	if allow, _ := got["DeviceAllow"].([]DeviceAllow); len(allow) == 0 {
		t.Errorf("DeviceAllow %v: the default device list is missing", got["DeviceAllow"])
	}

	// No limits: -1 is infinity, 0 is left unset.
	got = propMap(mustPropsV1(t, &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: i64(-1)},
		CPU:    &specs.LinuxCPU{Shares: u64(0), Quota: i64(-1)},
		Pids:   &specs.LinuxPids{Limit: i64(-1)},
	}))
	for _, k := range []string{"MemoryLimit", "TasksMax", "CPUQuotaPerSecUSec"} {
		if got[k] != Infinity {
			t.Errorf("%s = %v, want infinity", k, got[k])
		}
	}
	if v, ok := got["CPUShares"]; ok {
		t.Errorf("CPUShares = %v from a 0", v)
	}

	// A device list systemd cannot express is deny-all for systemd on
	// v1, never "auto" (which v1 systemd turns into every device).
	got = propMap(mustPropsV1(t, &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{
		{Allow: true, Access: "rwm"}, {Allow: false, Type: "c", Major: i64(1), Minor: i64(3), Access: "w"},
	}}))
	if got["DevicePolicy"] != "strict" || len(got["DeviceAllow"].([]DeviceAllow)) != 0 {
		t.Errorf("inexpressible list: %v %v, want strict and nothing allowed", got["DevicePolicy"], got["DeviceAllow"])
	}
	// Everything allowed stays "auto".
	got = propMap(mustPropsV1(t, &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}}}))
	if got["DevicePolicy"] != "auto" {
		t.Errorf("allow all: DevicePolicy %v", got["DevicePolicy"])
	}

	if _, err := ResourcePropertiesV1(&specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: true, Type: "x"}}}, ParseProcDevices("")); err == nil {
		t.Error("a bad device rule: no error")
	}
}

func mustPropsV1(t *testing.T, r *specs.LinuxResources) []Prop {
	t.Helper()
	p, err := ResourcePropertiesV1(r, ParseProcDevices(procDevicesSample))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestStartPropertiesV1(t *testing.T) {
	p := propMap(StartPropertiesV1(Unit{"p-n.scope", "system.slice", "/system.slice/p-n.scope"}, "d", 7))
	if p["BlockIOAccounting"] != true {
		t.Errorf("BlockIOAccounting %v", p["BlockIOAccounting"])
	}
	if _, ok := p["IOAccounting"]; ok {
		t.Error("IOAccounting on cgroup v1")
	}
	if !reflect.DeepEqual(p["PIDs"], []uint32{7}) || p["Delegate"] != true {
		t.Errorf("scope: %v", p)
	}
}

func TestOwnDirs(t *testing.T) {
	own := host.ProcCgroups("12:pids:/user.slice\n4:cpu,cpuacct:/user.slice\n1:name=systemd:/user.slice/session-1.scope\n0::/user.slice/session-1.scope\n")
	hybrid := &host.Layout{V2Mount: "/sys/fs/cgroup/unified", V2Root: "/", V1: []host.Hierarchy{
		{Mountpoint: "/sys/fs/cgroup/pids", Root: "/", Controllers: []string{"pids"}},
		{Mountpoint: "/sys/fs/cgroup/cpu,cpuacct", Root: "/", Controllers: []string{"cpu", "cpuacct"}},
		{Mountpoint: "/sys/fs/cgroup/systemd", Root: "/", Controllers: []string{"name=systemd"}},
		{Mountpoint: "/sys/fs/cgroup/freezer", Root: "/", Controllers: []string{"freezer"}}, // not in own: skipped
	}}
	want := []string{
		"/sys/fs/cgroup/pids/user.slice",
		"/sys/fs/cgroup/cpu,cpuacct/user.slice",
		"/sys/fs/cgroup/systemd/user.slice/session-1.scope",
		"/sys/fs/cgroup/unified/user.slice/session-1.scope",
	}
	if got := OwnDirs(hybrid, own); !reflect.DeepEqual(got, want) {
		t.Errorf("hybrid: %v, want %v", got, want)
	}
	v2 := &host.Layout{Unified: true, V2Mount: "/sys/fs/cgroup", V2Root: "/"}
	if got := OwnDirs(v2, host.ProcCgroups("0::/\n")); !reflect.DeepEqual(got, []string{"/sys/fs/cgroup"}) {
		t.Errorf("v2 at the root: %v", got)
	}
	// A mount of a subtree (inside a container) maps the path onto it.
	sub := &host.Layout{Unified: true, V2Mount: "/sys/fs/cgroup", V2Root: "/a"}
	if got := OwnDirs(sub, host.ProcCgroups("0::/a/b\n")); !reflect.DeepEqual(got, []string{"/sys/fs/cgroup/b"}) {
		t.Errorf("subtree mount: %v", got)
	}
}

func TestStrayed(t *testing.T) {
	cg := "/a.slice/a-b.slice/p-n.scope"
	paths := map[string]string{
		"devices":      "/sys/fs/cgroup/devices" + cg,
		"cpu":          "/sys/fs/cgroup/cpu,cpuacct" + cg,
		"cpuacct":      "/sys/fs/cgroup/cpu,cpuacct" + cg,
		"name=systemd": "/sys/fs/cgroup/systemd" + cg,
		"unified":      "/sys/fs/cgroup/unified" + cg,
	}
	proc := "11:devices:/a.slice/a-b.slice\n" + // moved out by systemd
		"3:cpu,cpuacct:/a.slice\n" + // one directory for both
		"1:name=systemd:" + cg + "/sub\n" + // in a sub-cgroup of its own: stays
		"0::" + cg + "\n"
	got := Strayed(proc, cg, paths)
	slices.Sort(got)
	want := []string{paths["cpu"], paths["devices"]}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Strayed = %v, want %v", got, want)
	}
	if got := Strayed("0::"+cg+"\n", cg, paths); len(got) != 0 {
		t.Errorf("in place: %v", got)
	}
	// A prefix of the name is not the cgroup.
	if got := Strayed("11:devices:"+cg+"x\n", cg, paths); !reflect.DeepEqual(got, []string{paths["devices"]}) {
		t.Errorf("sibling with a longer name: %v", got)
	}
}

func TestTrackingDir(t *testing.T) {
	own := host.ProcCgroups("12:pids:/user.slice\n1:name=systemd:/user.slice/run-r1.scope\n0::/user.slice/run-r1.scope\n")
	pids := host.Hierarchy{Mountpoint: "/sys/fs/cgroup/pids", Root: "/", Controllers: []string{"pids"}}
	named := host.Hierarchy{Mountpoint: "/sys/fs/cgroup/systemd", Root: "/", Controllers: []string{"name=systemd"}}
	for _, tc := range []struct {
		name string
		h    *host.Layout
		own  map[string]string
		want string
	}{
		{"hybrid: name=systemd", &host.Layout{V2Mount: "/sys/fs/cgroup/unified", V2Root: "/", V1: []host.Hierarchy{pids, named}}, own, "/sys/fs/cgroup/systemd/user.slice/run-r1.scope"},
		{"v1 without cgroup2", &host.Layout{V1: []host.Hierarchy{pids, named}}, own, "/sys/fs/cgroup/systemd/user.slice/run-r1.scope"},
		{"hybrid, name=systemd not mounted: cgroup2", &host.Layout{V2Mount: "/sys/fs/cgroup/unified", V2Root: "/", V1: []host.Hierarchy{pids}}, own, "/sys/fs/cgroup/unified/user.slice/run-r1.scope"},
		{"v2", &host.Layout{Unified: true, V2Mount: "/sys/fs/cgroup", V2Root: "/"}, host.ProcCgroups("0::/user.slice/run-r1.scope\n"), "/sys/fs/cgroup/user.slice/run-r1.scope"},
		{"v2 subtree mount", &host.Layout{Unified: true, V2Mount: "/sys/fs/cgroup", V2Root: "/user.slice"}, host.ProcCgroups("0::/user.slice/run-r1.scope\n"), "/sys/fs/cgroup/run-r1.scope"},
		{"neither", &host.Layout{V1: []host.Hierarchy{pids}}, own, ""},
	} {
		if got := TrackingDir(tc.h, tc.own); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestUserOnV2(t *testing.T) {
	v2 := &host.Layout{Unified: true, V2Mount: "/sys/fs/cgroup", V2Root: "/"}
	hybrid := &host.Layout{V2Mount: "/sys/fs/cgroup/unified", V2Root: "/", V1: []host.Hierarchy{{Mountpoint: "/sys/fs/cgroup/pids", Root: "/", Controllers: []string{"pids"}}}}
	legacy := &host.Layout{V1: hybrid.V1}
	if err := userOnV2(v2, true); err != nil {
		t.Errorf("user manager on v2: %v", err)
	}
	for _, h := range []*host.Layout{hybrid, legacy} {
		if err := userOnV2(h, false); err != nil {
			t.Errorf("system manager on %s: %v", h.Mode(), err)
		}
		err := userOnV2(h, true)
		if err == nil || !strings.Contains(err.Error(), "--systemd-cgroup as an unprivileged user") || !strings.Contains(err.Error(), "cgroups are "+h.Mode()+",") || !strings.Contains(err.Error(), "cgroup v2 host") {
			t.Errorf("user manager on %s: %v", h.Mode(), err)
		}
	}
}
