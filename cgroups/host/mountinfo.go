package host

import (
	"strings"

	"berth/internal/mountinfo"
)

// parseLayout finds the cgroup mounts in a mount table. The first mount
// of each hierarchy wins, as it does for every tool that reads the table.
func parseLayout(mounts []mountinfo.Mount, known map[string]bool) *Layout {
	h := &Layout{}
	seen := make(map[string]bool)
	for _, m := range mounts {
		switch m.FSType {
		case "cgroup2":
			if h.V2Mount == "" {
				h.V2Mount, h.V2Root = m.Mountpoint, m.Root
			}
		case "cgroup":
			var ctrls []string
			for _, o := range strings.Split(m.SuperOptions, ",") {
				if known[o] || strings.HasPrefix(o, "name=") {
					ctrls = append(ctrls, o)
				}
			}
			if len(ctrls) == 0 {
				continue
			}
			key := strings.Join(ctrls, ",")
			if seen[key] {
				continue
			}
			seen[key] = true
			h.V1 = append(h.V1, Hierarchy{Mountpoint: m.Mountpoint, Root: m.Root, Controllers: ctrls})
		}
	}
	return h
}
