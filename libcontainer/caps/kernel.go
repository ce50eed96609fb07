package caps

import (
	"errors"
	"fmt"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// LastCap returns the highest capability number the running kernel knows.
// It asks the kernel (PR_CAPBSET_READ fails with EINVAL past the last
// capability) instead of reading /proc/sys/kernel/cap_last_cap: inside a
// container being set up that file is whatever the rootfs or a volume put
// at /proc, and a "0" there once stopped the bounding-set drop after
// capability 0. The parent's answer also goes to the C executor in the
// exec record. It is worked out once per process.
func LastCap() int { return lastCap() }

var lastCap = sync.OnceValue(func() int {
	n := 0
	for n < 63 {
		if _, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, uintptr(n+1), 0, 0, 0); err != nil {
			break
		}
		n++
	}
	return n
})

// DropBounding removes from the calling thread's bounding set every
// capability not in s.Bounding. It needs CAP_SETPCAP, so it must run before
// the switch to the container user.
func (s *Sets) DropBounding() error {
	last := LastCap()
	for c := 0; c <= last; c++ {
		if s.Bounding&(1<<c) != 0 {
			continue
		}
		// Skipping capabilities already gone lets a runtime that itself
		// runs with a reduced bounding set (and maybe no CAP_SETPCAP)
		// still start containers that ask for no more than it has.
		in, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, uintptr(c), 0, 0, 0)
		if err != nil {
			return fmt.Errorf("read bounding set (%s): prctl(PR_CAPBSET_READ): %w", Name(c), err)
		}
		if in == 0 {
			continue
		}
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil {
			return fmt.Errorf("drop %s from the bounding set: prctl(PR_CAPBSET_DROP): %w", Name(c), err)
		}
	}
	return nil
}

// Apply sets the effective, permitted and inheritable sets of the calling
// thread, then replaces its ambient set. Call it after the user switch (with
// KeepCaps on during the switch, or the permitted set is already gone) on
// the locked thread that will execve.
func (s *Sets) Apply() error {
	// Version 3 carries 64 bits per set as two 32-bit halves, low half
	// first; pid 0 means the calling thread.
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	data := [2]unix.CapUserData{
		{Effective: uint32(s.Effective), Permitted: uint32(s.Permitted), Inheritable: uint32(s.Inheritable)},
		{Effective: uint32(s.Effective >> 32), Permitted: uint32(s.Permitted >> 32), Inheritable: uint32(s.Inheritable >> 32)},
	}
	if _, _, e := unix.RawSyscall(unix.SYS_CAPSET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0); e != 0 {
		return fmt.Errorf("capset(effective %#x, permitted %#x, inheritable %#x): %w",
			s.Effective, s.Permitted, s.Inheritable, e)
	}

	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil {
		if s.Ambient == 0 && errors.Is(err, unix.EINVAL) {
			return nil // kernel before 4.3: no ambient set, nothing asked of it
		}
		return fmt.Errorf("clear the ambient set: prctl(PR_CAP_AMBIENT_CLEAR_ALL): %w", err)
	}
	for m := s.Ambient; m != 0; m &= m - 1 {
		c := lowest(m)
		if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_RAISE, uintptr(c), 0, 0); err != nil {
			return fmt.Errorf("raise %s in the ambient set: prctl(PR_CAP_AMBIENT_RAISE): %w", Name(c), err)
		}
	}
	return nil
}

// KeepCaps sets or clears PR_SET_KEEPCAPS on the calling thread: while set,
// a switch from uid 0 to a non-zero uid keeps the permitted set (the
// effective set is cleared regardless). The flag is per thread, so set it on
// the same locked thread that switches user, and clear it afterwards.
func KeepCaps(on bool) error {
	v := 0
	if on {
		v = 1
	}
	if err := unix.Prctl(unix.PR_SET_KEEPCAPS, uintptr(v), 0, 0, 0); err != nil {
		return fmt.Errorf("prctl(PR_SET_KEEPCAPS, %d): %w", v, err)
	}
	return nil
}
