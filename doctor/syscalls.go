package doctor

import (
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

func (h *host) pidfdCheck() Check {
	c := Check{Name: "pidfd_open"}
	fd, err := unix.PidfdOpen(os.Getpid(), 0)
	if err != nil {
		c.Status, c.Detail = Warn, "pidfd_open on self: "+h.blocked(err)
		c.Hint = "kernel 5.3 or later lets berth signal and wait on a process without pid-reuse races"
		return c
	}
	unix.Close(fd)
	c.Status, c.Detail = OK, "works (pidfd_open on self)"
	return c
}

func (h *host) clone3Check() Check {
	c := Check{Name: "clone3"}
	// A size below CLONE_ARGS_SIZE_VER0 is rejected with EINVAL before
	// anything else, so nothing is ever cloned.
	_, _, errno := unix.Syscall(unix.SYS_CLONE3, 0, 0, 0)
	if errno == unix.EINVAL {
		c.Status, c.Detail = OK, "available (clone3 with an empty argument returns EINVAL)"
		return c
	}
	c.Status, c.Detail = Warn, "clone3 with an empty argument: "+h.blocked(errno)
	c.Hint = "kernel 5.3 or later (5.7 for CLONE_INTO_CGROUP); berth falls back to clone"
	return c
}

func (h *host) openat2Check() Check {
	c := Check{Name: "openat2"}
	fd, err := unix.Openat2(unix.AT_FDCWD, "/", &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	})
	if err != nil {
		c.Status, c.Detail = Warn, "openat2 RESOLVE_IN_ROOT on /: "+h.blocked(err)
		c.Hint = "kernel 5.6 or later: without it berth resolves rootfs paths with its own walker, and `berth bundle` cannot unpack images"
		return c
	}
	unix.Close(fd)
	c.Status, c.Detail = OK, "works (RESOLVE_IN_ROOT on /)"
	return c
}

// timeNamespaceProbe unshares a time namespace on a thread of its own.
// CLONE_NEWTIME moves no one (only children born after it would enter the
// namespace), and the thread dies with its goroutine because it is never
// unlocked, so the rest of berth never sees it.
func timeNamespaceProbe() error {
	done := make(chan error)
	go func() {
		runtime.LockOSThread()
		done <- unix.Unshare(unix.CLONE_NEWTIME)
	}()
	return <-done
}

func (h *host) timeNamespaceCheck() Check {
	c := Check{Name: "time namespaces"}
	_, statErr := os.Stat("/proc/self/ns/time")
	err := timeNamespaceProbe()
	errno, _ := errnoOf(err)
	switch {
	case err == nil:
		c.Status, c.Detail = OK, "unshare(CLONE_NEWTIME) works"
	case errno == unix.EPERM && statErr == nil && os.Geteuid() != 0:
		// Unprivileged callers cannot unshare one outside a user namespace
		// of their own; the namespace file shows the kernel has them.
		c.Status, c.Detail = OK, "present (/proc/self/ns/time); unshare(CLONE_NEWTIME) needs CAP_SYS_ADMIN, not probed"
	default:
		c.Status, c.Detail = Warn, "unshare(CLONE_NEWTIME): "+h.blocked(err)
		c.Hint = "kernel 5.6 or later with CONFIG_TIME_NS: linux.timeOffsets and time namespaces cannot be used"
	}
	return c
}
