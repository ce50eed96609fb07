package doctor

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"berth/internal/mountinfo"
)

func TestParseKernelVersion(t *testing.T) {
	cases := []struct {
		in   string
		want kernelVersion
		err  bool
	}{
		{in: "6.18.44-fc-v657", want: kernelVersion{6, 18, 44}},
		{in: "5.4.0-150-generic", want: kernelVersion{5, 4, 0}},
		{in: "4.19.0+", want: kernelVersion{4, 19, 0}},
		{in: "6.1", want: kernelVersion{6, 1, 0}},
		{in: "5.15-rc3", want: kernelVersion{5, 15, 0}},
		{in: "3.10.0-1160.el7.x86_64", want: kernelVersion{3, 10, 0}},
		{in: "6.8.0rc1", want: kernelVersion{6, 8, 0}},
		{in: "", err: true},
		{in: "linux", err: true},
		{in: "6", err: true},
		{in: "6.x", err: true},
	}
	for _, c := range cases {
		got, err := parseKernelVersion(c.in)
		if c.err {
			if err == nil {
				t.Errorf("parseKernelVersion(%q) = %v, want an error", c.in, got)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("parseKernelVersion(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
	v := kernelVersion{5, 7, 0}
	if !v.atLeast(5, 7) || !v.atLeast(4, 20) || v.atLeast(5, 8) || v.atLeast(6, 0) {
		t.Errorf("atLeast is wrong around 5.7")
	}
}

const sampleMountinfo = `22 1 253:1 / / rw,relatime shared:1 - ext4 /dev/vda rw
25 22 0:5 / /dev rw,nosuid shared:2 - devtmpfs udev rw,size=4096k
26 22 0:23 / /run rw,nosuid,nodev shared:5 - tmpfs tmpfs rw,mode=755
40 26 0:33 / /run/user/1000 rw,nosuid,nodev,relatime shared:20 - tmpfs tmpfs rw,size=100k,mode=700,uid=1000
41 22 0:34 /sub\040dir /mnt/with\040space ro,relatime - ext4 /dev/vdb\134x ro
42 26 0:23 / /run rw shared:5 - tmpfs tmpfs rw
43 22 0:35 / /sys/fs/cgroup ro,nosuid - cgroup2 cgroup2 rw,nsdelegate
`

// TestMountOf finds the mount holding a path: the longest mountpoint
// prefix, the later of two mounts on one point.
func TestMountOf(t *testing.T) {
	mounts, err := mountinfo.Parse(strings.NewReader(sampleMountinfo))
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]int{
		"/run/berth":        42, // the later of two mounts on /run wins
		"/run":              42,
		"/run/user/1000/x":  40,
		"/run/user/10000":   42, // not under /run/user/1000
		"/mnt/with space/a": 41,
		"/etc":              22,
		"/":                 22,
	} {
		got, ok := mountOf(mounts, path)
		if !ok || got.ID != want {
			t.Errorf("mountOf(%q) = %d (%v), want %d", path, got.ID, ok, want)
		}
	}

	// The real one parses, and / is in it.
	real, err := readMounts()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := mountOf(real, "/"); !ok {
		t.Error("no mount for / in /proc/self/mountinfo")
	}
}

func TestMissing(t *testing.T) {
	if got := missing([]string{"cpu", "pids", "cpuset"}, wantV2); len(got) != 1 || got[0] != "memory" {
		t.Errorf("missing = %q, want [memory]", got)
	}
}

func TestStatusField(t *testing.T) {
	text := "Name:\tx\nSeccomp:\t2\nSeccomp_filters:\t1\n"
	if v, ok := statusField(text, "Seccomp"); !ok || v != "2" {
		t.Errorf("Seccomp = %q, %v", v, ok)
	}
	if _, ok := statusField(text, "NoSuch"); ok {
		t.Error("found a field that is not there")
	}
	if !hasFilesystem("nodev\tsysfs\n\text4\nnodev\toverlay\n", "overlay") || hasFilesystem("nodev\toverlayfs\n", "overlay") {
		t.Error("hasFilesystem is wrong")
	}
}

var wantNames = []string{
	"kernel", "privileges", "cgroup", "cgroup controllers", "cgroup delegation", "systemd",
	"user namespaces", "seccomp", "apparmor", "selinux", "overlayfs", "idmapped mounts",
	"pidfd_open", "clone3", "CLONE_INTO_CGROUP", "openat2", "time namespaces",
	"state root", "newuidmap/newgidmap", "other runtimes",
}

func byName(checks []Check) map[string]Check {
	m := map[string]Check{}
	for _, c := range checks {
		m[c.Name] = c
	}
	return m
}

// TestRunHere runs every check on this host and holds the answers to
// what the kernel says by other means.
func TestRunHere(t *testing.T) {
	root := filepath.Join(t.TempDir(), "state")
	checks := Run(root)
	var names []string
	for _, c := range checks {
		names = append(names, c.Name)
		if c.Status != OK && c.Status != Warn && c.Status != Fail {
			t.Errorf("%s: status %q", c.Name, c.Status)
		}
		if c.Detail == "" {
			t.Errorf("%s: no detail", c.Name)
		}
		if c.Status != OK && c.Hint == "" && c.Name != "kernel" {
			t.Errorf("%s is %s without a hint: %s", c.Name, c.Status, c.Detail)
		}
	}
	if strings.Join(names, "|") != strings.Join(wantNames, "|") {
		t.Fatalf("checks %q, want %q", names, wantNames)
	}
	got := byName(checks)

	var u unix.Utsname
	unix.Uname(&u)
	release := unix.ByteSliceToString(u.Release[:])
	if !strings.Contains(got["kernel"].Detail, release) {
		t.Errorf("kernel detail %q lacks the release %q", got["kernel"].Detail, release)
	}
	v, err := parseKernelVersion(release)
	if err != nil {
		t.Fatal(err)
	}
	// Features this kernel must have by its version, unless a seccomp
	// filter hides them (then the detail says EPERM).
	for name, ver := range map[string][2]int{"pidfd_open": {5, 3}, "clone3": {5, 3}, "openat2": {5, 6}} {
		if v.atLeast(ver[0], ver[1]) && got[name].Status != OK && !strings.Contains(got[name].Detail, "EPERM") {
			t.Errorf("%s on %s: %+v", name, release, got[name])
		}
	}
	_, timeErr := os.Stat("/proc/self/ns/time")
	if (timeErr == nil) != (got["time namespaces"].Status == OK) {
		t.Errorf("time namespaces %+v, but stat /proc/self/ns/time: %v", got["time namespaces"], timeErr)
	}

	var st unix.Statfs_t
	if err := unix.Statfs("/sys/fs/cgroup", &st); err != nil {
		t.Fatal(err)
	}
	cg := got["cgroup"]
	switch st.Type {
	case unix.CGROUP2_SUPER_MAGIC:
		if cg.Status != OK || !strings.HasPrefix(cg.Detail, "v2") {
			t.Errorf("/sys/fs/cgroup is cgroup2 but the check says %+v", cg)
		}
	case unix.TMPFS_MAGIC:
		if cg.Status != Warn || !(strings.HasPrefix(cg.Detail, "hybrid") || strings.HasPrefix(cg.Detail, "v1")) {
			t.Errorf("/sys/fs/cgroup is tmpfs but the check says %+v", cg)
		}
	}

	// The state root does not exist yet; its parent is writable.
	sr := got["state root"]
	if sr.Status == Fail || !strings.Contains(sr.Detail, "does not exist yet") {
		t.Errorf("state root %+v", sr)
	}
	if os.Geteuid() == 0 && got["user namespaces"].Status == Fail {
		t.Errorf("root cannot make a user namespace? %+v", got["user namespaces"])
	}

	var buf bytes.Buffer
	if err := WriteText(&buf, checks); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(buf.String(), "\n"); lines < len(checks) || lines > 2*len(checks) {
		t.Errorf("text output has %d lines for %d checks:\n%s", lines, len(checks), buf.String())
	}
	data, err := json.Marshal(checks)
	if err != nil {
		t.Fatal(err)
	}
	var back []map[string]string
	if err := json.Unmarshal(data, &back); err != nil || back[0]["name"] != "kernel" || back[0]["status"] == "" {
		t.Errorf("JSON form %s: %v", data, err)
	}
}

func TestStateRoot(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good")
	os.Mkdir(good, 0o700)
	os.MkdirAll(filepath.Join(good, "c1"), 0o711)
	os.WriteFile(filepath.Join(good, "c1", "state.json"), []byte("{}"), 0o600)
	c := stateRootCheck(good)
	if c.Status == Fail || !strings.Contains(c.Detail, "mode 0700") || !strings.Contains(c.Detail, "1 container(s)") {
		t.Errorf("good root: %+v", c)
	}
	if names, _ := os.ReadDir(good); len(names) != 1 {
		t.Errorf("the writability probe was left behind: %v", names)
	}

	open := filepath.Join(dir, "open")
	os.Mkdir(open, 0o700)
	os.Chmod(open, 0o777)
	if c := stateRootCheck(open); c.Status != Fail || !strings.Contains(c.Hint, "chmod 0700") {
		t.Errorf("world-writable root: %+v", c)
	}

	file := filepath.Join(dir, "file")
	os.WriteFile(file, nil, 0o600)
	if c := stateRootCheck(file); c.Status != Fail || !strings.Contains(c.Detail, "not a directory") {
		t.Errorf("root is a file: %+v", c)
	}
	if c := otherRuntimesCheck("/run/runc"); c.Status == OK && strings.Contains(c.Detail, "/run/runc (") {
		t.Errorf("--root /run/runc shares runc's state but the check is ok: %+v", c)
	}
}
