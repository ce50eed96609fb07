package cgroups

import (
	"errors"
	"maps"
	"strings"
	"testing"
)

func TestParseCgroupsPath(t *testing.T) {
	for _, tc := range []struct {
		in, id   string
		want     string
		relative bool
		err      string
	}{
		{"", "ctr1", "ctr1", true, ""},
		{"/berth/ctr1", "ctr1", "/berth/ctr1", false, ""},
		{"/berth//x/../ctr1/", "ctr1", "/berth/ctr1", false, ""},
		{"/../../etc", "x", "/etc", false, ""},
		{"kubepods/pod1/ctr", "x", "kubepods/pod1/ctr", true, ""},
		{"/", "x", "", false, "is the root cgroup"},
		{"/..", "x", "", false, "is the root cgroup"},
		{".", "x", "", false, "own cgroup"},
		{"system.slice:docker:abc", "x", "", false, "needs --systemd-cgroup"},
		{":docker:abc", "x", "", false, "needs --systemd-cgroup"},
		{"", "", "", false, "cannot name a cgroup"},
		{"/a\nb", "x", "", false, "invalid character"},
	} {
		got, rel, err := parseCgroupsPath(tc.in, tc.id)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("parseCgroupsPath(%q) error = %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want || rel != tc.relative {
			t.Errorf("parseCgroupsPath(%q) = %q %v %v, want %q %v", tc.in, got, rel, err, tc.want, tc.relative)
		}
	}
	if _, _, err := parseCgroupsPath("a.slice:p:n", "x"); !errors.Is(err, ErrSystemdPath) {
		t.Errorf("systemd path error %v is not ErrSystemdPath", err)
	}
}

func TestUnder(t *testing.T) {
	for _, tc := range []struct{ base, rel, want, err string }{
		{"/user.slice/session-1.scope", "ctr", "/user.slice/session-1.scope/ctr", ""},
		{"/", "ctr", "/ctr", ""},
		{"/a/b", "../c", "/a/c", ""},
		{"/a", "../..", "", "root cgroup"},
		{"/a/b", "../b", "", "own cgroup"},
	} {
		got, err := under(tc.base, tc.rel)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("under(%q, %q) error = %v, want %q", tc.base, tc.rel, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("under(%q, %q) = %q, %v; want %q", tc.base, tc.rel, got, err, tc.want)
		}
	}
}

func TestProcCgroups(t *testing.T) {
	got := procCgroups("12:cpu,cpuacct:/a\n3:name=systemd:/user.slice\n2:memory:/process_api/x\n0::/u\n")
	want := map[string]string{"cpu": "/a", "cpuacct": "/a", "name=systemd": "/user.slice", "memory": "/process_api/x", "": "/u"}
	if !maps.Equal(got, want) {
		t.Fatalf("procCgroups = %v, want %v", got, want)
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

func TestParseHost(t *testing.T) {
	known := knownControllers([]byte("#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpuset\t3\t1\t1\ncpu\t1\t1\t1\ncpuacct\t1\t1\t1\nmemory\t4\t1\t1\n"))
	h := parseHost([]byte(hybridMountinfo), known)
	if h.unified || h.v2Mount != "/sys/fs/cgroup/unified" || h.v2Root != "/" {
		t.Fatalf("v2 mount = %+v", h)
	}
	var got []string
	for _, hy := range h.v1 {
		got = append(got, hy.mountpoint+"="+strings.Join(hy.controllers, ",")+"@"+hy.root)
	}
	want := "/sys/fs/cgroup/cpu,cpuacct=cpu,cpuacct@/ /sys/fs/cgroup/cpuset=cpuset@/ /sys/fs/cgroup/memory=memory@/ /sys/fs/cgroup/systemd=name=systemd@/"
	if strings.Join(got, " ") != want {
		t.Fatalf("hierarchies = %v\nwant %v", got, want)
	}
	if s := unescapeMountinfo(`/mnt/memory\040copy`); s != "/mnt/memory copy" {
		t.Fatalf("unescape = %q", s)
	}
}

func TestNewV1Places(t *testing.T) {
	h := &hostCgroups{
		v2Mount: "/sys/fs/cgroup/unified", v2Root: "/",
		v1: []hierarchy{
			{mountpoint: "/sys/fs/cgroup/cpu,cpuacct", root: "/", controllers: []string{"cpu", "cpuacct"}},
			{mountpoint: "/sys/fs/cgroup/memory", root: "/", controllers: []string{"memory"}},
			{mountpoint: "/sys/fs/cgroup/pids", root: "/docker/abc", controllers: []string{"pids"}},
		},
	}
	own := map[string]string{"cpu": "/", "cpuacct": "/", "memory": "/process_api/e9", "pids": "/docker/abc/sub", "": "/"}
	m, err := newV1(h, "ctr", true, own)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"cpu":     "/sys/fs/cgroup/cpu,cpuacct/ctr",
		"cpuacct": "/sys/fs/cgroup/cpu,cpuacct/ctr",
		"memory":  "/sys/fs/cgroup/memory/process_api/e9/ctr",
		"pids":    "/sys/fs/cgroup/pids/sub/ctr",
		"unified": "/sys/fs/cgroup/unified/ctr",
	}
	if !maps.Equal(m.Paths(), want) {
		t.Fatalf("relative paths = %v\nwant %v", m.Paths(), want)
	}
	if m.Path() != "/sub/ctr" {
		t.Fatalf("Path() = %q", m.Path())
	}
	m, err = newV1(h, "/berth/ctr", false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m.paths["memory"] != "/sys/fs/cgroup/memory/berth/ctr" || m.paths["unified"] != "/sys/fs/cgroup/unified/berth/ctr" || m.Path() != "/berth/ctr" {
		t.Fatalf("absolute paths = %v", m.Paths())
	}
	if len(m.dirs()) != 4 {
		t.Fatalf("dirs = %v, want the co-mounted cpu,cpuacct once", m.dirs())
	}
}

func TestNewV2Places(t *testing.T) {
	for _, tc := range []struct {
		own, rel, want string
	}{
		{"/user.slice/user-0.slice/session-1.scope", "ctr", "/user.slice/user-0.slice/ctr"},
		{"/", "ctr", "/ctr"},
		{"/init.scope", "berth/ctr", "/berth/ctr"},
	} {
		m, err := newV2("/sys/fs/cgroup", "/", tc.rel, true, map[string]string{"": tc.own})
		if err != nil {
			t.Fatal(err)
		}
		if m.path != tc.want || m.dir != "/sys/fs/cgroup"+tc.want {
			t.Errorf("own %s + %s = %s (%s), want %s", tc.own, tc.rel, m.path, m.dir, tc.want)
		}
	}
	m, _ := newV2("/sys/fs/cgroup", "/", "/kubepods/pod/ctr", false, nil)
	if !maps.Equal(m.Paths(), map[string]string{"unified": "/sys/fs/cgroup/kubepods/pod/ctr"}) {
		t.Fatalf("Paths() = %v", m.Paths())
	}
}
