package doctor

import (
	"path/filepath"
	"strings"

	"berth/internal/mountinfo"
)

// mountOf finds the mount holding path (already free of symlinks): the
// last-mounted entry with the longest mountpoint prefix.
func mountOf(mounts []mountinfo.Mount, path string) (mountinfo.Mount, bool) {
	path = filepath.Clean(path)
	best, found := mountinfo.Mount{}, false
	for _, m := range mounts {
		p := m.Mountpoint
		if p != "/" && path != p && !strings.HasPrefix(path, p+"/") {
			continue
		}
		if !found || len(p) >= len(best.Mountpoint) {
			best, found = m, true
		}
	}
	return best, found
}
