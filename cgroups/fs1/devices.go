package fs1

import (
	"fmt"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"berth/cgroups"
	"berth/cgroups/devices"
)

// devicesCtl writes the effective device list (package devices) to
// devices.deny and devices.allow.
type devicesCtl struct{ noStats }

func (devicesCtl) name() string { return "devices" }

func (devicesCtl) plan(pl *cgroups.Plan, r *specs.LinuxResources, dir string, p cgroups.Prober) error {
	rules, err := devices.Effective(r.Devices)
	if err != nil {
		return err
	}
	if dir == "" {
		if devices.AllowsAll(rules) {
			return nil
		}
		return fmt.Errorf("linux.resources.devices: the devices controller is not mounted on this host, so the device allow-list cannot be enforced")
	}
	// Resetting a running container's list denies it everything for a
	// moment: leave a list that is already right alone (update).
	if want, ok := devices.V1List(rules); ok {
		if cur, err := p.Read(dir, "devices.list"); err == nil && devices.SameV1List(want, strings.Split(cur, "\n")) {
			return nil
		}
	}
	for _, w := range devices.V1Writes(rules) {
		pl.Add(cgroups.Write{Dir: dir, File: w.File, Value: w.Value, Field: w.Field})
	}
	return nil
}
