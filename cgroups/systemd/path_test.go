package systemd

import (
	"strings"
	"testing"
)

func TestParsePath(t *testing.T) {
	for _, tc := range []struct {
		path, id string
		user     bool
		want     Unit
		err      string
	}{
		{"", "c1", false, Unit{"berth-c1.scope", "system.slice", "/system.slice/berth-c1.scope"}, ""},
		{"", "c1", true, Unit{"berth-c1.scope", "user.slice", "/user.slice/berth-c1.scope"}, ""},
		{"system.slice:docker:abc", "x", false, Unit{"docker-abc.scope", "system.slice", "/system.slice/docker-abc.scope"}, ""},
		{":cri-containerd:abc", "x", false, Unit{"cri-containerd-abc.scope", "system.slice", "/system.slice/cri-containerd-abc.scope"}, ""},
		{"machine.slice:libpod:abc", "x", false, Unit{"libpod-abc.scope", "machine.slice", "/machine.slice/libpod-abc.scope"}, ""},
		{"kubepods-burstable-pod1.slice:cri-containerd:abc", "x", false,
			Unit{"cri-containerd-abc.scope", "kubepods-burstable-pod1.slice", "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice/cri-containerd-abc.scope"}, ""},
		{"-.slice:p:n", "x", false, Unit{"p-n.scope", "-.slice", "/p-n.scope"}, ""},
		{"-:p:n", "x", false, Unit{"p-n.scope", "-.slice", "/p-n.scope"}, ""},
		{"system.slice::n", "x", false, Unit{"n.scope", "system.slice", "/system.slice/n.scope"}, ""},
		// A slice as the unit: placed by its name, the prefix unused.
		{":p:a-b.slice", "x", false, Unit{"a-b.slice", "a.slice", "/a.slice/a-b.slice"}, ""},
		{"a.slice:p:a-b.slice", "x", false, Unit{"a-b.slice", "a.slice", "/a.slice/a-b.slice"}, ""},
		{":p:top.slice", "x", false, Unit{"top.slice", "-.slice", "/top.slice"}, ""},
		{"system.slice:p:a-b.slice", "x", false, Unit{}, "lives under a.slice"},
		{"a/b.slice:p:n", "x", false, Unit{}, "no slash"},
		{"system:p:n", "x", false, Unit{}, `ends in ".slice"`},
		{".slice:p:n", "x", false, Unit{}, `ends in ".slice"`},
		{"-a.slice:p:n", "x", false, Unit{}, "dash"},
		{"a-.slice:p:n", "x", false, Unit{}, "dash"},
		{"a--b.slice:p:n", "x", false, Unit{}, "dash"},
		{"system.slice:p:", "x", false, Unit{}, "name (after the second colon) is empty"},
		{"system.slice:p q:n", "x", false, Unit{}, "cannot be in a systemd unit name"},
		{"system.slice:p:n/m", "x", false, Unit{}, "cannot be in a systemd unit name"},
		{"a:b", "x", false, Unit{}, `wants "slice:prefix:name"`},
		{"a:b:c:d", "x", false, Unit{}, `wants "slice:prefix:name"`},
		{"system.slice:p:" + strings.Repeat("n", 260), "x", false, Unit{}, "longer than systemd's 255"},
	} {
		got, err := ParsePath(tc.path, tc.id, tc.user)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), "linux.cgroupsPath") {
				t.Errorf("ParsePath(%q): %v, want an error naming linux.cgroupsPath and %q", tc.path, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParsePath(%q) = %+v, %v; want %+v", tc.path, got, err, tc.want)
		}
	}
}

func TestExpandSlice(t *testing.T) {
	for in, want := range map[string]string{
		"-.slice":       "/",
		"system.slice":  "/system.slice",
		"a-b-c.slice":   "/a.slice/a-b.slice/a-b-c.slice",
		"user-0.slice":  "/user.slice/user-0.slice",
		"a_b-c.d.slice": "/a_b.slice/a_b-c.d.slice",
	} {
		if got, err := ExpandSlice(in); err != nil || got != want {
			t.Errorf("ExpandSlice(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "slice", "a/b.slice", "-a.slice", "a-.slice", "a--b.slice", "a.scope"} {
		if got, err := ExpandSlice(in); err == nil {
			t.Errorf("ExpandSlice(%q) = %q, want an error", in, got)
		}
	}
}
