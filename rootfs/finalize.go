package rootfs

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// Finalize applies linux.maskedPaths, linux.readonlyPaths and then
// root.readonly. It runs after Setup, inside the new root, and needs the
// container's /proc.
func Finalize(c *Config) error {
	if c == nil || c.Spec == nil {
		return errors.New("rootfs: no spec")
	}
	rootFd, err := openRoot("/")
	if err != nil {
		return err
	}
	defer unix.Close(rootFd)
	if linux := c.Spec.Linux; linux != nil {
		null := -1
		defer func() {
			if null >= 0 {
				unix.Close(null)
			}
		}()
		for i, p := range linux.MaskedPaths {
			if err := maskPath(rootFd, p, &null, mountLabel(c.Spec)); err != nil {
				return fmt.Errorf("mask %q (linux.maskedPaths[%d]): %w", p, i, err)
			}
		}
		for i, p := range linux.ReadonlyPaths {
			if err := readonlyPath(rootFd, p); err != nil {
				return fmt.Errorf("make %q read-only (linux.readonlyPaths[%d]): %w", p, i, err)
			}
		}
	}
	if c.Spec.Root != nil && c.Spec.Root.Readonly {
		if err := remountRootReadonly(); err != nil {
			return fmt.Errorf("remount / read-only (root.readonly): %w", err)
		}
	}
	return nil
}

// maskPath hides a directory under an empty read-only tmpfs and anything
// else under /dev/null. *null caches the checked /dev/null descriptor.
func maskPath(rootFd int, p string, null *int, label string) error {
	t, err := resolveInRoot(rootFd, p, createNone, 0)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return err
	}
	defer t.close()
	if t.parentFd < 0 {
		return errors.New("resolves to the container's root, which cannot be covered")
	}
	var st unix.Stat_t
	if err := unix.Fstat(t.fd, &st); err != nil {
		return fmt.Errorf("fstat: %w", err)
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		if err := unix.Mount("tmpfs", procFd(t.fd), "tmpfs", unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, labelData("tmpfs", "", label)); err != nil {
			return fmt.Errorf("mount tmpfs: %w", err)
		}
		return nil
	}
	if *null < 0 {
		fd, err := openDevNull(rootFd)
		if err != nil {
			return err
		}
		*null = fd
	}
	if err := unix.Mount(procFd(*null), procFd(t.fd), "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind mount /dev/null: %w", err)
	}
	return nil
}

// openDevNull opens the container's /dev/null and checks it really is the
// null device: the container controls /dev, and a /dev/null replaced by a
// symlink or another file would turn "masking" into exposing that file
// (CVE-2025-31133).
func openDevNull(rootFd int) (int, error) {
	t, err := resolveInRoot(rootFd, "/dev/null", createNone, 0)
	if err != nil {
		return -1, fmt.Errorf("open /dev/null: %w", err)
	}
	fd := t.fd
	t.fd = -1
	t.close()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("fstat /dev/null: %w", err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFCHR || unix.Major(st.Rdev) != 1 || unix.Minor(st.Rdev) != 3 {
		unix.Close(fd)
		return -1, fmt.Errorf("/dev/null in the container is not the null device (char 1:3), refusing to mask with it")
	}
	return fd, nil
}

// readonlyPath bind-mounts the path on itself and remounts that mount
// read-only, keeping the flags it already had (nosuid, nodev, ... which
// may be locked in a user namespace).
func readonlyPath(rootFd int, p string) error {
	t, err := resolveInRoot(rootFd, p, createNone, 0)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return err
	}
	defer t.close()
	if t.parentFd < 0 {
		return errors.New("resolves to the container's root (use root.readonly)")
	}
	if err := unix.Mount(procFd(t.fd), procFd(t.fd), "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind mount: %w", err)
	}
	mnt, err := reopenMount(t)
	if err != nil {
		return fmt.Errorf("reopen: %w", err)
	}
	defer unix.Close(mnt)
	var st unix.Statfs_t
	if err := unix.Fstatfs(mnt, &st); err != nil {
		return fmt.Errorf("statfs: %w", err)
	}
	flags := statfsToMountFlags(st.Flags)&lockableFlags | unix.MS_RDONLY
	if err := remountBind(mnt, flags, 0); err != nil {
		return fmt.Errorf("remount read-only: %w", err)
	}
	return nil
}

func remountRootReadonly() error {
	var st unix.Statfs_t
	if err := unix.Statfs("/", &st); err != nil {
		return fmt.Errorf("statfs: %w", err)
	}
	flags := statfsToMountFlags(st.Flags)&lockableFlags | unix.MS_RDONLY
	return unix.Mount("", "/", "", unix.MS_BIND|unix.MS_REMOUNT|flags, "")
}
