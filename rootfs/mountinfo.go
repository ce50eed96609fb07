package rootfs

import (
	"golang.org/x/sys/unix"
)

// mountIDOf returns the id of the mount an fd (or path, with fd=AT_FDCWD)
// sits on, and whether the object is that mount's root.
func mountIDOf(fd int, path string) (id uint64, isRoot bool, err error) {
	var stx unix.Statx_t
	flags := unix.AT_SYMLINK_NOFOLLOW
	if path == "" {
		flags |= unix.AT_EMPTY_PATH
	}
	if err := unix.Statx(fd, path, flags, unix.STATX_MNT_ID, &stx); err != nil {
		return 0, false, err
	}
	if stx.Mask&unix.STATX_MNT_ID == 0 {
		return 0, false, unix.ENOSYS
	}
	isRoot = stx.Attributes_mask&unix.STATX_ATTR_MOUNT_ROOT != 0 && stx.Attributes&unix.STATX_ATTR_MOUNT_ROOT != 0
	return stx.Mnt_id, isRoot, nil
}
