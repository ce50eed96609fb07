package rootfs

import (
	"strings"

	"golang.org/x/sys/unix"
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
	mountpoint, fstype string
	// parent is the mount point of the mount it sits on ("" when the
	// table does not have it): an unmount propagates to the peers of the
	// parent, so the parent is made a slave first.
	parent string
}

// noPivotHostFS lists, in table order, the full proc and sysfs mounts of
// mounts that are not under rootfs.
func noPivotHostFS(mounts []mountInfo, rootfs string) []hostFS {
	at := map[int]string{}
	for _, m := range mounts {
		at[m.id] = m.mountpoint
	}
	var out []hostFS
	for _, m := range mounts {
		if (m.fstype != "proc" && m.fstype != "sysfs") || m.root != "/" || under(m.mountpoint, rootfs) {
			continue
		}
		out = append(out, hostFS{m.mountpoint, m.fstype, at[m.parent]})
	}
	return out
}

// under reports whether path is dir or below it (both clean and absolute).
func under(path, dir string) bool {
	return dir == "/" || path == dir || strings.HasPrefix(path, dir+"/")
}

// coverFlags are the flags of the tmpfs over a locked host mount.
const coverFlags = unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC
