package rootfs

import (
	"path"
	"path/filepath"
	"slices"
	"strings"

	cghost "berth/cgroups/host"
	"berth/internal/mountinfo"
)

const cgroupRoot = "/sys/fs/cgroup"

// cgroupHierarchy is one cgroup hierarchy the host has under /sys/fs/cgroup.
type cgroupHierarchy struct {
	name     string   // directory name under /sys/fs/cgroup: "cpu,cpuacct", "systemd", "unified"
	fstype   string   // "cgroup" or "cgroup2"
	subsys   []string // controllers and name= of the hierarchy (its /proc/self/cgroup entry)
	hostPath string   // the host directory of the init's own cgroup in it
}

// ownCgroups is OwnCgroups, or the init's own reading when not given.
func (c *Config) ownCgroups() (map[string]string, error) {
	if c.OwnCgroups != nil {
		return c.OwnCgroups, nil
	}
	if c.OwnCgroupsFrom != nil {
		return c.OwnCgroupsFrom()
	}
	return cghost.HierarchyCgroupsOf(0)
}

// hierarchiesIn joins the init's cgroups (own, cghost.HierarchyCgroups)
// with the cgroup layout of its mount table: each hierarchy mounted right
// under /sys/fs/cgroup that the init is in, by name.
func hierarchiesIn(own map[string]string, mounts []mountinfo.Mount) []cgroupHierarchy {
	// Every v1 hierarchy has a line in /proc/<pid>/cgroup, so its
	// controllers are all the names the layout needs.
	known := map[string]bool{}
	bySet := map[string]string{}
	for ctrls := range own {
		for _, c := range strings.Split(ctrls, ",") {
			known[c] = c != ""
		}
		bySet[controllerSet(ctrls)] = ctrls
	}
	l := cghost.Scan{Known: known, Base: cgroupRoot}.Layout(mounts)
	var out []cgroupHierarchy
	add := func(mountpoint, root, fstype, ctrls string) {
		if path.Dir(mountpoint) != cgroupRoot {
			return
		}
		h := cgroupHierarchy{name: path.Base(mountpoint), fstype: fstype}
		if ctrls != "" {
			h.subsys = strings.Split(ctrls, ",")
		}
		// In a cgroup namespace the host's mount may not show the
		// init's cgroup (its root reads "/.."); only a fresh mount
		// can then show it, and hostPath stays empty.
		if rel, ok := cghost.MountPath(own[ctrls], root); ok {
			h.hostPath = filepath.Join(mountpoint, rel)
		}
		out = append(out, h)
	}
	if _, ok := own[""]; ok && l.V2Mount != "" {
		add(l.V2Mount, l.V2Root, "cgroup2", "")
	}
	for _, hy := range l.V1 {
		if ctrls, ok := bySet[controllerSet(strings.Join(hy.Controllers, ","))]; ok {
			add(hy.Mountpoint, hy.Root, "cgroup", ctrls)
		}
	}
	slices.SortFunc(out, func(a, b cgroupHierarchy) int { return strings.Compare(a.name, b.name) })
	return out
}

// controllerSet is a controller list in one order, to match
// /proc/<pid>/cgroup's list with a mount's options whatever their order.
func controllerSet(ctrls string) string {
	s := strings.Split(ctrls, ",")
	slices.Sort(s)
	return strings.Join(s, ",")
}
