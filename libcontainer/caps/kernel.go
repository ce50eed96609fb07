package caps

import (
	"sync"

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
