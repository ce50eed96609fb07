package caps

import (
	"errors"
	"testing"

	"golang.org/x/sys/unix"
)

func TestLastCapMatchesKernel(t *testing.T) {
	last := LastCap()
	if _, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, uintptr(last), 0, 0, 0); err != nil {
		t.Errorf("PR_CAPBSET_READ(%d) = %v; LastCap is past the kernel's last capability", last, err)
	}
	if _, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, uintptr(last+1), 0, 0, 0); !errors.Is(err, unix.EINVAL) {
		t.Errorf("PR_CAPBSET_READ(%d) = %v, want EINVAL; LastCap is below the kernel's last capability", last+1, err)
	}
}
