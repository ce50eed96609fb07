package cgroups

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// StartIn runs start, which forks the container's process, so that the
// process is in its cgroup before it runs anything of its own:
//   - cgroup v2: start gets the cgroup directory's fd for clone3
//     CLONE_INTO_CGROUP: the process is born there.
//   - cgroup v1: the process joins every hierarchy itself, first thing in
//     the nsenter stub while it is single-threaded, by writing "0" to the
//     tasks files JoinFiles lists. Moving a pid through cgroup.procs takes
//     the kernel's threadgroup lock, whose first writer after a quiet spell
//     waits for an RCU grace period (measured 1-24 ms here); a thread that
//     moves itself takes no such lock, and nothing of berth's (no thread
//     of the CLI) ever enters the container's cgroups. On a hybrid host
//     start also gets the cgroup2 directory's fd.
//
// start gets -1 when there is no cgroup2 directory.
func StartIn(m Manager, start func(cgroupFD int) error) error {
	// A driver whose cgroup comes into being around the spawn (a systemd
	// scope must hold a process when it starts) does it all itself.
	if s, ok := m.(interface {
		StartIn(start func(cgroupFD int) error) error
	}); ok {
		return s.StartIn(start)
	}
	if err := m.Create(); err != nil {
		return err
	}
	return withDirFD(m.Paths()[unifiedKey], start)
}

// JoinFiles lists the files a process started by StartIn must write "0"
// to, in order, before anything else: the v1 hierarchies' tasks files; none
// on cgroup v2.
func JoinFiles(m Manager) []string {
	v1, ok := m.(*v1Manager)
	if !ok {
		return nil
	}
	unified := v1.paths[unifiedKey]
	var out []string
	for _, dir := range v1.dirs() {
		if dir != unified {
			out = append(out, dir+"/tasks")
		}
	}
	return out
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
