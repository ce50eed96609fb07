package cgroups

import (
	"errors"
	"fmt"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// FreezerState is whether a cgroup's processes are frozen.
type FreezerState string

// Freezer states (v1 freezer.state names; v2 maps cgroup.freeze and the
// "frozen" key of cgroup.events onto them).
const (
	Thawed   FreezerState = "THAWED"
	Freezing FreezerState = "FREEZING"
	Frozen   FreezerState = "FROZEN"
)

// How long Freeze waits for every process to stop, and Destroy for a
// cgroup to empty.
const (
	freezeTimeout  = 10 * time.Second
	destroyTimeout = time.Second
)

// CheckNotFrozen fails when the cgroup of m already exists and is frozen
// or freezing, by itself or through an ancestor: a container started in
// it would stop in its init before running anything, and create would
// wait for it forever (runc refuses such a cgroup too). It reads the v1
// freezer's freezer.state, and in a cgroup2 directory (v2, or a hybrid
// host's controller-less one, which has a freezer of its own)
// cgroup.freeze and the "frozen" key of cgroup.events. A cgroup that does
// not exist yet passes.
func CheckNotFrozen(m Manager) error {
	paths := m.Paths()
	if dir, ok := paths["freezer"]; ok {
		st, err := readTrimmed(dir, "freezer.state")
		if err != nil && !isNotExist(err) {
			return fmt.Errorf("read %s/freezer.state: %w", dir, err)
		}
		if st == string(Frozen) || st == string(Freezing) {
			return fmt.Errorf("cgroup %s is frozen (freezer.state %s): thaw it or use another cgroup", dir, st)
		}
	}
	if dir, ok := paths[unifiedKey]; ok {
		self, err := readTrimmed(dir, "cgroup.freeze")
		if err != nil && !isNotExist(err) {
			return fmt.Errorf("read %s/cgroup.freeze: %w", dir, err)
		}
		if self == "1" {
			return fmt.Errorf("cgroup %s is frozen (cgroup.freeze 1): thaw it or use another cgroup", dir)
		}
		if err == nil {
			ev, err := readKV(dir, "cgroup.events")
			if err != nil && !isNotExist(err) {
				return fmt.Errorf("read %s/cgroup.events: %w", dir, err)
			}
			if ev["frozen"] == 1 {
				return fmt.Errorf("cgroup %s is frozen through a parent (cgroup.events: frozen 1): thaw it or use another cgroup", dir)
			}
		}
	}
	return nil
}

// mkdirCgroup creates dir and its missing parents (v1 cpuset has its own,
// mkdirCpuset).
func mkdirCgroup(dir string) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	parent := path.Dir(dir)
	if parent == dir {
		return fmt.Errorf("mkdir %s: no cgroup hierarchy above it", dir)
	}
	if err := mkdirCgroup(parent); err != nil {
		return err
	}
	if err := unix.Mkdir(dir, 0o755); err != nil && err != unix.EEXIST {
		return fmt.Errorf("mkdir %s: %w", dir, err)
	}
	return nil
}

// removeCgroup removes dir and the sub-cgroups the container made under
// it, deepest first. While processes are still leaving (EBUSY) it retries
// with backoff until deadline; then it names who is left.
func removeCgroup(dir string, deadline time.Time) error {
	delay := time.Millisecond
	for {
		err := rmdirTree(dir)
		if err == nil || !errors.Is(err, unix.EBUSY) || time.Now().After(deadline) {
			if err != nil && errors.Is(err, unix.EBUSY) {
				if pids, perr := pidsUnder(dir); perr == nil && len(pids) > 0 {
					return fmt.Errorf("%w (processes still in it: %s)", err, joinPids(pids))
				}
			}
			return err
		}
		time.Sleep(delay)
		delay = min(delay*2, 100*time.Millisecond)
	}
}

func rmdirTree(dir string) error {
	// Most cgroups have no sub-cgroups: try that first, and list the
	// directory (dozens of control files) only when the kernel says
	// there is something below (EBUSY, as it also says for processes).
	err := unix.Rmdir(dir)
	if err == nil || err == unix.ENOENT {
		return nil
	}
	if err != unix.EBUSY && err != unix.ENOTEMPTY {
		return fmt.Errorf("rmdir %s: %w", dir, err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		return fmt.Errorf("read cgroup %s: %w", dir, err)
	}
	for _, e := range entries {
		if e.IsDir() {
			if err := rmdirTree(dir + "/" + e.Name()); err != nil {
				return err
			}
		}
	}
	if err := unix.Rmdir(dir); err != nil && err != unix.ENOENT {
		return fmt.Errorf("rmdir %s: %w", dir, err)
	}
	return nil
}

// pidsUnder lists the processes in dir and its sub-cgroups.
func pidsUnder(dir string) ([]int, error) {
	pids, err := readPids(dir)
	if err != nil {
		if isNotExist(err) {
			return nil, nil
		}
		return nil, err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if e.IsDir() {
			sub, err := pidsUnder(dir + "/" + e.Name())
			if err != nil {
				return nil, err
			}
			pids = append(pids, sub...)
		}
	}
	slices.Sort(pids)
	return slices.Compact(pids), nil
}

func joinPids(pids []int) string {
	s := make([]string, len(pids))
	for i, p := range pids {
		s[i] = strconv.Itoa(p)
	}
	return strings.Join(s, " ")
}

// freezer is the part of a Manager signalAll needs.
type freezer interface {
	Freeze() error
	Thaw() error
	FreezerState() (FreezerState, error)
	Pids() ([]int, error)
}

// signalAll sends sig to every process in the cgroup. It freezes the
// cgroup first so no process forks a child the list misses, then thaws
// it again, unless it was frozen before (a paused container keeps its
// signals pending until resumed), except for SIGKILL, whose processes
// must run to die.
func signalAll(m freezer, sig unix.Signal) error {
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
		if terr := m.Thaw(); terr != nil && err == nil && !isNotExist(terr) {
			err = terr
		}
	}
	return err
}

// backoff sleeps a little longer each call, up to 10ms: freezing usually
// takes microseconds, sometimes a scheduler tick or two.
type backoff struct{ d time.Duration }

func (b *backoff) wait() {
	if b.d == 0 {
		b.d = 100 * time.Microsecond
	}
	time.Sleep(b.d)
	b.d = min(b.d*2, 10*time.Millisecond)
}
