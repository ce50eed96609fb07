package doctor

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// blocked words a syscall error: ENOSYS is an old kernel, EPERM usually a
// seccomp filter around berth.
func blocked(err error) string {
	switch {
	case errors.Is(err, unix.ENOSYS):
		return "not in this kernel (ENOSYS)"
	case errors.Is(err, unix.EPERM):
		return "refused (EPERM): a seccomp filter around berth?"
	}
	return err.Error()
}

func pidfdCheck() Check {
	c := Check{Name: "pidfd_open"}
	fd, err := unix.PidfdOpen(os.Getpid(), 0)
	if err != nil {
		c.Status, c.Detail = Warn, "pidfd_open: "+blocked(err)
		c.Hint = "kernel 5.3 or later lets berth signal and wait on a process without pid-reuse races"
		return c
	}
	unix.Close(fd)
	c.Status, c.Detail = OK, "works (pidfd_open on self)"
	return c
}

func clone3Check() Check {
	c := Check{Name: "clone3"}
	// A size below CLONE_ARGS_SIZE_VER0 is rejected with EINVAL before
	// anything else, so nothing is ever cloned.
	_, _, errno := unix.Syscall(unix.SYS_CLONE3, 0, 0, 0)
	if errno == unix.EINVAL {
		c.Status, c.Detail = OK, "available (clone3 with an empty argument returns EINVAL)"
		return c
	}
	c.Status, c.Detail = Warn, "clone3: "+blocked(errno)
	c.Hint = "kernel 5.3 or later (5.7 for CLONE_INTO_CGROUP); berth falls back to clone"
	return c
}

func openat2Check() Check {
	c := Check{Name: "openat2"}
	fd, err := unix.Openat2(unix.AT_FDCWD, "/", &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	})
	if err != nil {
		c.Status, c.Detail = Warn, "openat2: "+blocked(err)
		c.Hint = "kernel 5.6 or later: without it berth resolves rootfs paths with its own walker, and `berth bundle` cannot unpack images"
		return c
	}
	unix.Close(fd)
	c.Status, c.Detail = OK, "works (RESOLVE_IN_ROOT on /)"
	return c
}

func timeNamespaceCheck() Check {
	c := Check{Name: "time namespaces"}
	if _, err := os.Stat("/proc/self/ns/time"); err != nil {
		c.Status, c.Detail = Warn, fmt.Sprintf("no /proc/self/ns/time (%v)", errors.Unwrap(err))
		c.Hint = "kernel 5.6 or later with CONFIG_TIME_NS: linux.timeOffsets and time namespaces cannot be used"
		return c
	}
	c.Status, c.Detail = OK, "available (/proc/self/ns/time)"
	return c
}
