package rootfs

import (
	"slices"
	"strings"

	"berth/internal/mountinfo"
	"berth/nsenter"
)

// --no-pivot moves the rootfs onto "/" and chroots into it: the old root's
// mounts stay in the container's mount namespace, out of sight but not out
// of reach of the kernel's rule for mounting a procfs or sysfs from a user
// namespace of one's own (fs/namespace.c, mnt_already_visible): it is
// allowed when the mount namespace holds one fully visible instance
// (mounted at its root, nothing locked covering anything in it). The
// container's own /proc and /sys are not, thanks to masked and read-only
// paths; the host's are. So before the move every host proc and sysfs
// mount outside the rootfs is detached, or covered by a tmpfs where it is
// locked (a mount namespace of a user namespace cannot unmount what it
// copied): once copied into a less privileged namespace the tmpfs is
// locked too, and covers a non-empty directory. runc's msMoveRoot does the
// same.

// hostFS is a host proc or sysfs mount that --no-pivot takes away.
type hostFS struct {
	id         int
	mountpoint string
	fstype     string
	// parentID and parent are the mount it sits on and its mount point
	// (0 and "" when the table does not have it): an unmount propagates
	// to the peers of the parent, so the parent is made a slave first.
	parentID int
	parent   string
	depth    int // how many mounts of the table it sits on
}

// noPivotHostFS lists the full proc and sysfs mounts of mounts that are
// not under rootfs, deepest first (so that each is still reachable at its
// mount point when its turn comes, whether the ones before it were
// detached or covered), table order among equals. One with a mount on top
// of its root is left out: hidden under a mount of its own, it is not
// fully visible to the kernel's check, and its mount point names the
// mount on top.
func noPivotHostFS(mounts []mountinfo.Mount, rootfs string) []hostFS {
	byID := map[int]mountinfo.Mount{}
	covered := map[int]bool{}
	for _, m := range mounts {
		byID[m.ID] = m
	}
	for _, m := range mounts {
		if p, ok := byID[m.Parent]; ok && p.Mountpoint == m.Mountpoint {
			covered[p.ID] = true
		}
	}
	var out []hostFS
	for _, m := range mounts {
		if (m.FSType != "proc" && m.FSType != "sysfs") || m.Root != "/" || under(m.Mountpoint, rootfs) || covered[m.ID] {
			continue
		}
		h := hostFS{id: m.ID, mountpoint: m.Mountpoint, fstype: m.FSType}
		if p, ok := byID[m.Parent]; ok {
			h.parentID, h.parent = p.ID, p.Mountpoint
		}
		seen := map[int]bool{m.ID: true}
		for p, ok := byID[m.Parent]; ok && !seen[p.ID]; p, ok = byID[p.Parent] {
			seen[p.ID] = true
			h.depth++
		}
		out = append(out, h)
	}
	slices.SortStableFunc(out, func(a, b hostFS) int { return b.depth - a.depth })
	return out
}

// under reports whether path is dir or below it (both clean and absolute).
func under(path, dir string) bool {
	return dir == "/" || path == dir || strings.HasPrefix(path, dir+"/")
}

// How OpDetach takes a host mount away (n2), decided from the init's
// namespaces: a mount namespace a user namespace made (a new mount
// namespace of a container with a user namespace) holds every mount it
// copied locked, which no unmount may reveal (EINVAL), so a read-only
// tmpfs covers it; without a user namespace root detaches it; in a joined
// mount namespace of a user namespace the locks are not in the mount
// table, so the unmount is tried and EINVAL, the kernel's answer for a
// locked mount, means cover.
func detachBits(userNS, joinedMountNS bool) uint64 {
	switch {
	case !userNS:
		return 0
	case joinedMountNS:
		return nsenter.BitCoverOnEINVAL
	}
	return nsenter.BitCover
}
