package cgroups

import (
	"fmt"
	"os"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"
)

// OOMNotifier tells when the kernel's OOM killer acted in a container's
// cgroup, for `events`. C receives a value after each OOM event (several
// close together may arrive as one) and is closed when the cgroup goes
// away or Close is called.
type OOMNotifier struct {
	C    <-chan struct{}
	f    *os.File
	once sync.Once
}

// Close stops the notifier.
func (n *OOMNotifier) Close() { n.once.Do(func() { n.f.Close() }) }

// NotifyOOM watches m's memory cgroup: on v2 with inotify on
// memory.events (the kernel marks it modified on every event; berth
// reports when "oom" or "oom_kill" grows), on v1 with an eventfd
// registered for memory.oom_control in cgroup.event_control.
func NotifyOOM(m Manager) (*OOMNotifier, error) {
	paths := m.Paths()
	if m.Unified() {
		return notifyV2(paths[unifiedKey])
	}
	dir, ok := paths["memory"]
	if !ok {
		return nil, fmt.Errorf("OOM notification: the memory controller is not mounted on this host")
	}
	return notifyV1(dir)
}

func notifyV2(dir string) (*OOMNotifier, error) {
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
	f := os.NewFile(uintptr(fd), "inotify")
	ch := make(chan struct{}, 1)
	count := func() uint64 {
		kv, _ := readKV(dir, "memory.events")
		return kv["oom"] + kv["oom_kill"]
	}
	last := count()
	go func() {
		defer close(ch)
		buf := make([]byte, 4096)
		for {
			if _, err := f.Read(buf); err != nil {
				return
			}
			if n := count(); n > last {
				last = n
				notify(ch)
			}
			if kv, err := readKV(dir, "cgroup.events"); err != nil || kv["populated"] == 0 {
				return
			}
		}
	}()
	return &OOMNotifier{C: ch, f: f}, nil
}

func notifyV1(dir string) (*OOMNotifier, error) {
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
	if err := writeFile(dir, "cgroup.event_control", strconv.Itoa(efd)+" "+strconv.Itoa(ofd), "OOM notification"); err != nil {
		unix.Close(efd)
		return nil, err
	}
	f := os.NewFile(uintptr(efd), "eventfd")
	ch := make(chan struct{}, 1)
	go func() {
		defer close(ch)
		buf := make([]byte, 8)
		for {
			if _, err := f.Read(buf); err != nil {
				return
			}
			// The kernel also signals when the cgroup is removed.
			if !exists(dir + "/memory.oom_control") {
				return
			}
			notify(ch)
		}
	}()
	return &OOMNotifier{C: ch, f: f}, nil
}

func notify(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}
