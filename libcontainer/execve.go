package libcontainer

import (
	"fmt"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"berth/libcontainer/lsm"
)

// finalExec is the last step of every container process: the address-space
// limits (RLIMIT_AS, RLIMIT_DATA) and then execve, as raw syscalls with
// everything allocated beforehand. A Go process reserves far more address
// space than it uses (~1.5 GB of VmSize for berth's init), so once such a
// limit is below that, any allocation would fail ("runtime: out of memory");
// execve then starts the workload in a fresh address space under the limit.
type finalExec struct {
	argv0  *byte
	argv   []*byte
	envv   []*byte
	limits []deferredLimit
	lsm    *lsm.ExecAttrs // written by the caller just before run
	env    []string       // the process's environment, HOME filled in
}

type deferredLimit struct {
	res int
	lim unix.Rlimit
}

func newFinalExec(path string, args, env []string, limits []deferredLimit) (*finalExec, error) {
	argv0, err := syscall.BytePtrFromString(path)
	if err != nil {
		return nil, fmt.Errorf("exec %q: %w", path, err)
	}
	argv, err := syscall.SlicePtrFromStrings(args)
	if err != nil {
		return nil, fmt.Errorf("process.args: %w", err)
	}
	envv, err := syscall.SlicePtrFromStrings(env)
	if err != nil {
		return nil, fmt.Errorf("process.env: %w", err)
	}
	return &finalExec{argv0: argv0, argv: argv, envv: envv, limits: limits, env: env}, nil
}

// run does not return on success. It must not allocate.
func (f *finalExec) run() unix.Errno {
	for i := range f.limits {
		l := &f.limits[i]
		_, _, e := unix.RawSyscall6(unix.SYS_PRLIMIT64, 0, uintptr(l.res), uintptr(unsafe.Pointer(&l.lim)), 0, 0, 0)
		if e != 0 {
			return e
		}
	}
	_, _, e := unix.RawSyscall(unix.SYS_EXECVE, uintptr(unsafe.Pointer(f.argv0)),
		uintptr(unsafe.Pointer(&f.argv[0])), uintptr(unsafe.Pointer(&f.envv[0])))
	return e
}
