package cgroups

import (
	"fmt"
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// StartIn runs start, which forks the container's process, so that the
// process is born in the cgroup and never has to be moved:
//   - cgroup v2: start gets the cgroup directory's fd for clone3
//     CLONE_INTO_CGROUP.
//   - cgroup v1: start runs on an OS thread first moved into the cgroup
//     of every hierarchy by writing "0" (the calling thread) to its tasks
//     file; a process forked by that thread inherits its cgroups. Moving a
//     pid through cgroup.procs takes the kernel's threadgroup lock, whose
//     first writer after a quiet spell waits for an RCU grace period
//     (measured 1-24 ms here); moving the writing thread itself takes no
//     such lock (~20 us). The thread is never unlocked, so it exits with
//     the goroutine instead of serving other goroutines from inside the
//     container's cgroups. On a hybrid host start also gets the cgroup2
//     directory's fd.
//
// start gets -1 when there is no cgroup2 directory.
func StartIn(m Manager, start func(cgroupFD int) error) error {
	if err := m.Create(); err != nil {
		return err
	}
	v1, ok := m.(*v1Manager)
	if !ok {
		return withDirFD(m.Paths()[unifiedKey], start)
	}
	type result struct {
		tid int
		err error
	}
	var spawn func(done chan<- result)
	spawn = func(done chan<- result) {
		runtime.LockOSThread()
		tid := unix.Gettid()
		if tid == unix.Getpid() {
			// The main thread cannot exit, so it must not be the one left
			// in the container's cgroups: keep it locked here (it then runs
			// no other goroutine) and spawn from another thread.
			inner := make(chan result, 1)
			go spawn(inner)
			r := <-inner
			runtime.UnlockOSThread()
			done <- r
			return
		}
		done <- result{tid, v1.startOnThread(start)}
		// Returning without UnlockOSThread ends the thread.
	}
	done := make(chan result, 1)
	go spawn(done)
	r := <-done
	waitThreadGone(r.tid)
	return r.err
}

// waitThreadGone waits (briefly) until thread tid of this process has
// exited, so that it is no member of the container's cgroups when the
// caller goes on: a kill or freeze of the cgroup must never reach berth.
func waitThreadGone(tid int) {
	pid := unix.Getpid()
	for i := 0; i < 10000; i++ {
		if unix.Tgkill(pid, tid, 0) == unix.ESRCH {
			return
		}
		time.Sleep(10 * time.Microsecond)
	}
}

func (m *v1Manager) startOnThread(start func(cgroupFD int) error) error {
	unified := m.paths[unifiedKey]
	for _, dir := range m.dirs() {
		if dir == unified {
			continue
		}
		if err := writeFile(dir, "tasks", "0", "move the spawning thread"); err != nil {
			return err
		}
	}
	return withDirFD(unified, start)
}

// withDirFD calls start with an fd of dir, or -1 when dir is "".
func withDirFD(dir string, start func(int) error) error {
	if dir == "" {
		return start(-1)
	}
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open cgroup %s: %w", dir, err)
	}
	defer unix.Close(fd)
	return start(fd)
}
