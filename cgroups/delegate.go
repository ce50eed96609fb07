package cgroups

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// delegateList is the kernel's list of the files of a cgroup v2
// directory that a delegation hands over with it (cgroup.procs,
// cgroup.subtree_control, ...); read from the host's /sys (never the
// container's).
const delegateList = "/sys/kernel/cgroup/delegate"

// defaultDelegate is what cgroup-v2.rst names for kernels without the list.
var defaultDelegate = []string{"cgroup.procs", "cgroup.threads", "cgroup.subtree_control"}

// Delegate gives a v2 cgroup to the container's root (uid, gid on the
// host), as runc and crun do for a container with its own user and cgroup
// namespaces: the directory and the files the kernel lists for
// delegation, so that systemd or a nested runtime inside can make
// sub-cgroups and move processes. A v1 manager has nothing to delegate.
func Delegate(m Manager, uid, gid int) error {
	if !m.Unified() {
		return nil
	}
	return delegate(m.Paths()[UnifiedKey], delegateList, uid, gid)
}

func delegate(dir, list string, uid, gid int) error {
	files := defaultDelegate
	if data, err := os.ReadFile(list); err == nil {
		files = strings.Fields(string(data))
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("read %s: %w", list, err)
	}
	if err := os.Lchown(dir, uid, gid); err != nil {
		return fmt.Errorf("delegate cgroup %s to %d:%d: %w", dir, uid, gid, err)
	}
	for _, f := range files {
		// Controllers not enabled have no files of theirs: skip those.
		if err := os.Lchown(filepath.Join(dir, f), uid, gid); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("delegate cgroup %s to %d:%d: %w", dir, uid, gid, err)
		}
	}
	return nil
}
