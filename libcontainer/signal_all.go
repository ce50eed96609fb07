package libcontainer

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// signalAll signals every process of the container: through its cgroup
// (frozen meanwhile, so nothing forks away), else every process in the
// init's pid namespace when the container owns one, else the init alone.
func signalAll(st *State, sig unix.Signal) error {
	if mgr := st.cgroup(); mgr != nil && mgr.Exists() {
		if err := mgr.Signal(sig); err != nil {
			return err
		}
		return nil
	}
	if err := signalProcess(st.Pid, st.PidStart, sig); err != nil {
		return err
	}
	if !ownsPidNS(st) {
		return nil
	}
	var initNS unix.Stat_t
	if err := unix.Stat("/proc/"+strconv.Itoa(st.Pid)+"/ns/pid", &initNS); err != nil {
		return nil // gone meanwhile
	}
	for _, pid := range pidsInNamespace(initNS.Ino, initNS.Dev) {
		if pid == st.Pid {
			continue
		}
		// Racing exits are fine: a process that left needs no signal.
		_ = unix.Kill(pid, sig)
	}
	return nil
}

// signalLeftovers is kill --all of a stopped container: the init is gone,
// but a container that shares a pid namespace can leave processes in its
// cgroup, and those get sig. Without a cgroup there is nothing to reach.
func signalLeftovers(st *State, sig unix.Signal) error {
	mgr := st.cgroup()
	if mgr == nil || !mgr.Exists() {
		return nil
	}
	if err := mgr.Signal(sig); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("kill container %q: %w", st.ID, err)
	}
	return nil
}

func ownsPidNS(st *State) bool {
	for _, ns := range st.view().namespaces() {
		if ns.Type == "pid" && ns.Path == "" {
			return true
		}
	}
	return false
}

func pidsInNamespace(ino, dev uint64) []int {
	d, err := os.Open("/proc")
	if err != nil {
		return nil
	}
	defer d.Close()
	names, _ := d.Readdirnames(-1)
	var pids []int
	for _, n := range names {
		pid, err := strconv.Atoi(n)
		if err != nil {
			continue
		}
		var s unix.Stat_t
		if unix.Stat("/proc/"+n+"/ns/pid", &s) == nil && s.Ino == ino && s.Dev == dev {
			pids = append(pids, pid)
		}
	}
	return pids
}
