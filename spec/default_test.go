package spec

import (
	"os"
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func mountAt(s *specs.Spec, dest string) *specs.Mount {
	for i := range s.Mounts {
		if s.Mounts[i].Destination == dest {
			return &s.Mounts[i]
		}
	}
	return nil
}

func nsTypes(s *specs.Spec) []specs.LinuxNamespaceType {
	var ts []specs.LinuxNamespaceType
	for _, n := range s.Linux.Namespaces {
		ts = append(ts, n.Type)
	}
	return ts
}

func TestDefault(t *testing.T) {
	s := defaultFor(false, true)
	if err := Validate(s); err != nil {
		t.Fatal(err)
	}
	if s.Version != specs.Version || s.Hostname != "berth" || s.Root.Path != "rootfs" || !s.Root.Readonly {
		t.Errorf("header: version %q hostname %q root %+v", s.Version, s.Hostname, s.Root)
	}
	p := s.Process
	if !p.Terminal || !p.NoNewPrivileges || p.Cwd != "/" || !slices.Equal(p.Args, []string{"sh"}) || p.User.UID != 0 || p.User.GID != 0 {
		t.Errorf("process: %+v", p)
	}
	wantCaps := []string{"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"}
	c := p.Capabilities
	if !slices.Equal(c.Bounding, wantCaps) || !slices.Equal(c.Effective, wantCaps) || !slices.Equal(c.Permitted, wantCaps) ||
		c.Inheritable != nil || c.Ambient != nil {
		t.Errorf("capabilities: %+v", c)
	}
	if len(p.Rlimits) != 1 || p.Rlimits[0] != (specs.POSIXRlimit{Type: "RLIMIT_NOFILE", Hard: 1024, Soft: 1024}) {
		t.Errorf("rlimits: %+v", p.Rlimits)
	}
	var dests []string
	for _, m := range s.Mounts {
		dests = append(dests, m.Destination+" "+m.Type)
	}
	if want := []string{"/proc proc", "/dev tmpfs", "/dev/pts devpts", "/dev/shm tmpfs", "/dev/mqueue mqueue", "/sys sysfs", "/sys/fs/cgroup cgroup"}; !slices.Equal(dests, want) {
		t.Errorf("mounts = %q, want %q", dests, want)
	}
	if o := mountAt(s, "/dev/pts").Options; !slices.Contains(o, "gid=5") || !slices.Contains(o, "ptmxmode=0666") {
		t.Errorf("devpts options %q", o)
	}
	if want := []specs.LinuxNamespaceType{"pid", "network", "ipc", "uts", "mount", "cgroup"}; !slices.Equal(nsTypes(s), want) {
		t.Errorf("namespaces = %q", nsTypes(s))
	}
	if d := s.Linux.Resources.Devices; len(d) != 1 || d[0].Allow || d[0].Access != "rwm" {
		t.Errorf("device rules %+v", d)
	}
	if len(s.Linux.MaskedPaths) != 11 || len(s.Linux.ReadonlyPaths) != 5 {
		t.Errorf("masked %d readonly %d", len(s.Linux.MaskedPaths), len(s.Linux.ReadonlyPaths))
	}
	// The three capability lists must not share a backing array: editing
	// one (as `berth spec` users' tools do) must not change the others.
	c.Effective[0] = "CAP_CHOWN"
	if c.Bounding[0] != "CAP_AUDIT_WRITE" || c.Permitted[0] != "CAP_AUDIT_WRITE" {
		t.Error("capability lists alias each other")
	}
}

// TestDefaultCgroupNamespace: a cgroup namespace on a cgroup v2 host
// only, as runc's default spec; the rootless spec has none either way.
func TestDefaultCgroupNamespace(t *testing.T) {
	for _, unified := range []bool{false, true} {
		want := []specs.LinuxNamespaceType{"pid", "network", "ipc", "uts", "mount"}
		if unified {
			want = append(want, "cgroup")
		}
		if got := nsTypes(defaultFor(false, unified)); !slices.Equal(got, want) {
			t.Errorf("unified %v: namespaces %q, want %q", unified, got, want)
		}
		if got, want := nsTypes(defaultFor(true, unified)), []specs.LinuxNamespaceType{"pid", "ipc", "uts", "mount", "user"}; !slices.Equal(got, want) {
			t.Errorf("unified %v, rootless: namespaces %q, want %q", unified, got, want)
		}
	}
}

func TestDefaultRootless(t *testing.T) {
	s := Default(true)
	if err := Validate(s); err != nil {
		t.Fatal(err)
	}
	if want := []specs.LinuxNamespaceType{"pid", "ipc", "uts", "mount", "user"}; !slices.Equal(nsTypes(s), want) {
		t.Errorf("namespaces = %q, want %q", nsTypes(s), want)
	}
	wantUID := []specs.LinuxIDMapping{{ContainerID: 0, HostID: uint32(os.Geteuid()), Size: 1}}
	wantGID := []specs.LinuxIDMapping{{ContainerID: 0, HostID: uint32(os.Getegid()), Size: 1}}
	if !slices.Equal(s.Linux.UIDMappings, wantUID) || !slices.Equal(s.Linux.GIDMappings, wantGID) {
		t.Errorf("mappings uid %+v gid %+v", s.Linux.UIDMappings, s.Linux.GIDMappings)
	}
	if s.Linux.Resources != nil {
		t.Errorf("resources %+v, want none", s.Linux.Resources)
	}
	if o := mountAt(s, "/dev/pts").Options; slices.Contains(o, "gid=5") || !slices.Contains(o, "newinstance") {
		t.Errorf("devpts options %q", o)
	}
	sys := mountAt(s, "/sys")
	if sys == nil || sys.Source != "/sys" || !slices.Equal(sys.Options, []string{"rbind", "nosuid", "noexec", "nodev", "ro"}) {
		t.Errorf("/sys mount %+v", sys)
	}
	if mountAt(s, "/sys/fs/cgroup") != nil {
		t.Error("rootless spec keeps the cgroup mount")
	}
	if len(s.Mounts) != 6 {
		t.Errorf("%d mounts, want 6", len(s.Mounts))
	}
	// The rootless variant must not have changed the shared default.
	if o := mountAt(Default(false), "/dev/pts").Options; !slices.Contains(o, "gid=5") {
		t.Error("Default(true) modified Default(false)")
	}
}
