package host

import (
	"maps"
	"strings"
	"testing"

	"berth/internal/mountinfo"
)

func TestProcCgroups(t *testing.T) {
	got := ProcCgroups("12:cpu,cpuacct:/a\n3:name=systemd:/user.slice\n2:memory:/process_api/x\n0::/u\n")
	want := map[string]string{"cpu": "/a", "cpuacct": "/a", "name=systemd": "/user.slice", "memory": "/process_api/x", "": "/u"}
	if !maps.Equal(got, want) {
		t.Fatalf("ProcCgroups = %v, want %v", got, want)
	}
}

const hybridMountinfo = `23 1 0:21 / / rw - ext4 /dev/vda rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset,clone_children
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate
50 23 0:32 /docker/abc /mnt/memory\040copy rw - cgroup cgroup rw,memory
`

func TestParseLayout(t *testing.T) {
	known := knownControllers([]byte("#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpuset\t3\t1\t1\ncpu\t1\t1\t1\ncpuacct\t1\t1\t1\nmemory\t4\t1\t1\n"))
	mounts, err := mountinfo.Parse(strings.NewReader(hybridMountinfo))
	if err != nil {
		t.Fatal(err)
	}
	h := parseLayout(mounts, known)
	if h.Unified || h.V2Mount != "/sys/fs/cgroup/unified" || h.V2Root != "/" {
		t.Fatalf("v2 mount = %+v", h)
	}
	var got []string
	for _, hy := range h.V1 {
		got = append(got, hy.Mountpoint+"="+strings.Join(hy.Controllers, ",")+"@"+hy.Root)
	}
	want := "/sys/fs/cgroup/cpu,cpuacct=cpu,cpuacct@/ /sys/fs/cgroup/cpuset=cpuset@/ /sys/fs/cgroup/memory=memory@/ /sys/fs/cgroup/systemd=name=systemd@/"
	if strings.Join(got, " ") != want {
		t.Fatalf("hierarchies = %v\nwant %v", got, want)
	}
}

func TestInMount(t *testing.T) {
	for _, tc := range []struct{ path, root, want string }{
		{"/a/b", "/", "/a/b"},
		{"/a/b", "/a", "/b"},
		{"/a", "/a", "/"},
		{"/ab", "/a", "/ab"},
		{"/x/y", "/a", "/x/y"},
	} {
		if got := InMount(tc.path, tc.root); got != tc.want {
			t.Errorf("InMount(%q, %q) = %q, want %q", tc.path, tc.root, got, tc.want)
		}
	}
}
