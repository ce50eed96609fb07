package cgroups

import (
	"fmt"

	"golang.org/x/sys/unix"

	"berth/cgroups/internal/cgfs"
)

// Freezer is the part of a Manager SignalAll needs.
type Freezer interface {
	Freeze() error
	Thaw() error
	FreezerState() (FreezerState, error)
	Pids() ([]int, error)
}

// SignalAll sends sig to every process in the cgroup, for a driver's
// Signal. It freezes the cgroup first so no process forks a child the
// list misses, then thaws it again, unless it was frozen before (a paused
// container keeps its signals pending until resumed), except for SIGKILL,
// whose processes must run to die.
func SignalAll(m Freezer, sig unix.Signal) error {
	// An empty cgroup stays empty: nothing in it can fork, and a process
	// joins a container's cgroup only through berth, which does so for a
	// running container alone. Deleting a stopped container is the common
	// case, and a freeze there costs a write, a wait and a thaw.
	if pids, err := m.Pids(); err == nil && len(pids) == 0 {
		return nil
	}
	st, err := m.FreezerState()
	if err != nil {
		return err
	}
	froze := false
	if st != Frozen {
		if err := m.Freeze(); err == nil {
			froze = true
		}
	}
	pids, err := m.Pids()
	if err == nil {
		self := unix.Getpid()
		for _, pid := range pids {
			if pid == self {
				// Should berth itself be in the cgroup, it is no target.
				continue
			}
			if kerr := unix.Kill(pid, sig); kerr != nil && kerr != unix.ESRCH {
				err = fmt.Errorf("kill %d %s: %w", pid, unix.SignalName(sig), kerr)
				break
			}
		}
	}
	if froze || sig == unix.SIGKILL {
		if terr := m.Thaw(); terr != nil && err == nil && !cgfs.IsNotExist(terr) {
			err = terr
		}
	}
	return err
}
