package cgfs

import (
	"io/fs"
	"testing"

	"golang.org/x/sys/unix"
)

func TestIsNotExist(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{&fs.PathError{Op: "open", Path: "/sys/fs/cgroup/x/memory.max", Err: unix.ENOENT}, true},
		{&fs.PathError{Op: "read", Path: "/sys/fs/cgroup/x/cgroup.events", Err: unix.ENODEV}, true},
		{&fs.PathError{Op: "write", Path: "/sys/fs/cgroup/x/cgroup.procs", Err: unix.EACCES}, false},
		{nil, false},
	} {
		if got := IsNotExist(tc.err); got != tc.want {
			t.Errorf("IsNotExist(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
