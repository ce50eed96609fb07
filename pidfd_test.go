package main

import (
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestCheckNoSubreaper: run --no-subreaper before Linux 6.15 is refused
// whenever the init is forked by the stub, which it is for a pid or time
// namespace it makes and for one it joins (setns of either applies to
// children only), and allowed when the init is berth's child.
func TestCheckNoSubreaper(t *testing.T) {
	old := func(int, int) bool { return false }
	for _, tc := range []struct {
		ns     []specs.LinuxNamespace
		refuse bool
	}{
		{nil, false},
		{[]specs.LinuxNamespace{{Type: specs.MountNamespace}, {Type: specs.NetworkNamespace}}, false},
		{[]specs.LinuxNamespace{{Type: specs.PIDNamespace}}, true},
		{[]specs.LinuxNamespace{{Type: specs.PIDNamespace, Path: "/proc/1/ns/pid"}}, true},
		{[]specs.LinuxNamespace{{Type: specs.TimeNamespace, Path: "/proc/1/ns/time"}}, true},
	} {
		s := &specs.Spec{Linux: &specs.Linux{Namespaces: tc.ns}}
		err := checkNoSubreaper(s, old)
		if tc.refuse != (err != nil) || (err != nil && !strings.Contains(err.Error(), "Linux 6.15")) {
			t.Errorf("%+v: %v, want refused %v", tc.ns, err, tc.refuse)
		}
		if err := checkNoSubreaper(s, func(int, int) bool { return true }); err != nil {
			t.Errorf("%+v on 6.15: %v", tc.ns, err)
		}
	}
}
