package cgroups

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// LoadSub is Load for existing cgroups below saved ones (exec --cgroup):
// sub maps a key of saved to a relative path under that directory; keys
// not in sub keep their saved directory. Each sub-cgroup must already
// exist, and the manager creates nothing: on cgroup v2 it must not enable
// controllers either. Create would write the threaded controllers (cpu,
// cpuset, pids) into the container cgroup's cgroup.subtree_control (the
// domain ones fail with EBUSY while it holds processes); a cgroup with
// processes and threaded controllers enabled is a thread root, its
// children turn "domain invalid", and the kernel then refuses them any
// process with EOPNOTSUPP (cgroup_migrate_vet_dst).
func LoadSub(saved, sub map[string]string) (Manager, error) {
	paths := make(map[string]string, len(saved))
	for k, dir := range saved {
		paths[k] = dir
	}
	for k, rel := range sub {
		dir, ok := saved[k]
		if !ok {
			return nil, fmt.Errorf("sub-cgroup %q: the container has no %s cgroup", rel, k)
		}
		if !filepath.IsLocal(rel) || slices.Contains(strings.Split(rel, "/"), "..") {
			return nil, fmt.Errorf("sub-cgroup %q: not a relative path inside %s", rel, dir)
		}
		p := path.Join(dir, rel)
		fi, err := os.Lstat(p)
		switch {
		case errors.Is(err, os.ErrNotExist):
			return nil, fmt.Errorf("sub-cgroup %s does not exist (create it first)", p)
		case err != nil:
			return nil, fmt.Errorf("sub-cgroup %s: %w", p, err)
		case !fi.IsDir():
			return nil, fmt.Errorf("sub-cgroup %s is not a cgroup directory", p)
		}
		paths[k] = p
	}
	m, err := Load(paths)
	if err != nil {
		return nil, err
	}
	switch m := m.(type) {
	case *v2Manager:
		m.created = true
	case *v1Manager:
		m.created = true
	}
	return m, nil
}

// JoinError explains why the kernel refused to start or move a process
// into m's cgroup v2 directory (clone3 CLONE_INTO_CGROUP or a
// cgroup.procs write fail the same checks): it names the directory, the
// errno and, for EBUSY and EOPNOTSUPP, the rule the cgroup files show was
// broken. Errors without an errno, and managers without a cgroup2
// directory, come back unchanged.
func JoinError(m Manager, err error) error {
	dir := m.Paths()[unifiedKey]
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
		if sc, _ := readTrimmed(dir, "cgroup.subtree_control"); sc != "" {
			return fmt.Sprintf("it enables the controllers %q for its children (cgroup.subtree_control), and a cgroup v2 cgroup that does may hold no processes (no internal processes rule); use a leaf cgroup below it", sc)
		}
	case unix.EOPNOTSUPP:
		switch typ, _ := readTrimmed(dir, "cgroup.type"); typ {
		case "threaded":
			return `its cgroup.type is "threaded": a whole process only joins a domain cgroup (threads join threaded ones through cgroup.threads)`
		case "domain invalid":
			root := threadRootAbove(dir)
			if root == "" {
				return `its cgroup.type is "domain invalid": an ancestor is a thread root`
			}
			how := "it has threaded children"
			if sc, _ := readTrimmed(root, "cgroup.subtree_control"); sc != "" {
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
		typ, err := readTrimmed(p, "cgroup.type")
		if err != nil {
			return ""
		}
		if typ == "domain threaded" {
			return p
		}
	}
	return ""
}
