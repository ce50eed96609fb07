package rootfs

import (
	"fmt"
	"strconv"

	"golang.org/x/sys/unix"
)

// ownProc is the container init's own procfs while it sets up the root
// (EnterOwnProc), or -1. It is also the working directory then, so the
// magic links procFd names resolve in it and never in a /proc of the
// rootfs, which the image or a volume could have shaped.
var ownProc = -1

// procFd is the magic-link path through which mount(2) and friends reach
// the object an fd holds, whatever happens to its name meanwhile: relative
// to the init's own procfs when there is one, else the caller's /proc
// (the parent's, or a test's).
func procFd(fd int) string {
	if ownProc >= 0 {
		return "self/fd/" + strconv.Itoa(fd)
	}
	return "/proc/self/fd/" + strconv.Itoa(fd)
}

// EnterOwnProc makes a new procfs instance mounted nowhere (fsopen):
// read-only, only the process directories (subset=pid), so a process that
// reaches it through the waiting init's /proc/1/fd finds nothing it could
// not see in its own /proc. It becomes the working directory until
// LeaveOwnProc; the caller keeps the returned fd (to open the exec fifo
// through it) and closes it. Call it before the root changes: in a user
// namespace the kernel allows a new procfs only while a full one is
// visible.
func EnterOwnProc() (int, error) {
	fs, err := unix.Fsopen("proc", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return -1, fmt.Errorf("fsopen(\"proc\") for the init's own procfs: %w", err)
	}
	defer unix.Close(fs)
	if err := unix.FsconfigSetString(fs, "subset", "pid"); err != nil {
		return -1, fmt.Errorf("fsconfig(subset=pid) for the init's own procfs: %w", err)
	}
	if err := unix.FsconfigCreate(fs); err != nil {
		return -1, fmt.Errorf("fsconfig(FSCONFIG_CMD_CREATE) for the init's own procfs: %w", err)
	}
	fd, err := unix.Fsmount(fs, unix.FSMOUNT_CLOEXEC, unix.MOUNT_ATTR_RDONLY|unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOEXEC)
	if err != nil {
		return -1, fmt.Errorf("fsmount for the init's own procfs: %w", err)
	}
	if err := unix.Fchdir(fd); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("chdir to the init's own procfs: %w", err)
	}
	ownProc = fd
	return fd, nil
}

// BackToOwnProc returns to the own procfs after a step that had to change
// the working directory (pivot_root, chroot, createContainer hooks).
func BackToOwnProc() error {
	if ownProc < 0 {
		return nil
	}
	if err := unix.Fchdir(ownProc); err != nil {
		return fmt.Errorf("chdir to the init's own procfs: %w", err)
	}
	return nil
}

// LeaveOwnProc ends the setup's use of the own procfs: the working
// directory goes back to "/" of the (new) root.
func LeaveOwnProc() error {
	if ownProc < 0 {
		return nil
	}
	ownProc = -1
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("chdir /: %w", err)
	}
	return nil
}
