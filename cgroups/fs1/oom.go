package fs1

import (
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"

	"berth/cgroups"
	"berth/cgroups/internal/cgfs"
)

// NotifyOOM registers an eventfd for memory.oom_control in
// cgroup.event_control.
func (m *Manager) NotifyOOM() (*cgroups.OOMNotifier, error) {
	dir, ok := m.paths["memory"]
	if !ok {
		return nil, fmt.Errorf("OOM notification: the memory controller is not mounted on this host")
	}
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("eventfd: %w", err)
	}
	ofd, err := unix.Open(dir+"/memory.oom_control", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		unix.Close(efd)
		return nil, fmt.Errorf("open %s/memory.oom_control: %w", dir, err)
	}
	// The registration holds its own reference to the file.
	defer unix.Close(ofd)
	if err := cgfs.Write(dir, "cgroup.event_control", strconv.Itoa(efd)+" "+strconv.Itoa(ofd), "OOM notification"); err != nil {
		unix.Close(efd)
		return nil, err
	}
	f := os.NewFile(uintptr(efd), "eventfd")
	return cgroups.WatchOOM(f, func() (bool, bool) {
		// The kernel also signals when the cgroup is removed.
		gone := !cgfs.Exists(dir + "/memory.oom_control")
		return !gone, gone
	}), nil
}
