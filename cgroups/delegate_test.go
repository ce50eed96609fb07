package cgroups

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

func TestDelegate(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("needs root (chown)")
	}
	dir := t.TempDir()
	cg := filepath.Join(dir, "cg")
	os.Mkdir(cg, 0o755)
	for _, f := range []string{"cgroup.procs", "cgroup.threads", "memory.max", "cgroup.subtree_control"} {
		os.WriteFile(filepath.Join(cg, f), nil, 0o644)
	}
	list := filepath.Join(dir, "delegate")
	os.WriteFile(list, []byte("cgroup.procs\ncgroup.threads\ncgroup.subtree_control\nmemory.reclaim\n"), 0o644)
	if err := delegate(cg, list, 100000, 100001); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]uint32{".": 100000, "cgroup.procs": 100000, "cgroup.threads": 100000, "cgroup.subtree_control": 100000, "memory.max": 0} {
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(cg, name), &st); err != nil {
			t.Fatal(err)
		}
		if st.Uid != want || (want != 0 && st.Gid != 100001) {
			t.Errorf("%s owned by %d:%d, want uid %d", name, st.Uid, st.Gid, want)
		}
	}
	// Without the kernel's list: the documented three.
	os.Chown(filepath.Join(cg, "cgroup.procs"), 0, 0)
	if err := delegate(cg, filepath.Join(dir, "none"), 5, 5); err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	unix.Lstat(filepath.Join(cg, "cgroup.procs"), &st)
	if st.Uid != 5 {
		t.Errorf("cgroup.procs owned by %d without the delegate list", st.Uid)
	}
}
