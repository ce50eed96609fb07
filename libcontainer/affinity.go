package libcontainer

import (
	"fmt"
	"runtime"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"berth/libcontainer/procattr"
)

// initProcess is the container's process as its init makes it: without
// process.execCPUAffinity, which the spec keeps for exec'd processes (an
// exec without a process file takes it from config.json).
func initProcess(p *specs.Process) *specs.Process {
	if p == nil || p.ExecCPUAffinity == nil {
		return p
	}
	q := *p
	q.ExecCPUAffinity = nil
	return &q
}

// withInitialAffinity wraps start, the fork of an exec's stub, for
// process.execCPUAffinity.initial: the fork runs on a thread pinned to
// those CPUs, so the stub starts there, and the thread gets its own CPUs
// back after. Joining the container's cgroup (or being born in it) then
// gives the stub the CPUs of the cgroup's cpuset, as the spec has it.
func withInitialAffinity(proc *specs.Process, start func() error) (func() error, error) {
	mask, msg, err := procattr.InitialAffinity(proc)
	if err != nil || mask == nil {
		return start, err
	}
	return func() error {
		runtime.LockOSThread()
		old := make([]uint64, 1024) // as many CPUs as the kernel can have
		n, _, e := unix.RawSyscall(unix.SYS_SCHED_GETAFFINITY, 0, uintptr(len(old)*8), uintptr(unsafe.Pointer(&old[0])))
		if e != 0 {
			runtime.UnlockOSThread()
			return fmt.Errorf("%s: sched_getaffinity: %w", msg, e)
		}
		if _, _, e := unix.RawSyscall(unix.SYS_SCHED_SETAFFINITY, 0, uintptr(len(mask)*8), uintptr(unsafe.Pointer(&mask[0]))); e != 0 {
			runtime.UnlockOSThread()
			return fmt.Errorf("%s: %w", msg, e)
		}
		err := start()
		if _, _, e := unix.RawSyscall(unix.SYS_SCHED_SETAFFINITY, 0, n, uintptr(unsafe.Pointer(&old[0]))); e == 0 {
			// A thread left pinned must not serve other goroutines: it
			// ends with this one instead.
			runtime.UnlockOSThread()
		}
		return err
	}, nil
}
