// Package manager is the one place that picks a cgroup driver: Choose
// decides from the probed host (package host) and the caller's flags,
// New and Load build the driver's Manager.
package manager

import (
	"fmt"

	"berth/cgroups"
	"berth/cgroups/fs1"
	"berth/cgroups/fs2"
	"berth/cgroups/host"
	"berth/cgroups/systemd"
)

// Driver names a cgroup driver.
type Driver string

const (
	// FS1 is cgroup v1 (legacy or hybrid host) through cgroupfs.
	FS1 Driver = "fs1"
	// FS2 is cgroup v2 (unified host) through cgroupfs.
	FS2 Driver = "fs2"
	// Systemd makes the cgroup a transient systemd unit over D-Bus
	// (package systemd): its cgroup2 directory on a v2 host, its
	// directory in every v1 hierarchy on a v1 or hybrid one.
	Systemd Driver = "systemd"
)

// Options says what cgroup a new container gets.
type Options struct {
	// CgroupsPath is linux.cgroupsPath: absolute (from each hierarchy's
	// root), relative (under berth's own cgroup, on v2 its parent's),
	// empty (the relative path "<id>", as runc); with Systemd, systemd's
	// "slice:prefix:name" (which the fs drivers refuse,
	// cgroups.ErrSystemdPath).
	CgroupsPath string
	// ID is the container id.
	ID string
	// Systemd asks for the systemd driver (--systemd-cgroup).
	Systemd bool
	// UserManager: with Systemd, the unit is the caller's own systemd
	// manager's, over its session bus (a rootless caller).
	UserManager bool
}

// Choose picks the driver for a host laid out as h. It does no I/O.
func Choose(useSystemd bool, h *host.Layout) (Driver, error) {
	switch {
	case useSystemd:
		return Systemd, nil
	case h.Unified:
		return FS2, nil
	case len(h.V1) == 0:
		return "", fmt.Errorf("no cgroup v1 hierarchy is mounted and %s is not cgroup2", host.UnifiedMountpoint)
	}
	return FS1, nil
}

// New returns the manager for a new container's cgroup, on the driver
// Choose picks for this host; each driver reads o.CgroupsPath its own way.
// It creates nothing.
func New(o Options) (cgroups.Manager, error) {
	h, err := host.Probe()
	if err != nil {
		return nil, err
	}
	d, err := Choose(o.Systemd, h)
	if err != nil {
		return nil, err
	}
	if d == Systemd {
		return systemd.New(h, o.CgroupsPath, o.ID, o.UserManager)
	}
	cfg, err := cgroups.ParsePath(o.CgroupsPath, o.ID)
	if err != nil {
		return nil, err
	}
	var own map[string]string
	if cfg.Relative {
		if own, err = host.OwnCgroups(); err != nil {
			return nil, err
		}
	}
	switch d {
	case FS2:
		return fs2.New(h.V2Mount, h.V2Root, cfg, own)
	case FS1:
		return fs1.New(h, cfg, own)
	}
	return nil, fmt.Errorf("cgroup driver %q has no manager", d)
}
