package cgroups

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

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
		m := pathsOnly{paths: map[string]string{"freezer": v1, "cpu": v1, UnifiedKey: v2}}
		err := CheckNotFrozen(m)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: error %v, want one saying %q", c.name, err, c.want)
		}
	}
}

// pathsOnly is a Manager that answers Paths alone.
type pathsOnly struct {
	Manager
	paths map[string]string
}

func (m pathsOnly) Paths() map[string]string { return m.paths }
