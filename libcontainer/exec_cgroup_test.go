package libcontainer

import (
	"maps"
	"strings"
	"testing"
)

func TestParseSubCgroups(t *testing.T) {
	v2 := map[string]string{"unified": "/sys/fs/cgroup/c"}
	v1 := map[string]string{"pids": "/sys/fs/cgroup/pids/c", "memory": "/sys/fs/cgroup/memory/c", "unified": "/sys/fs/cgroup/unified/c"}
	for _, tc := range []struct {
		paths map[string]string
		args  []string
		want  map[string]string // nil: an error containing err
		err   string
	}{
		{v2, []string{"sub"}, map[string]string{"unified": "sub"}, ""},
		{v2, []string{"/a/b/"}, map[string]string{"unified": "a/b"}, ""},
		{v2, []string{":sub"}, map[string]string{"unified": "sub"}, ""},
		{v2, []string{"/"}, map[string]string{"unified": "."}, ""},
		{v2, []string{"a//./b"}, map[string]string{"unified": "a/b"}, ""},
		{v2, []string{"pids:sub"}, nil, "single hierarchy"},
		{v2, []string{"a", "b"}, nil, "only --cgroup"},
		{v2, []string{""}, nil, "empty path"},
		{v2, []string{".."}, nil, "inside the container's cgroup"},
		{v2, []string{"/../x"}, nil, "inside the container's cgroup"},
		{v2, []string{"a/../../x"}, nil, "inside the container's cgroup"},
		{v2, []string{"a/.."}, nil, "inside the container's cgroup"},
		{v1, []string{"sub"}, map[string]string{"pids": "sub", "memory": "sub", "unified": "sub"}, ""},
		{v1, []string{"pids,memory:s", "unified:/u"}, map[string]string{"pids": "s", "memory": "s", "unified": "u"}, ""},
		{v1, []string{"cpu:s"}, nil, `no "cpu" cgroup`},
		{v1, []string{"pids:a", "pids:b"}, nil, "given twice"},
		{v1, []string{"pids:../x"}, nil, "inside the container's cgroup"},
	} {
		got, err := parseSubCgroups(tc.args, tc.paths)
		if tc.want == nil {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: got %v, %v; want an error with %q", tc.args, got, err, tc.err)
			}
			continue
		}
		if err != nil || !maps.Equal(got, tc.want) {
			t.Errorf("%q: got %v, %v; want %v", tc.args, got, err, tc.want)
		}
	}
}
