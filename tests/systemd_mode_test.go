package tests

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// The systemd driver's tests run in the systemd guest booted twice: on
// cgroup v2 and hybrid (systemd.unified_cgroup_hierarchy=0). These pick
// the unit property, the cgroup file and the directories for the host's
// mode.

// sdProp is the unit property systemd has for a limit on this host.
func sdProp(v2, v1 string) string {
	if isUnified() {
		return v2
	}
	return v1
}

// inCgroup reports how pid's cgroups differ from cg: on v2 its one
// cgroup; on v1 every hierarchy's (the container joins them all, those
// systemd manages and the ones made the fs way), the hybrid cgroup2
// one included. "" when pid is in cg everywhere.
func inCgroup(t *testing.T, pid int, cg string) string {
	t.Helper()
	data := readFile(t, fmt.Sprintf("/proc/%d/cgroup", pid))
	var bad []string
	n := 0
	for _, l := range lines(data) {
		parts := strings.SplitN(l, ":", 3)
		if len(parts) != 3 {
			continue
		}
		n++
		if parts[2] != cg {
			bad = append(bad, l)
		}
	}
	if n == 0 || len(bad) > 0 {
		return fmt.Sprintf("pid %d is not in %s in every hierarchy: %q", pid, cg, data)
	}
	return ""
}

// unitCgroupProcs is the processes of the unit's cgroup cg (on v1 in the
// pids hierarchy, which systemd manages).
func unitCgroupProcs(t *testing.T, cg string) []string {
	t.Helper()
	dir := "/sys/fs/cgroup" + cg
	if !isUnified() {
		dir = "/sys/fs/cgroup/pids" + cg
	}
	return strings.Fields(readFile(t, dir+"/cgroup.procs"))
}

// frozenFile reads whether the cgroup cg is frozen: "1" or "FROZEN".
func frozenFile(t *testing.T, cg string) (got, want string) {
	t.Helper()
	if isUnified() {
		return strings.TrimSpace(readFile(t, "/sys/fs/cgroup"+cg+"/cgroup.freeze")), "1"
	}
	return strings.TrimSpace(readFile(t, "/sys/fs/cgroup/freezer"+cg+"/freezer.state")), "FROZEN"
}

// assertNoCgroupDirs checks that cg is gone from every hierarchy.
func assertNoCgroupDirs(t *testing.T, cg string) {
	t.Helper()
	if left := cgroupDirs(cg); len(left) > 0 {
		t.Errorf("cgroup %s left behind: %v", cg, left)
	}
}

// removeSliceDirsAtEnd removes, when the test ends, what is left of the
// test's slice top in the v1 hierarchies systemd does not manage: berth
// makes a container's directories there with their parents, as runc does,
// and removes only the container's own at delete.
func removeSliceDirsAtEnd(t *testing.T, top string) {
	t.Cleanup(func() {
		for _, root := range cgroupDirs("/" + top) {
			var dirs []string
			filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
				if err == nil && d.IsDir() {
					dirs = append(dirs, p)
				}
				return nil
			})
			for i := len(dirs) - 1; i >= 0; i-- {
				syscall.Rmdir(dirs[i])
			}
		}
	})
}
