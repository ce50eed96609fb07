package host

import (
	"fmt"
	"maps"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

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
	known := KnownControllers("#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpuset\t3\t1\t1\ncpu\t1\t1\t1\ncpuacct\t1\t1\t1\nmemory\t4\t1\t1\n")
	mounts, err := mountinfo.Parse(strings.NewReader(hybridMountinfo))
	if err != nil {
		t.Fatal(err)
	}
	h := Scan{Known: known}.Layout(mounts)
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
	if m := h.Mode(); m != "hybrid" {
		t.Errorf("Mode of a hybrid layout: %q", m)
	}
	if m := (&Layout{V1: h.V1}).Mode(); m != "v1" {
		t.Errorf("Mode without a cgroup2 mount: %q", m)
	}
	if m := (&Layout{Unified: true, V2Mount: UnifiedMountpoint, V2Root: "/"}).Mode(); m != "v2" {
		t.Errorf("Mode of a unified layout: %q", m)
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

func layoutString(l *Layout) string {
	out := fmt.Sprintf("unified=%v v2=%s@%s", l.Unified, l.V2Mount, l.V2Root)
	for _, hy := range l.V1 {
		out += " " + hy.Mountpoint + "=" + strings.Join(hy.Controllers, ",") + "@" + hy.Root
	}
	return out
}

// A mount point the kernel says is something else (a mount over it) is
// hidden; only mounts below the base count; a second mount of a
// hierarchy or on a point adds nothing.
func TestUnderBase(t *testing.T) {
	table := hybridMountinfo + `60 31 0:40 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids
61 60 0:41 / /sys/fs/cgroup/pids rw - tmpfs tmpfs rw
62 31 0:32 / /sys/fs/cgroup/memory2 rw - cgroup cgroup rw,memory
63 31 0:42 / /sys/fs/cgroup/cpuset rw - cgroup cgroup rw,freezer
`
	mounts, err := mountinfo.Parse(strings.NewReader(table))
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{"cpu": true, "cpuacct": true, "cpuset": true, "memory": true, "pids": true, "freezer": true}
	fsType := func(p string) (int64, error) {
		switch p {
		case "/sys/fs/cgroup/pids":
			return unix.TMPFS_MAGIC, nil
		case "/sys/fs/cgroup/unified":
			return cgroup2Magic, nil
		case "/sys/fs/cgroup/systemd":
			return 0, unix.ENOENT
		}
		return cgroupMagic, nil
	}
	got := layoutString(UnderBase("/sys/fs/cgroup", mounts, known, unix.TMPFS_MAGIC, fsType))
	want := "unified=false v2=/sys/fs/cgroup/unified@/ /sys/fs/cgroup/cpu,cpuacct=cpu,cpuacct@/ /sys/fs/cgroup/cpuset=cpuset@/ /sys/fs/cgroup/memory=memory@/"
	if got != want {
		t.Errorf("hybrid:\n got %s\nwant %s", got, want)
	}

	v2, err := mountinfo.Parse(strings.NewReader("23 1 0:21 / / rw - ext4 /dev/vda rw\n31 23 0:28 /c /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := layoutString(UnderBase("/sys/fs/cgroup", v2, nil, cgroup2Magic, nil)); got != "unified=true v2=/sys/fs/cgroup@/c" {
		t.Errorf("v2: %s", got)
	}
	if got := layoutString(UnderBase("/elsewhere", v2, nil, cgroup2Magic, nil)); got != "unified=true v2=/elsewhere@/" {
		t.Errorf("v2 without a mount in the table: %s", got)
	}
}

func TestParseControllers(t *testing.T) {
	text := "#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpuset\t3\t1\t1\ncpu\t4\t10\t1\nmemory\t0\t1\t0\npids\t5\t9\t1\n"
	if got := strings.Join(EnabledControllers(text), " "); got != "cpuset cpu pids" {
		t.Errorf("EnabledControllers = %q, want cpuset cpu pids", got)
	}
	if got := KnownControllers(text); len(got) != 4 || !got["memory"] || got["#subsys_name"] {
		t.Errorf("KnownControllers = %v", got)
	}
}

func TestHierarchyCgroups(t *testing.T) {
	got := HierarchyCgroups("12:cpu,cpuacct:/a\n3:name=systemd:/user.slice\n0::/u\nbad\n")
	want := map[string]string{"cpu,cpuacct": "/a", "name=systemd": "/user.slice", "": "/u"}
	if !maps.Equal(got, want) {
		t.Fatalf("HierarchyCgroups = %v, want %v", got, want)
	}
	own, err := HierarchyCgroupsOf(0)
	if err != nil || len(own) == 0 {
		t.Fatalf("own: %v %v", own, err)
	}
	if _, err := HierarchyCgroupsOf(-1); err == nil {
		t.Error("HierarchyCgroupsOf(-1) read something")
	}
}

func TestMountPath(t *testing.T) {
	for _, tc := range []struct {
		path, root, want string
		ok               bool
	}{
		{"/a/b", "/", "/a/b", true},
		{"/a/b", "/a", "/b", true},
		{"/a", "/a", "/", true},
		{"/ab", "/a", "/ab", false},
		{"/x/y", "/a", "/x/y", false},
	} {
		if got, ok := MountPath(tc.path, tc.root); got != tc.want || ok != tc.ok {
			t.Errorf("MountPath(%q, %q) = %q %v, want %q %v", tc.path, tc.root, got, ok, tc.want, tc.ok)
		}
	}
}

// The machine's own layout: whatever the host is, Reachable agrees with
// Probe about v2, and every hierarchy it finds is a cgroup mount.
func TestReachable(t *testing.T) {
	mounts, err := mountinfo.Read()
	if err != nil {
		t.Fatal(err)
	}
	l, magic, err := Reachable(UnifiedMountpoint, mounts)
	if err != nil {
		t.Fatalf("Reachable: %v", err)
	}
	p, err := Probe()
	if err != nil {
		t.Fatalf("Probe: %v", err)
	}
	if l.Unified != p.Unified || l.Unified != (magic == cgroup2Magic) {
		t.Errorf("Reachable unified=%v (%s), Probe unified=%v", l.Unified, FSTypeName(magic), p.Unified)
	}
	for _, hy := range l.V1 {
		if !IsCgroupFS(hy.Mountpoint) {
			t.Errorf("%s is no cgroup mount", hy.Mountpoint)
		}
	}
	if _, _, err := Reachable("/nonexistent-cgroup-base", mounts); err == nil {
		t.Error("Reachable of a missing base: no error")
	}
}
