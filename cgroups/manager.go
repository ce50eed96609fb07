package cgroups

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Manager is one container's cgroup, on whichever driver the host needs
// (package manager picks it: fs1, fs2). Methods that find the cgroup gone
// treat it as empty: Pids lists nothing, Kill and Destroy succeed.
type Manager interface {
	// Create makes the cgroup's directories (idempotent). Apply, Set and
	// StartIn call it.
	Create() error
	// Apply moves pid (a thread group) into the cgroup, in every v1
	// hierarchy; on v2 a pid already there (born there) costs no write.
	Apply(pid int) error
	// Set makes the cgroup enforce r. Fields left nil are not touched,
	// except devices: the device list is always the whole effective list
	// (deny all, r.Devices, the default allow-list), so pass the
	// container's full resources on update, merged with the changes.
	Set(r *specs.LinuxResources) error
	// Freeze stops every process and returns once all are frozen.
	Freeze() error
	// Thaw resumes them.
	Thaw() error
	FreezerState() (FreezerState, error)
	// Pids lists the processes in the cgroup and its sub-cgroups.
	Pids() ([]int, error)
	// Stats reads the counters.
	Stats() (*Stats, error)
	// Signal sends sig to every process (kill --all), with the cgroup
	// frozen meanwhile so that none escapes by forking.
	Signal(sig unix.Signal) error
	// Kill SIGKILLs every process (cgroup.kill on v2 when present).
	Kill() error
	// Destroy removes the cgroup and the sub-cgroups the container made.
	// It does not kill: while processes are still leaving it retries for
	// up to a second, then fails naming the ones left (call Kill first
	// to clear them).
	Destroy() error
	// Exists reports whether the cgroup directory (any of them on v1)
	// is there.
	Exists() bool
	// Unified reports a cgroup v2 manager.
	Unified() bool
	// Path is the cgroup path ("/berth/id"), as /proc/<pid>/cgroup shows
	// it (on v1, in the pids hierarchy).
	Path() string
	// Paths is every directory the manager uses, keyed by controller
	// ("cpu", "memory", "name=systemd", ...; UnifiedKey for a cgroup v2
	// directory). Save it in the container's state and hand it to
	// manager.Load.
	Paths() map[string]string
	// JoinFiles lists the files a process started by StartIn writes "0"
	// to, in order, before anything else (see StartIn): the v1
	// hierarchies' tasks files; none on cgroup v2.
	JoinFiles() []string
	// NotifyOOM watches the cgroup for the kernel's OOM killer.
	NotifyOOM() (*OOMNotifier, error)
}

// UnifiedKey is the Paths key of a cgroup v2 directory: the only key of a
// v2 manager, and the hybrid cgroup2 mount's directory on a v1 host.
const UnifiedKey = "unified"

// FreezerState is whether a cgroup's processes are frozen.
type FreezerState string

// Freezer states (v1 freezer.state names; v2 maps cgroup.freeze and the
// "frozen" key of cgroup.events onto them).
const (
	Thawed   FreezerState = "THAWED"
	Freezing FreezerState = "FREEZING"
	Frozen   FreezerState = "FROZEN"
)

// Enforced reports whether this build applies linux.resources.
const Enforced = true

// HasLimits reports whether r asks for anything beyond the device allow-list,
// which a container without a cgroup gets from its /dev anyway.
func HasLimits(r *specs.LinuxResources) bool {
	if r == nil {
		return false
	}
	return r.Memory != nil || r.CPU != nil || r.Pids != nil || r.BlockIO != nil ||
		len(r.HugepageLimits) > 0 || r.Network != nil || len(r.Rdma) > 0 || len(r.Unified) > 0
}
