// Package host probes the machine's cgroup layout: whether
// /sys/fs/cgroup is cgroup v2, which v1 hierarchies are mounted where,
// and a hybrid host's controller-less cgroup2 mount. It decides nothing:
// package manager picks the driver from what it finds.
package host

import (
	"fmt"
	"os"
	"path"
	"strings"
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
	var st unix.Statfs_t
	if err := unix.Statfs(UnifiedMountpoint, &st); err != nil {
		return nil, fmt.Errorf("statfs %s: %w", UnifiedMountpoint, err)
	}
	if st.Type == unix.CGROUP2_SUPER_MAGIC {
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
	h := parseLayout(mounts, knownControllers(known))
	if len(h.V1) == 0 && h.V2Mount == "" {
		return nil, fmt.Errorf("no cgroup filesystem is mounted (%s is neither cgroup2 nor holds cgroup v1 hierarchies)", UnifiedMountpoint)
	}
	return h, nil
}

// knownControllers reads the controller names from /proc/cgroups.
func knownControllers(data []byte) map[string]bool {
	out := make(map[string]bool)
	for _, line := range strings.Split(string(data), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		if f := strings.Fields(line); len(f) > 0 {
			out[f[0]] = true
		}
	}
	return out
}

// Mode describes the host: "v2" (unified), "hybrid" (v1 controllers plus
// a cgroup2 mount without them) or "v1".
func Mode() (string, error) {
	h, err := Probe()
	if err != nil {
		return "", err
	}
	switch {
	case h.Unified:
		return "v2", nil
	case h.V2Mount != "":
		return "hybrid", nil
	}
	return "v1", nil
}

// IsCgroupFS reports whether p (or, when it is gone, its closest existing
// ancestor) is on a cgroup filesystem.
func IsCgroupFS(p string) bool {
	for {
		var st unix.Statfs_t
		err := unix.Statfs(p, &st)
		if err == nil {
			return st.Type == unix.CGROUP_SUPER_MAGIC || st.Type == unix.CGROUP2_SUPER_MAGIC
		}
		if err != unix.ENOENT || p == "/" {
			return false
		}
		p = path.Dir(p)
	}
}
