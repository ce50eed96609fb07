package cgroups

import (
	"errors"
	"fmt"
	"path"

	"golang.org/x/sys/unix"

	"berth/cgroups/internal/cgfs"
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
	if err := m.Create(); err != nil {
		return err
	}
	return withDirFD(m.Paths()[UnifiedKey], start)
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

// JoinError explains why the kernel refused to start or move a process
// into m's cgroup v2 directory (clone3 CLONE_INTO_CGROUP or a
// cgroup.procs write fail the same checks): it names the directory, the
// errno and, for EBUSY and EOPNOTSUPP, the rule the cgroup files show was
// broken. Errors without an errno, and managers without a cgroup2
// directory, come back unchanged.
func JoinError(m Manager, err error) error {
	dir := m.Paths()[UnifiedKey]
	var errno unix.Errno
	if dir == "" || !errors.As(err, &errno) {
		return err
	}
	why := joinRule(dir, errno)
	if why != "" {
		why = ": " + why
	}
	name := unix.ErrnoName(errno)
	if errno == unix.EOPNOTSUPP {
		name = "EOPNOTSUPP" // the kernel's name; ErrnoName says ENOTSUP, its alias
	}
	return fmt.Errorf("the kernel refused a process in cgroup %s: %w (%s)%s", dir, errno, name, why)
}

// joinRule reads why dir takes no processes, for the two errnos that
// cgroup v2's placement rules return.
func joinRule(dir string, errno unix.Errno) string {
	switch errno {
	case unix.EBUSY:
		if sc, _ := cgfs.ReadTrimmed(dir, "cgroup.subtree_control"); sc != "" {
			return fmt.Sprintf("it enables the controllers %q for its children (cgroup.subtree_control), and a cgroup v2 cgroup that does may hold no processes (no internal processes rule); use a leaf cgroup below it", sc)
		}
	case unix.EOPNOTSUPP:
		switch typ, _ := cgfs.ReadTrimmed(dir, "cgroup.type"); typ {
		case "threaded":
			return `its cgroup.type is "threaded": a whole process only joins a domain cgroup (threads join threaded ones through cgroup.threads)`
		case "domain invalid":
			root := threadRootAbove(dir)
			if root == "" {
				return `its cgroup.type is "domain invalid": an ancestor is a thread root`
			}
			how := "it has threaded children"
			if sc, _ := cgfs.ReadTrimmed(root, "cgroup.subtree_control"); sc != "" {
				how = fmt.Sprintf("it holds processes and enables the threaded controllers %q in cgroup.subtree_control", sc)
			}
			return fmt.Sprintf(`its cgroup.type is "domain invalid": %s is a thread root (cgroup.type "domain threaded": %s), and the domain cgroups below a thread root may hold no processes; disable those controllers there or move its processes into a leaf cgroup`, root, how)
		}
	}
	return ""
}

// threadRootAbove is the nearest ancestor of dir whose cgroup.type is
// "domain threaded", or "". The root cgroup has no cgroup.type.
func threadRootAbove(dir string) string {
	for p := path.Dir(dir); p != "/"; p = path.Dir(p) {
		typ, err := cgfs.ReadTrimmed(p, "cgroup.type")
		if err != nil {
			return ""
		}
		if typ == "domain threaded" {
			return p
		}
	}
	return ""
}
