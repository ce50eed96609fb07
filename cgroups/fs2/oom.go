package fs2

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"berth/cgroups"
	"berth/cgroups/internal/cgfs"
)

// NotifyOOM watches memory.events with inotify: the kernel marks it
// modified on every event, and berth reports when "oom" or "oom_kill"
// grows.
func (m *Manager) NotifyOOM() (*cgroups.OOMNotifier, error) {
	dir := m.dir
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("inotify_init1: %w", err)
	}
	if _, err := unix.InotifyAddWatch(fd, dir+"/memory.events", unix.IN_MODIFY); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("inotify_add_watch %s/memory.events: %w", dir, err)
	}
	// cgroup.events turns "populated 0" when the last process leaves.
	if _, err := unix.InotifyAddWatch(fd, dir+"/cgroup.events", unix.IN_MODIFY); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("inotify_add_watch %s/cgroup.events: %w", dir, err)
	}
	count := func() uint64 {
		kv, _ := cgfs.ReadKV(dir, "memory.events")
		return kv["oom"] + kv["oom_kill"]
	}
	last := count()
	return cgroups.WatchOOM(os.NewFile(uintptr(fd), "inotify"), func() (bool, bool) {
		n := count()
		oom := n > last
		last = n
		kv, err := cgfs.ReadKV(dir, "cgroup.events")
		return oom, err != nil || kv["populated"] == 0
	}), nil
}
