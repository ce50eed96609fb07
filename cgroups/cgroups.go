package cgroups

import (
	"errors"
	"fmt"
	"path"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Manager is one container's cgroup, on whichever driver the host needs.
// Methods that find the cgroup gone treat it as empty: Pids lists
// nothing, Kill and Destroy succeed.
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
	// ("cpu", "memory", "name=systemd", ...; "unified" for a cgroup v2
	// directory). Save it in the container's state and hand it to Load.
	Paths() map[string]string
}

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

// NewManager returns the manager for a new container's cgroup, on the driver the
// host needs (v2 when /sys/fs/cgroup is cgroup2, else v1 over every
// mounted hierarchy). It creates nothing. cgroupsPath is
// linux.cgroupsPath: absolute (from each hierarchy's root), relative
// (under berth's own cgroup, on v2 its parent's), empty (the relative
// path "<id>", as runc), or systemd's "slice:prefix:name", which is
// refused (ErrSystemdPath).
func NewManager(cgroupsPath, id string) (Manager, error) {
	cgPath, relative, err := parseCgroupsPath(cgroupsPath, id)
	if err != nil {
		return nil, err
	}
	h, err := probeHost()
	if err != nil {
		return nil, err
	}
	var own map[string]string
	if relative {
		if own, err = ownCgroups(); err != nil {
			return nil, err
		}
	}
	if h.unified {
		return newV2(h.v2Mount, h.v2Root, cgPath, relative, own)
	}
	if len(h.v1) == 0 {
		return nil, fmt.Errorf("no cgroup v1 hierarchy is mounted and %s is not cgroup2", unifiedMountpoint)
	}
	return newV1(h, cgPath, relative, own)
}

// Load returns the manager of an existing container from the Paths it
// saved. Each path must be an absolute, clean path on a cgroup filesystem
// (or, once removed, under one), so a damaged state file cannot point
// Destroy elsewhere.
func Load(saved map[string]string) (Manager, error) {
	if len(saved) == 0 {
		return nil, errors.New("load cgroup: no paths saved")
	}
	for k, p := range saved {
		if p == "" || p[0] != '/' || path.Clean(p) != p || p == "/" {
			return nil, fmt.Errorf("load cgroup: %s path %q is not an absolute clean path", k, p)
		}
		if !isCgroupFS(p) {
			return nil, fmt.Errorf("load cgroup: %s path %s is not on a cgroup filesystem", k, p)
		}
	}
	if dir, ok := saved[unifiedKey]; ok && len(saved) == 1 {
		return loadV2(dir)
	}
	m := &v1Manager{paths: make(map[string]string, len(saved))}
	for k, p := range saved {
		m.paths[k] = p
	}
	if h, err := probeHost(); err == nil {
		m.path = pathFromDirs(m.paths, h)
	}
	return m, nil
}

func loadV2(dir string) (Manager, error) {
	h, err := probeHost()
	if err != nil {
		return nil, err
	}
	if h.v2Mount == "" || !strings.HasPrefix(dir, h.v2Mount+"/") {
		return nil, fmt.Errorf("load cgroup: %s is not under the cgroup2 mount %q", dir, h.v2Mount)
	}
	return &v2Manager{mount: h.v2Mount, path: dir[len(h.v2Mount):], dir: dir}, nil
}
