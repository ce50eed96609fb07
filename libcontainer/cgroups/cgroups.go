// Package cgroups is the seam between container lifecycle and control groups.
// The lifecycle code calls a Manager at fixed points (join the init, apply
// limits, destroy on delete); the drivers for cgroup v2 and v1/hybrid hosts
// fill it in. Until they exist, New returns a Manager that places nothing and
// reports, once, that linux.resources are not enforced, so a limit is never
// dropped without a word.
package cgroups

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Manager is what the lifecycle needs from a cgroup driver.
type Manager interface {
	// Apply moves pid (the container init, before it starts the workload) into the cgroup.
	Apply(pid int) error
	// Set writes the resource limits.
	Set(r *specs.LinuxResources) error
	// Destroy removes the cgroup, killing what is left in it if needed.
	Destroy() error
	// Path is the cgroup's path as recorded in state (empty when unmanaged).
	Path() string
}

// Enforced reports whether this build applies linux.resources.
const Enforced = false

// HasLimits reports whether r asks for anything beyond the device allow-list,
// which a container without a cgroup gets from its /dev anyway.
func HasLimits(r *specs.LinuxResources) bool {
	if r == nil {
		return false
	}
	return r.Memory != nil || r.CPU != nil || r.Pids != nil || r.BlockIO != nil ||
		len(r.HugepageLimits) > 0 || r.Network != nil || len(r.Rdma) > 0 || len(r.Unified) > 0
}

// New returns the manager for a container's cgroup.
func New(cgroupsPath, id string) Manager { return unmanaged{} }

type unmanaged struct{}

func (unmanaged) Apply(int) error                 { return nil }
func (unmanaged) Set(*specs.LinuxResources) error { return nil }
func (unmanaged) Destroy() error                  { return nil }
func (unmanaged) Path() string                    { return "" }
