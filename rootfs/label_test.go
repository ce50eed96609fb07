package rootfs

import "testing"

func TestLabelData(t *testing.T) {
	const l = "system_u:object_r:container_file_t:s0:c1,c2"
	for _, tc := range []struct{ typ, data, label, want string }{
		{"tmpfs", "mode=755", "", "mode=755"},
		{"tmpfs", "", l, `context="` + l + `"`},
		{"tmpfs", "mode=755,size=65536k", l, `mode=755,size=65536k,context="` + l + `"`},
		{"devpts", "newinstance,ptmxmode=0666", l, `newinstance,ptmxmode=0666,context="` + l + `"`},
		{"proc", "", l, ""},
		{"sysfs", "", l, ""},
		{"cgroup2", "nsdelegate", l, "nsdelegate"},
		{"mqueue", "", l, ""},
	} {
		if got := labelData(tc.typ, tc.data, tc.label); got != tc.want {
			t.Errorf("labelData(%q, %q, label) = %q, want %q", tc.typ, tc.data, got, tc.want)
		}
	}
}
