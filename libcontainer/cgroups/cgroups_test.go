package cgroups

import (
	"os"
	"path/filepath"
	"strings"
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

// TestCheckNotFrozen reads the freezer files of a fake v1 freezer
// directory and a fake cgroup2 one.
func TestCheckNotFrozen(t *testing.T) {
	write := func(dir, file, v string) {
		if err := os.WriteFile(filepath.Join(dir, file), []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		name           string
		state          string // freezer.state; "" for none
		freeze, events string // cgroup.freeze, cgroup.events; "" for none
		want           string // in the error; "" for none
	}{
		{name: "new cgroup"},
		{name: "v1 thawed", state: "THAWED\n"},
		{name: "v1 frozen", state: "FROZEN\n", want: "freezer.state FROZEN"},
		{name: "v1 freezing", state: "FREEZING\n", want: "freezer.state FREEZING"},
		{name: "v2 thawed", freeze: "0\n", events: "populated 0\nfrozen 0\n"},
		{name: "v2 frozen", freeze: "1\n", events: "populated 1\nfrozen 1\n", want: "cgroup.freeze 1"},
		{name: "v2 freezing", freeze: "1\n", events: "populated 1\nfrozen 0\n", want: "cgroup.freeze 1"},
		{name: "v2 parent frozen", freeze: "0\n", events: "populated 0\nfrozen 1\n", want: "through a parent"},
	} {
		v1, v2 := t.TempDir(), t.TempDir()
		if c.state != "" {
			write(v1, "freezer.state", c.state)
		}
		if c.freeze != "" {
			write(v2, "cgroup.freeze", c.freeze)
			write(v2, "cgroup.events", c.events)
		}
		m := &v1Manager{paths: map[string]string{"freezer": v1, "cpu": v1, unifiedKey: v2}}
		err := CheckNotFrozen(m)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: error %v, want one saying %q", c.name, err, c.want)
		}
	}
}
