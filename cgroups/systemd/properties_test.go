package systemd

import (
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"berth/cgroups/devices"
)

const procDevicesSample = `Character devices:
  1 mem
  4 /dev/vc/0
  4 tty
  4 ttyS
  5 /dev/tty
 10 misc
136 pts
180 usb

Block devices:
  8 sd
 65 sd
259 blkext
`

func i64(v int64) *int64   { return &v }
func u64(v uint64) *uint64 { return &v }
func u16(v uint16) *uint16 { return &v }
func propMap(props []Prop) map[string]any {
	m := map[string]any{}
	for _, p := range props {
		m[p.Name] = p.Value
	}
	return m
}

func TestResourceProperties(t *testing.T) {
	names := ParseProcDevices(procDevicesSample)
	r := &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: i64(64 << 20), Reservation: i64(32 << 20), Swap: i64(96 << 20)},
		CPU:    &specs.LinuxCPU{Shares: u64(1024), Quota: i64(25000), Period: u64(50000), Cpus: "0-2,5", Mems: "0"},
		Pids:   &specs.LinuxPids{Limit: i64(42)},
		BlockIO: &specs.LinuxBlockIO{
			Weight:                u16(500),
			WeightDevice:          []specs.LinuxWeightDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 0}, Weight: u16(10)}},
			ThrottleReadBpsDevice: []specs.LinuxThrottleDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 16}, Rate: 1 << 20}},
		},
		Unified: map[string]string{"memory.high": "50331648"},
	}
	got := propMap(mustProps(t, r, names))
	want := map[string]any{
		"MemoryMax":          uint64(64 << 20),
		"MemoryLow":          uint64(32 << 20),
		"MemorySwapMax":      uint64(32 << 20),
		"MemoryHigh":         uint64(48 << 20),
		"CPUWeight":          uint64(39),
		"CPUQuotaPeriodUSec": uint64(50000),
		"CPUQuotaPerSecUSec": uint64(500000),
		"AllowedCPUs":        []byte{0x27},
		"AllowedMemoryNodes": []byte{0x01},
		"TasksMax":           uint64(42),
		"IOWeight":           uint64(4950),
		"IODeviceWeight":     []IODevice{{"/dev/block/8:0", 1}},
		"IOReadBandwidthMax": []IODevice{{"/dev/block/8:16", 1 << 20}},
		"DevicePolicy":       "strict",
	}
	for k, v := range want {
		if !reflect.DeepEqual(got[k], v) {
			t.Errorf("%s = %#v, want %#v", k, got[k], v)
		}
	}
	if len(got) != len(want)+1 { // + DeviceAllow
		t.Errorf("properties %v, want exactly %d", got, len(want)+1)
	}
}

func mustProps(t *testing.T, r *specs.LinuxResources, names func(devices.Type, int64) (string, bool)) []Prop {
	t.Helper()
	p, err := ResourceProperties(r, names)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestResourcePropertiesUnlimited(t *testing.T) {
	r := &specs.LinuxResources{
		Memory:  &specs.LinuxMemory{Limit: i64(-1), Swap: i64(-1)},
		CPU:     &specs.LinuxCPU{Quota: i64(-1)},
		Pids:    &specs.LinuxPids{Limit: i64(-1)},
		Unified: map[string]string{"memory.high": "max"},
	}
	got := propMap(mustProps(t, r, ParseProcDevices("")))
	for _, k := range []string{"MemoryMax", "MemorySwapMax", "CPUQuotaPerSecUSec", "TasksMax", "MemoryHigh"} {
		if got[k] != Infinity {
			t.Errorf("%s = %v, want infinity", k, got[k])
		}
	}
	if _, ok := got["CPUQuotaPeriodUSec"]; ok {
		t.Errorf("CPUQuotaPeriodUSec set without a period: %v", got["CPUQuotaPeriodUSec"])
	}
}

// dockerd's update sends every field, 0 for those it leaves alone.
func TestResourcePropertiesZeroes(t *testing.T) {
	r := &specs.LinuxResources{
		CPU:     &specs.LinuxCPU{Shares: u64(0), Quota: i64(0), Period: u64(0)},
		BlockIO: &specs.LinuxBlockIO{Weight: u16(0)},
	}
	got := propMap(mustProps(t, r, ParseProcDevices("")))
	for _, k := range []string{"CPUWeight", "CPUQuotaPerSecUSec", "CPUQuotaPeriodUSec", "IOWeight"} {
		if v, ok := got[k]; ok {
			t.Errorf("%s = %v from a 0, want it unset", k, v)
		}
	}
}

func TestResourcePropertiesErrors(t *testing.T) {
	for _, tc := range []struct {
		r    *specs.LinuxResources
		want string
	}{
		{&specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "0-"}}, "linux.resources.cpu.cpus"},
		{&specs.LinuxResources{CPU: &specs.LinuxCPU{Mems: "x"}}, "linux.resources.cpu.mems"},
		{&specs.LinuxResources{Memory: &specs.LinuxMemory{Swap: i64(10)}}, "linux.resources.memory.swap"},
		{&specs.LinuxResources{Unified: map[string]string{"memory.high": "lots"}}, "memory.high"},
		{&specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: true, Type: "x"}}}, "linux.resources.devices[0]"},
	} {
		_, err := ResourceProperties(tc.r, ParseProcDevices(""))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want an error naming %s", tc.r, err, tc.want)
		}
	}
}

