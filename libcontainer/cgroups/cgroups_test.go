package cgroups

import (
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"berth/libcontainer/cgroups/devices"
)

func TestWithDeviceNodes(t *testing.T) {
	r := &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}, Pids: &specs.LinuxPids{Limit: ptr[int64](5)}}
	out := WithDeviceNodes(r, []specs.LinuxDevice{
		{Path: "/dev/fuse", Type: "c", Major: 10, Minor: 229},
		{Path: "/dev/sda", Type: "b", Major: 8, Minor: 0},
		{Path: "/dev/ttyX", Type: "u", Major: 4, Minor: 64},
		{Path: "/dev/fifo", Type: "p"},
	})
	if len(r.Devices) != 1 {
		t.Fatal("WithDeviceNodes changed its input")
	}
	if out.Pids != r.Pids || len(out.Devices) != 4 {
		t.Fatalf("out = %+v", out)
	}
	rules, err := devices.Effective(out.Devices)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []struct {
		t            devices.Type
		major, minor int64
	}{{devices.Char, 10, 229}, {devices.Block, 8, 0}, {devices.Char, 4, 64}} {
		if !devices.Allowed(rules, d.t, d.major, d.minor, devices.RWM) {
			t.Errorf("%c %d:%d not allowed", d.t, d.major, d.minor)
		}
	}
	if got := WithDeviceNodes(nil, []specs.LinuxDevice{{Type: "c", Major: 1, Minor: 1}}); got == nil || len(got.Devices) != 1 {
		t.Fatalf("nil resources: %+v", got)
	}
	if WithDeviceNodes(r, nil) != r {
		t.Fatal("no nodes should return r itself")
	}
}

func TestHasLimits(t *testing.T) {
	if HasLimits(nil) || HasLimits(&specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{}}}) {
		t.Fatal("devices alone are no limit")
	}
	if !HasLimits(&specs.LinuxResources{Pids: &specs.LinuxPids{}}) {
		t.Fatal("pids is a limit")
	}
}
