package cgroups

import (
	"errors"
	"strings"
	"testing"
)

func TestParsePath(t *testing.T) {
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
		{"system.slice:docker:abc", "x", "", false, "systemd cgroup driver not supported yet"},
		{":docker:abc", "x", "", false, "systemd cgroup driver not supported yet"},
		{"", "", "", false, "cannot name a cgroup"},
		{"/a\nb", "x", "", false, "invalid character"},
	} {
		got, err := ParsePath(tc.in, tc.id)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParsePath(%q) error = %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got.Path != tc.want || got.Relative != tc.relative {
			t.Errorf("ParsePath(%q) = %+v %v, want %q %v", tc.in, got, err, tc.want, tc.relative)
		}
	}
	if _, err := ParsePath("a.slice:p:n", "x"); !errors.Is(err, ErrSystemdPath) {
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
		got, err := Under(tc.base, tc.rel)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Under(%q, %q) error = %v, want %q", tc.base, tc.rel, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Under(%q, %q) = %q, %v; want %q", tc.base, tc.rel, got, err, tc.want)
		}
	}
}
