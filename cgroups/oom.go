package cgroups

import (
	"os"
	"sync"
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

// WatchOOM is the notifier loop a driver starts on f, an inotify or
// eventfd the kernel wakes on memory events: after each wake-up, check
// says whether an OOM event happened and whether the cgroup is gone (which
// closes C).
func WatchOOM(f *os.File, check func() (oom, gone bool)) *OOMNotifier {
	ch := make(chan struct{}, 1)
	go func() {
		defer close(ch)
		buf := make([]byte, 4096)
		for {
			if _, err := f.Read(buf); err != nil {
				return
			}
			oom, gone := check()
			if oom {
				select {
				case ch <- struct{}{}:
				default:
				}
			}
			if gone {
				return
			}
		}
	}()
	return &OOMNotifier{C: ch, f: f}
}
