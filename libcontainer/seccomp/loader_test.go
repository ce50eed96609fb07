package seccomp

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// loadProg installs prog, compiled from c, on the calling thread, as the C
// executor does before execve (nsenter/cexec.c): the tests load what
// Compile makes to see the kernel apply it (on every
// thread of the process with SECCOMP_FILTER_FLAG_TSYNC). The filter cannot
// be removed: the caller should hold runtime.LockOSThread and execve soon
// after. Unless the process has CAP_SYS_ADMIN in its user namespace, the
// kernel requires no_new_privs to be set first; that is the caller's job.
//
// When a rule of c uses SCMP_ACT_NOTIFY the filter gets a user-notification
// listener, and loadProg returns its fd (close-on-exec); otherwise -1.
func loadProg(c *specs.LinuxSeccomp, prog []unix.SockFilter) (listenerFd int, err error) {
	if c == nil {
		return -1, errors.New("seccomp: no config")
	}
	if len(prog) == 0 || len(prog) > unix.BPF_MAXINSNS {
		return -1, fmt.Errorf("seccomp: a filter has 1 to %d instructions, not %d", unix.BPF_MAXINSNS, len(prog))
	}
	flags, err := filterFlags(c)
	if err != nil {
		return -1, err
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	r, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, flags, uintptr(unsafe.Pointer(&fprog)))
	runtime.KeepAlive(prog)
	call := "seccomp(SECCOMP_SET_MODE_FILTER, " + flagNames(flags) + ")"
	switch {
	case errno == unix.EACCES:
		return -1, fmt.Errorf("%s: %w (no_new_privs is not set and the process lacks CAP_SYS_ADMIN)", call, errno)
	case errno != 0:
		return -1, fmt.Errorf("%s: %w", call, errno)
	case flags&unix.SECCOMP_FILTER_FLAG_NEW_LISTENER != 0:
		return int(r), nil
	case r != 0:
		// TSYNC without a listener reports the thread it could not
		// synchronise as a positive return.
		return -1, fmt.Errorf("%s: thread %d cannot take the filter", call, r)
	}
	return -1, nil
}

func flagNames(flags uintptr) string {
	if flags == 0 {
		return "0"
	}
	var names []string
	for _, f := range []struct {
		bit  uintptr
		name string
	}{
		{unix.SECCOMP_FILTER_FLAG_TSYNC, "TSYNC"},
		{unix.SECCOMP_FILTER_FLAG_LOG, "LOG"},
		{unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW, "SPEC_ALLOW"},
		{unix.SECCOMP_FILTER_FLAG_NEW_LISTENER, "NEW_LISTENER"},
		{unix.SECCOMP_FILTER_FLAG_TSYNC_ESRCH, "TSYNC_ESRCH"},
		{unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, "WAIT_KILLABLE_RECV"},
	} {
		if flags&f.bit != 0 {
			names = append(names, "SECCOMP_FILTER_FLAG_"+f.name)
		}
	}
	return strings.Join(names, "|")
}
