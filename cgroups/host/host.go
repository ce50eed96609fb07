// Package host probes the machine's cgroup layout: whether
// /sys/fs/cgroup is cgroup v2, which v1 hierarchies are mounted where,
// and a hybrid host's controller-less cgroup2 mount; and it parses
// /proc/<pid>/cgroup and /proc/cgroups. It decides nothing: package
// manager picks the driver from what it finds, doctor reports it and
// rootfs plans a container's cgroup mount from it.
package host

import (
	"fmt"
	"os"
	"path"
	"sync"

	"golang.org/x/sys/unix"

	"berth/internal/mountinfo"
)

// UnifiedMountpoint is where a cgroup v2 host mounts the unified
// hierarchy.
const UnifiedMountpoint = "/sys/fs/cgroup"

// Hierarchy is one mounted cgroup v1 hierarchy.
type Hierarchy struct {
	Mountpoint string
	// Root is the cgroup the mount shows (mountinfo field 4): "/" unless
	// a subtree was bind-mounted, e.g. inside a container.
	Root string
	// Controllers are the hierarchy's controllers ("cpu", "cpuacct"), or
	// its name ("name=systemd") for a named hierarchy.
	Controllers []string
}

// Layout is what probing the host found.
type Layout struct {
	// Unified: /sys/fs/cgroup is cgroup2 (a v2 host); V1 is then empty.
	Unified bool
	// V2Mount is the cgroup2 mount: /sys/fs/cgroup on a v2 host, the
	// hybrid one (usually /sys/fs/cgroup/unified) on a v1 host, or "".
	V2Mount string
	// V2Root is that mount's root cgroup (mountinfo field 4).
	V2Root string
	V1     []Hierarchy
}

var (
	probeOnce sync.Once
	probed    *Layout
	probeErr  error
)

// Probe finds the host's cgroup layout once per process: a statfs
// settles a v2 host; otherwise /proc/self/mountinfo lists the v1
// hierarchies and any hybrid cgroup2 mount.
func Probe() (*Layout, error) {
	probeOnce.Do(func() { probed, probeErr = probe() })
	return probed, probeErr
}

func probe() (*Layout, error) {
	magic, err := StatfsType(UnifiedMountpoint)
	if err != nil {
		return nil, fmt.Errorf("statfs %s: %w", UnifiedMountpoint, err)
	}
	if magic == cgroup2Magic {
		return &Layout{Unified: true, V2Mount: UnifiedMountpoint, V2Root: "/"}, nil
	}
	mounts, err := mountinfo.Read()
	if err != nil {
		return nil, fmt.Errorf("read mount table: %w", err)
	}
	known, err := os.ReadFile("/proc/cgroups")
	if err != nil {
		return nil, fmt.Errorf("read /proc/cgroups: %w", err)
	}
	h := Scan{Known: KnownControllers(string(known))}.Layout(mounts)
	if len(h.V1) == 0 && h.V2Mount == "" {
		return nil, fmt.Errorf("no cgroup filesystem is mounted (%s is neither cgroup2 nor holds cgroup v1 hierarchies)", UnifiedMountpoint)
	}
	return h, nil
}

// Reachable is UnderBase on this machine: what base and each cgroup mount
// below it in mounts really are, by statfs. It fails only when base
// cannot be statfs'd; magic is then 0.
func Reachable(base string, mounts []mountinfo.Mount) (l *Layout, magic int64, err error) {
	if magic, err = StatfsType(base); err != nil {
		return &Layout{}, 0, err
	}
	var known map[string]bool
	if magic != cgroup2Magic {
		// Unreadable, no name counts but "name=" ones: the layout says so.
		data, _ := os.ReadFile("/proc/cgroups")
		known = KnownControllers(string(data))
	}
	return UnderBase(base, mounts, known, magic, StatfsType), magic, nil
}

// StatfsType is the filesystem type (statfs f_type) of p.
func StatfsType(p string) (int64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(p, &st); err != nil {
		return 0, err
	}
	return int64(st.Type), nil
}

const (
	cgroupMagic  = unix.CGROUP_SUPER_MAGIC
	cgroup2Magic = unix.CGROUP2_SUPER_MAGIC
)

// FSTypeName names a statfs f_type met where cgroups are looked for.
func FSTypeName(t int64) string {
	switch t {
	case unix.CGROUP2_SUPER_MAGIC:
		return "cgroup2"
	case unix.CGROUP_SUPER_MAGIC:
		return "cgroup"
	case unix.TMPFS_MAGIC:
		return "tmpfs"
	case unix.RAMFS_MAGIC:
		return "ramfs"
	case unix.SYSFS_MAGIC:
		return "sysfs"
	}
	return fmt.Sprintf("filesystem magic %#x", t)
}

// Mode describes the host: "v2" (unified), "hybrid" (v1 controllers plus
// a cgroup2 mount without them) or "v1".
func Mode() (string, error) {
	h, err := Probe()
	if err != nil {
		return "", err
	}
	return h.Mode(), nil
}

// Mode names the layout as the package-level Mode does: "v2", "hybrid"
// or "v1".
func (l *Layout) Mode() string {
	switch {
	case l.Unified:
		return "v2"
	case l.V2Mount != "":
		return "hybrid"
	}
	return "v1"
}

// IsCgroupFS reports whether p (or, when it is gone, its closest existing
// ancestor) is on a cgroup filesystem.
func IsCgroupFS(p string) bool {
	for {
		magic, err := StatfsType(p)
		if err == nil {
			return magic == cgroupMagic || magic == cgroup2Magic
		}
		if err != unix.ENOENT || p == "/" {
			return false
		}
		p = path.Dir(p)
	}
}
