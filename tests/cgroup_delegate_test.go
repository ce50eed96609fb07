package tests

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// TestNamespaceCgroupDelegated: with a user namespace and a cgroup
// namespace of its own, the container's v2 cgroup and the files the
// kernel lists for delegation are its root's, as runc and crun make them,
// so that systemd or a nested runtime can use it; files not delegated
// (the limits) stay the host's. On a v1 host nothing is handed over.
func TestNamespaceCgroupDelegated(t *testing.T) {
	r := newRuntime(t)
	b := newBundle(t, "sleep", "1000")
	b.addMount(specs.Mount{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"nosuid", "noexec", "nodev"}})
	b.addNamespace(specs.CgroupNamespace, "")
	addUserNS(t, b)
	pids := int64(100)
	b.spec.Linux.Resources = &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: &pids}}
	c := r.create(b)
	defer r.forceDelete(c.id)
	c.start()
	inside := strings.Join(lines(r.mustRun("exec", c.id, "sh", "-c",
		"cd /sys/fs/cgroup && stat -c %n=%u:%g . cgroup.procs cgroup.subtree_control pids.max 2>/dev/null; true").stdout), " ")
	if !isUnified() {
		// The hierarchies are bound or mounted inside a tmpfs: no
		// cgroup directory at /sys/fs/cgroup, nothing delegated.
		if inside != ".=0:0" {
			t.Errorf("owners inside: %q, want .=0:0 (the tmpfs)", inside)
		}
		return
	}
	if want := ".=0:0 cgroup.procs=0:0 cgroup.subtree_control=0:0 pids.max=65534:65534"; inside != want {
		t.Errorf("owners inside: %q, want %q", inside, want)
	}
	// The same seen from the host: the directory of the init's cgroup.
	data, err := os.ReadFile("/proc/" + strconv.Itoa(r.state(c.id).Pid) + "/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join("/sys/fs/cgroup", strings.TrimPrefix(strings.TrimSpace(string(data)), "0::"))
	for name, want := range map[string]uint32{".": usernsHostID, "cgroup.procs": usernsHostID, "memory.reclaim": usernsHostID, "pids.max": 0} {
		var st unix.Stat_t
		if err := unix.Stat(filepath.Join(dir, name), &st); err != nil {
			if name == "memory.reclaim" && os.IsNotExist(err) {
				continue // the memory controller is not enabled here
			}
			t.Fatal(err)
		}
		if st.Uid != want {
			t.Errorf("%s/%s owned by %d on the host, want %d", dir, name, st.Uid, want)
		}
	}
}
