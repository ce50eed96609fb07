package cgroups

import (
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