func TestQuotaPerSec(t *testing.T) {
	for _, tc := range []struct {
		quota  int64
		period uint64
		want   uint64
	}{
		{50000, 100000, 500000},
		{100000, 100000, 1000000},
		{200000, 100000, 2000000},
		{1234, 100000, 20000}, // 12340 us/s rounds up to 2%
		{10000, 1000000, 10000},
		{-1, 100000, Infinity},
	} {
		if got := QuotaPerSec(tc.quota, tc.period); got != tc.want {
			t.Errorf("QuotaPerSec(%d, %d) = %d, want %d", tc.quota, tc.period, got, tc.want)
		}
	}
}

func TestListToMask(t *testing.T) {
	for in, want := range map[string][]byte{
		"0":      {0x01},
		"0-7":    {0xff},
		"8":      {0x00, 0x01},
		"1,3-4":  {0x1a},
		"0-2,9":  {0x07, 0x02},
		" 2 , 3": {0x0c},
	} {
		if got, err := ListToMask(in); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("ListToMask(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "a", "3-1", "1,,2", "-1", "70000"} {
		if got, err := ListToMask(in); err == nil {
			t.Errorf("ListToMask(%q) = %v, want an error", in, got)
		}
	}
}

func TestDeviceProperties(t *testing.T) {
	names := ParseProcDevices(procDevicesSample)
	eff := func(specRules ...specs.LinuxDeviceCgroup) []devices.Rule {
		r, err := devices.Effective(specRules)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	// The default list: deny all, then the default nodes.
	policy, allow := DeviceProperties(eff(), names)
	if policy != "strict" {
		t.Fatalf("default list: policy %s", policy)
	}
	has := map[string]string{}
	for _, a := range allow {
		has[a.Path] = a.Perms
	}
	for _, p := range []string{"/dev/char/1:3", "/dev/char/5:2", "char-pts"} {
		if has[p] != "rwm" {
			t.Errorf("default list: DeviceAllow %v lacks %s rwm", allow, p)
		}
	}
	// A spec rule with a given device and access.
	_, allow = DeviceProperties(eff(specs.LinuxDeviceCgroup{Allow: true, Type: "b", Major: i64(8), Minor: i64(0), Access: "r"}), names)
	if allow[0] != (DeviceAllow{"/dev/block/8:0", "r"}) {
		t.Errorf("block rule: %v", allow[0])
	}
	// Every char device.
	_, allow = DeviceProperties(eff(specs.LinuxDeviceCgroup{Allow: true, Type: "c", Access: "m"}), names)
	if allow[0] != (DeviceAllow{"char-*", "m"}) {
		t.Errorf("char wildcard: %v", allow[0])
	}
	// Everything allowed: no list.
	if policy, allow := DeviceProperties(eff(specs.LinuxDeviceCgroup{Allow: true, Access: "rwm"}), names); policy != "auto" || len(allow) != 0 {
		t.Errorf("allow all: %s %v", policy, allow)
	}
	// What systemd cannot say is left to berth's own filter.
	for _, r := range []specs.LinuxDeviceCgroup{
		{Allow: false, Type: "c", Major: i64(1), Minor: i64(3), Access: "w"}, // a deny after allows
		{Allow: true, Type: "c", Minor: i64(3), Access: "r"},                 // wildcard major, given minor
		{Allow: true, Type: "b", Major: i64(8), Access: "r"},                 // sd: a name of two majors
		{Allow: true, Type: "c", Major: i64(99), Access: "r"},                // no name
	} {
		policy, allow := DeviceProperties(eff(r), names)
		if policy != "auto" || allow == nil || len(allow) != 0 {
			t.Errorf("rule %+v: %s %v, want auto and an empty list", r, policy, allow)
		}
	}
	// A major /proc/devices lists under several names: one of them names
	// it alone.
	_, allow = DeviceProperties(eff(specs.LinuxDeviceCgroup{Allow: true, Type: "c", Major: i64(4), Access: "r"}), names)
	if allow[0] != (DeviceAllow{"char-tty", "r"}) {
		t.Errorf("tty: %v", allow[0])
	}
	// A named major with a wildcard minor.
	_, allow = DeviceProperties(eff(specs.LinuxDeviceCgroup{Allow: true, Type: "c", Major: i64(180), Access: "rw"}), names)
	if allow[0] != (DeviceAllow{"char-usb", "rw"}) {
		t.Errorf("usb: %v", allow[0])
	}
}

func TestStartProperties(t *testing.T) {
	scope := propMap(StartProperties(Unit{"p-n.scope", "system.slice", "/system.slice/p-n.scope"}, "berth container n", 42))
	for k, v := range map[string]any{"Slice": "system.slice", "Delegate": true, "PIDs": []uint32{42}, "Description": "berth container n", "DefaultDependencies": false} {
		if !reflect.DeepEqual(scope[k], v) {
			t.Errorf("scope %s = %#v, want %#v", k, scope[k], v)
		}
	}
	slice := propMap(StartProperties(Unit{"a-b.slice", "a.slice", "/a.slice/a-b.slice"}, "d", 42))
	if _, ok := slice["PIDs"]; ok {
		t.Errorf("a slice gets PIDs: %v", slice)
	}
	if !reflect.DeepEqual(slice["Wants"], []string{"a.slice"}) {
		t.Errorf("slice Wants %v", slice["Wants"])
	}
}
