package rootfs

import (
	"fmt"

	"golang.org/x/sys/unix"

	"berth/internal/mountinfo"
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

// makeParentPrivate makes the mount holding path private if it is shared:
// pivot_root refuses a new root whose parent mount is shared, and a shared
// parent would also copy the rootfs bind mount out to its peers.
func makeParentPrivate(path string) error {
	id, _, err := mountIDOf(unix.AT_FDCWD, path)
	if err != nil {
		return fmt.Errorf("statx %q: %w", path, err)
	}
	mounts, err := mountinfo.Read()
	if err != nil {
		return err
	}
	for _, m := range mounts {
		if uint64(m.ID) != id {
			continue
		}
		if m.Shared() {
			if err := unix.Mount("", m.Mountpoint, "", unix.MS_PRIVATE, ""); err != nil {
				return fmt.Errorf("make %q private: %w", m.Mountpoint, err)
			}
		}
		return nil
	}
	return fmt.Errorf("mount %d holding %q not found in /proc/self/mountinfo", id, path)
}
