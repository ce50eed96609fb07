package mountinfo

import (
	"reflect"
	"strings"
	"testing"
)

// Lines as this kernel (6.18) printed them: a tmpfs mounted with an empty
// source on a directory with a space in its name, made shared, a slave
// bind of it that is shared again, a submount whose source holds a tab,
// and a hybrid cgroup host's cgroup mounts, one of a subtree.
const table = `22 27 0:21 / /proc rw,relatime - proc proc rw
24 27 0:6 / /dev rw,relatime - devtmpfs devtmpfs rw,size=12334792k,nr_inodes=3083698,mode=755
68 47 0:40 / /tmp/mi\040dir rw,relatime shared:2 - tmpfs  rw,size=1024k
69 47 0:40 / /tmp/mi-b rw,relatime shared:3 master:2 - tmpfs  rw,size=1024k
70 68 0:41 / /tmp/mi\040dir/sub\040dir rw,relatime shared:4 - tmpfs src\011tab rw
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct
50 23 0:32 /docker/abc /mnt/memory\040copy rw - cgroup cgroup rw,memory
41 22 0:34 /sub\040dir /mnt/back\134slash ro,relatime - ext4 /dev/vdb\134x ro
`

func TestParse(t *testing.T) {
	ms, err := Parse(strings.NewReader(table))
	if err != nil {
		t.Fatal(err)
	}
	want := []Mount{
		{ID: 22, Parent: 27, Major: 0, Minor: 21, Root: "/", Mountpoint: "/proc", Options: "rw,relatime", FSType: "proc", Source: "proc", SuperOptions: "rw"},
		{ID: 24, Parent: 27, Major: 0, Minor: 6, Root: "/", Mountpoint: "/dev", Options: "rw,relatime", FSType: "devtmpfs", Source: "devtmpfs", SuperOptions: "rw,size=12334792k,nr_inodes=3083698,mode=755"},
		{ID: 68, Parent: 47, Major: 0, Minor: 40, Root: "/", Mountpoint: "/tmp/mi dir", Options: "rw,relatime", Optional: []string{"shared:2"}, FSType: "tmpfs", Source: "", SuperOptions: "rw,size=1024k"},
		{ID: 69, Parent: 47, Major: 0, Minor: 40, Root: "/", Mountpoint: "/tmp/mi-b", Options: "rw,relatime", Optional: []string{"shared:3", "master:2"}, FSType: "tmpfs", Source: "", SuperOptions: "rw,size=1024k"},
		{ID: 70, Parent: 68, Major: 0, Minor: 41, Root: "/", Mountpoint: "/tmp/mi dir/sub dir", Options: "rw,relatime", Optional: []string{"shared:4"}, FSType: "tmpfs", Source: "src\ttab", SuperOptions: "rw"},
		{ID: 32, Parent: 31, Major: 0, Minor: 29, Root: "/", Mountpoint: "/sys/fs/cgroup/cpu,cpuacct", Options: "rw,nosuid,nodev,noexec,relatime", Optional: []string{"shared:9"}, FSType: "cgroup", Source: "cgroup", SuperOptions: "rw,cpu,cpuacct"},
		{ID: 50, Parent: 23, Major: 0, Minor: 32, Root: "/docker/abc", Mountpoint: "/mnt/memory copy", Options: "rw", FSType: "cgroup", Source: "cgroup", SuperOptions: "rw,memory"},
		{ID: 41, Parent: 22, Major: 0, Minor: 34, Root: "/sub dir", Mountpoint: `/mnt/back\slash`, Options: "ro,relatime", FSType: "ext4", Source: `/dev/vdb\x`, SuperOptions: "ro"},
	}
	if len(ms) != len(want) {
		t.Fatalf("parsed %d mounts, want %d", len(ms), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(ms[i], want[i]) {
			t.Errorf("line %d:\n got %+v\nwant %+v", i+1, ms[i], want[i])
		}
	}
	if !ms[2].Shared() || !ms[3].Shared() || ms[0].Shared() || ms[6].Shared() {
		t.Error("Shared")
	}
	if !HasOption(ms[5].SuperOptions, "cpuacct") || HasOption(ms[5].SuperOptions, "cpu,cpuacct") || HasOption(ms[0].Options, "ro") {
		t.Error("HasOption")
	}
}

func TestParseRefuses(t *testing.T) {
	for _, bad := range []string{
		"22 1 253:1 / / rw shared:1 ext4 /dev/vda rw", // no separator
		"x 1 253:1 / / rw - ext4 /dev/vda rw",         // id
		"22 y 253:1 / / rw - ext4 /dev/vda rw",        // parent
		"22 1 253 / / rw - ext4 /dev/vda rw",          // major:minor
		"22 1 253:1 / / rw -",                         // no fstype
		"22 1 253:1 / / rw - ext4",                    // no source
		"27 1 254:0 / /",
		"22 1 253:1 / - - ext4 /dev/vda rw", // "-" as the options field is no separator
	} {
		if _, err := Parse(strings.NewReader(bad + "\n")); err == nil {
			t.Errorf("Parse accepted %q", bad)
		}
	}
	_, err := Parse(strings.NewReader("22 27 0:21 / /proc rw,relatime - proc proc rw\nbad line\n"))
	if err == nil || !strings.Contains(err.Error(), "mountinfo line 2:") {
		t.Errorf("error %v does not name line 2", err)
	}
}

func TestUnescape(t *testing.T) {
	for in, want := range map[string]string{
		`/a\040b`:      "/a b",
		`\011\012\134`: "\t\n\\",
		`/a\04`:        `/a\04`,  // too short
		`/a\08x`:       `/a\08x`, // not octal
		`/a\400`:       `/a\400`, // above a byte
		`/plain`:       "/plain",
		`/end\040`:     "/end ",
	} {
		if got := Unescape(in); got != want {
			t.Errorf("Unescape(%q) = %q, want %q", in, got, want)
		}
	}
}

// The running kernel's table parses, and / is in it.
func TestRead(t *testing.T) {
	ms, err := Read()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Mountpoint == "/" {
			return
		}
	}
	t.Fatalf("no mount on / among %d", len(ms))
}
