package rootfs

import (
	"errors"
	"fmt"
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

// mountTable reads the mount table of /proc/self, or of proc
// ("/proc/<pid>"), the one the plan's mount decisions are computed from
// (a variable for the golden tests).
var mountTable = func(proc string) ([]mountInfo, error) {
	if proc == "" {
		return readMountinfo()
	}
	return readMountinfoOf(proc + "/mountinfo")
}

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

// hideHostFS takes every hostFS of this mount namespace away (Setup, just
// before moveRoot).
func hideHostFS(rootfs string) error {
	mounts, err := mountTable("")
	if err != nil {
		return fmt.Errorf("--no-pivot: find the host's proc and sysfs mounts: %w", err)
	}
	for _, h := range noPivotHostFS(mounts, rootfs) {
		if err := h.hide(); err != nil {
			return err
		}
	}
	return nil
}

// hide is one hostFS taken away, as nsenter/cinit.c's OP_DETACH does it.
// Its parent is made a slave (alone: the rootfs may sit on it), and the
// mount itself rslave, so that neither its unmount nor its children's can
// propagate to the host, whatever linux.rootfsPropagation made of the
// mounts; a mount point that no longer resolves to a mount went with one
// detached before it.
func (h hostFS) hide() error {
	if h.parent != "" {
		switch err := unix.Mount("", h.parent, "", unix.MS_SLAVE, ""); {
		case errors.Is(err, unix.ENOENT), errors.Is(err, unix.EINVAL):
			return nil
		case err != nil:
			return fmt.Errorf("make %q, under host %s mount %q, a slave (--no-pivot): %w", h.parent, h.fstype, h.mountpoint, err)
		}
	}
	switch err := unix.Mount("", h.mountpoint, "", unix.MS_SLAVE|unix.MS_REC, ""); {
	case errors.Is(err, unix.ENOENT), errors.Is(err, unix.EINVAL):
		return nil
	case err != nil:
		return fmt.Errorf("make host %s mount %q rslave (--no-pivot): %w", h.fstype, h.mountpoint, err)
	}
	err := unix.Unmount(h.mountpoint, unix.MNT_DETACH|unix.UMOUNT_NOFOLLOW)
	if err == nil {
		return nil
	}
	if !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.EPERM) {
		return fmt.Errorf("detach host %s mount %q (--no-pivot): %w", h.fstype, h.mountpoint, err)
	}
	if err := unix.Mount("tmpfs", h.mountpoint, "tmpfs", coverFlags, ""); err != nil {
		return fmt.Errorf("cover host %s mount %q with a tmpfs (--no-pivot): %w", h.fstype, h.mountpoint, err)
	}
	return nil
}

// coverFlags are the flags of the tmpfs over a locked host mount.
const coverFlags = unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC
