package host

import (
	"strings"

	"berth/internal/mountinfo"
)

// Scan says which mounts of a table make the cgroup layout.
type Scan struct {
	// Known are the controller names (/proc/cgroups); the other super
	// options of a cgroup mount (rw, xattr, release_agent=...) are not
	// controllers. A "name=" option always counts.
	Known map[string]bool
	// Base, when set, keeps only the mounts below it (not Base itself).
	Base string
	// FSType, when set, is asked what a mount point really is (statfs
	// f_type): a mount hidden under a later one counts for nothing.
	FSType func(path string) (int64, error)
}

// Layout finds the cgroup mounts in a mount table. The first (reachable)
// mount of each hierarchy wins, as it does for every tool that reads the
// table, and a mount point shows one hierarchy only.
func (s Scan) Layout(mounts []mountinfo.Mount) *Layout {
	h := &Layout{}
	seen := make(map[string]bool)
	for _, m := range mounts {
		if s.Base != "" && !strings.HasPrefix(m.Mountpoint, s.Base+"/") || seen[m.Mountpoint] {
			continue
		}
		switch m.FSType {
		case "cgroup2":
			if h.V2Mount == "" && s.is(m.Mountpoint, cgroup2Magic) {
				h.V2Mount, h.V2Root = m.Mountpoint, m.Root
				seen[m.Mountpoint] = true
			}
		case "cgroup":
			ctrls := s.controllers(m.SuperOptions)
			key := strings.Join(ctrls, ",")
			if len(ctrls) == 0 || seen[key] || !s.is(m.Mountpoint, cgroupMagic) {
				continue
			}
			seen[key], seen[m.Mountpoint] = true, true
			h.V1 = append(h.V1, Hierarchy{Mountpoint: m.Mountpoint, Root: m.Root, Controllers: ctrls})
		}
	}
	return h
}

// controllers picks the controllers out of a cgroup mount's super options.
func (s Scan) controllers(superOptions string) []string {
	var ctrls []string
	for _, o := range strings.Split(superOptions, ",") {
		if s.Known[o] || strings.HasPrefix(o, "name=") {
			ctrls = append(ctrls, o)
		}
	}
	return ctrls
}

// is reports whether the mount point is of the filesystem the table
// names; without FSType the table is taken at its word.
func (s Scan) is(point string, magic int64) bool {
	if s.FSType == nil {
		return true
	}
	t, err := s.FSType(point)
	return err == nil && t == magic
}

// UnderBase is the layout below base as the kernel shows it: base's own
// filesystem type (magic) settles a v2 host, whose root is that of the
// last cgroup2 mount on base in the table; otherwise the cgroup mounts
// below base that fsType confirms make it. Pure: statfs comes in as
// fsType, the controller names as known.
func UnderBase(base string, mounts []mountinfo.Mount, known map[string]bool, magic int64, fsType func(string) (int64, error)) *Layout {
	if magic == cgroup2Magic {
		l := &Layout{Unified: true, V2Mount: base, V2Root: "/"}
		for _, m := range mounts {
			if m.Mountpoint == base {
				l.V2Root = m.Root
				if m.FSType != "cgroup2" {
					l.V2Root = "/"
				}
			}
		}
		return l
	}
	return Scan{Known: known, Base: base, FSType: fsType}.Layout(mounts)
}
