package cgfs

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

// How long Freeze waits for every process to stop, and Destroy for a
// cgroup to empty.
const (
	FreezeTimeout  = 10 * time.Second
	DestroyTimeout = time.Second
)

// Mkdir creates dir and its missing parents (v1 cpuset has its own, in
// fs1).
func Mkdir(dir string) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	parent := path.Dir(dir)
	if parent == dir {
		return fmt.Errorf("mkdir %s: no cgroup hierarchy above it", dir)
	}
	if err := Mkdir(parent); err != nil {
		return err
	}
	if err := unix.Mkdir(dir, 0o755); err != nil && err != unix.EEXIST {
		return fmt.Errorf("mkdir %s: %w", dir, err)
	}
	return nil
}

// Remove removes dir and the sub-cgroups the container made under it,
// deepest first. While processes are still leaving (EBUSY) it retries
// with backoff until deadline; then it names who is left.
func Remove(dir string, deadline time.Time) error {
	delay := time.Millisecond
	for {
		err := rmdirTree(dir)
		if err == nil || !errors.Is(err, unix.EBUSY) || time.Now().After(deadline) {
			if err != nil && errors.Is(err, unix.EBUSY) {
				if pids, perr := PidsUnder(dir); perr == nil && len(pids) > 0 {
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

// PidsUnder lists the processes in dir and its sub-cgroups; a missing dir
// holds none.
func PidsUnder(dir string) ([]int, error) {
	pids, err := ReadPids(dir)
	if err != nil {
		if IsNotExist(err) {
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
			sub, err := PidsUnder(dir + "/" + e.Name())
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

// Backoff sleeps a little longer each call, up to 10ms: freezing usually
// takes microseconds, sometimes a scheduler tick or two.
type Backoff struct{ d time.Duration }

// Wait sleeps.
func (b *Backoff) Wait() {
	if b.d == 0 {
		b.d = 100 * time.Microsecond
	}
	time.Sleep(b.d)
	b.d = min(b.d*2, 10*time.Millisecond)
}
