package rootfs

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// MountConsole bind-mounts the pty slave (slaveFd, opened from the master,
// never looked up again by a path the container could change; slavePath
// names it in messages) over /dev/console, creating /dev/console as an
// empty file when it is missing. It runs after Setup.
//
// /dev/console must be a plain file or a device node: were it a symlink
// the container planted, the bind would land on whatever it points to
// (CVE-2025-52565), so it is opened without following and refused. The C
// init's mount_console (nsenter/cinit.c) is the same step.
func MountConsole(slaveFd int, slavePath string) error {
	rootFd, err := openRoot("/")
	if err != nil {
		return err
	}
	defer unix.Close(rootFd)

	var st unix.Stat_t
	if err := unix.Fstat(slaveFd, &st); err != nil {
		return fmt.Errorf("stat console %q: %w", slavePath, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFCHR {
		return fmt.Errorf("console %q is not a character device", slavePath)
	}
	slave := slaveFd

	dev, err := resolveInRoot(rootFd, "/dev", createDir, 0o755)
	if err != nil {
		return fmt.Errorf("mkdir \"/dev\": %w", err)
	}
	defer dev.close()
	f, err := unix.Openat(dev.fd, "console", unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_RDONLY|unix.O_CLOEXEC, 0o666)
	if err == nil {
		unix.Close(f)
	} else if !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("create /dev/console: %w", err)
	}
	console, err := unix.Openat(dev.fd, "console", unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open /dev/console: %w", err)
	}
	defer unix.Close(console)
	if err := unix.Fstat(console, &st); err != nil {
		return fmt.Errorf("stat /dev/console: %w", err)
	}
	if m := st.Mode & unix.S_IFMT; m != unix.S_IFREG && m != unix.S_IFCHR {
		return fmt.Errorf("/dev/console is neither a file nor a device node (a symlink?), refusing to mount over it")
	}
	if err := unix.Mount(procFd(slave), procFd(console), "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind mount %q on /dev/console: %w", slavePath, err)
	}
	return nil
}
