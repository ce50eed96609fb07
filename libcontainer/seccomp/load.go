package seccomp

import (
	"fmt"
	"slices"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// filterFlags turns c.flags into seccomp(2) flags, adding the listener
// when a rule notifies.
func filterFlags(c *specs.LinuxSeccomp) (uintptr, error) {
	var flags uintptr
	for i, f := range c.Flags {
		bit, ok := flagBits[f]
		if !ok {
			return 0, fmt.Errorf("linux.seccomp.flags[%d]: unknown flag %q", i, f)
		}
		flags |= bit
	}
	if usesNotify(c) {
		flags |= unix.SECCOMP_FILTER_FLAG_NEW_LISTENER
		if flags&unix.SECCOMP_FILTER_FLAG_TSYNC != 0 {
			// Without TSYNC_ESRCH the kernel refuses TSYNC with a
			// listener: both would use the return value.
			flags |= unix.SECCOMP_FILTER_FLAG_TSYNC_ESRCH
		}
	} else {
		// Meaningless without a listener, and the kernel rejects it.
		flags &^= unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
	}
	return flags, nil
}

func usesNotify(c *specs.LinuxSeccomp) bool {
	return slices.ContainsFunc(c.Syscalls, func(s specs.LinuxSyscall) bool { return s.Action == specs.ActNotify })
}

// SupportedActions lists the actions the running kernel implements
// (SECCOMP_GET_ACTION_AVAIL), sorted.
func SupportedActions() []string {
	var out []string
	for _, name := range KnownActions() {
		act := retValues[specs.LinuxSeccompAction(name)]
		_, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_GET_ACTION_AVAIL, 0, uintptr(unsafe.Pointer(&act)))
		if errno == 0 {
			out = append(out, name)
		}
	}
	return out
}

// SupportedFlags lists the config flags the running kernel accepts, sorted.
// Each is probed with a NULL program: the kernel validates the flags before
// it reads the program, so EFAULT means the flag is known, EINVAL that it
// is not, and nothing is installed either way.
func SupportedFlags() []string {
	var out []string
	for _, name := range KnownFlags() {
		bits := flagBits[specs.LinuxSeccompFlag(name)]
		if bits == unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV {
			bits |= unix.SECCOMP_FILTER_FLAG_NEW_LISTENER
		}
		_, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, bits, 0)
		if errno == unix.EFAULT {
			out = append(out, name)
		}
	}
	return out
}
