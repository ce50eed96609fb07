package rootfs

import (
	"fmt"
	"strings"
	"testing"

	"berth/internal/mountinfo"
)

// hierarchiesIn keeps the hierarchies right under /sys/fs/cgroup that the
// init is in, matches a controller list in any order, names each by its
// directory and leaves hostPath empty where the host's mount does not show
// the init's cgroup.
func TestHierarchiesIn(t *testing.T) {
	mounts, err := mountinfo.Parse(strings.NewReader(`30 22 0:26 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755
31 30 0:27 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw,nsdelegate
32 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
33 30 0:29 /c1 /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
34 30 0:30 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd
35 30 0:31 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids
36 22 0:28 / /mnt/cpu rw - cgroup cgroup rw,cpu,cpuacct
`))
	if err != nil {
		t.Fatal(err)
	}
	own := map[string]string{"": "/u", "cpuacct,cpu": "/a", "memory": "/c1/x", "name=systemd": "/s"}
	var got []string
	for _, h := range hierarchiesIn(own, mounts) {
		got = append(got, fmt.Sprintf("%s %s %s %s", h.name, h.fstype, strings.Join(h.subsys, ","), h.hostPath))
	}
	want := []string{
		"cpu,cpuacct cgroup cpuacct,cpu /sys/fs/cgroup/cpu,cpuacct/a",
		"memory cgroup memory /sys/fs/cgroup/memory/x",
		"systemd cgroup name=systemd /sys/fs/cgroup/systemd/s",
		"unified cgroup2  /sys/fs/cgroup/unified/u",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("hierarchies:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	own["memory"] = "/other"
	for _, h := range hierarchiesIn(own, mounts) {
		if h.name == "memory" && h.hostPath != "" {
			t.Errorf("memory outside the mount's root: hostPath %q", h.hostPath)
		}
	}
}
