package libcontainer

import (
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestDelegatesCgroup: the cgroup is handed to the container's root only
// when it has new user and cgroup namespaces and mounts cgroupfs
// read-write at /sys/fs/cgroup; a read-only cgroupfs (runc's default
// spec) or none keeps it the host's, as runc decides.
func TestDelegatesCgroup(t *testing.T) {
	own := &nsPlan{}
	for _, ns := range []specs.LinuxNamespaceType{specs.UserNamespace, specs.CgroupNamespace} {
		own.cloneFlags |= uint32(nsFlags[ns].flag)
	}
	noCgroupNS := &nsPlan{cloneFlags: uint32(nsFlags[specs.UserNamespace].flag)}
	cg := func(opts ...string) specs.Mount {
		return specs.Mount{Destination: "/sys/fs/cgroup/", Type: "cgroup", Source: "cgroup", Options: opts}
	}
	for _, tc := range []struct {
		name   string
		plan   *nsPlan
		mounts []specs.Mount
		want   bool
	}{
		{"rw cgroupfs", own, []specs.Mount{cg("nosuid", "noexec", "nodev")}, true},
		{"ro then rw", own, []specs.Mount{cg("ro", "rw")}, true},
		{"ro cgroupfs", own, []specs.Mount{cg("nosuid", "noexec", "nodev", "relatime", "ro")}, false},
		{"no cgroupfs", own, nil, false},
		{"cgroupfs elsewhere", own, []specs.Mount{{Destination: "/cg", Type: "cgroup", Source: "cgroup"}}, false},
		{"no cgroup namespace", noCgroupNS, []specs.Mount{cg()}, false},
	} {
		s := &specs.Spec{Mounts: tc.mounts}
		if got := delegatesCgroup(s, tc.plan); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
