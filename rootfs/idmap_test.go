package rootfs

import (
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"berth/nsenter"
)

func TestIdmaps(t *testing.T) {
	own := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 10}}
	ctr := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	spec := &specs.Spec{
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			{Destination: "/own", Type: "bind", Source: "vol", Options: []string{"rbind"}, UIDMappings: own, GIDMappings: own},
			{Destination: "/ctr", Type: "bind", Source: "/srv", Options: []string{"rbind", "ridmap"}},
			{Destination: "/plain", Type: "bind", Source: "/srv", Options: []string{"bind"}},
		},
		Linux: &specs.Linux{UIDMappings: ctr, GIDMappings: ctr},
	}
	got, err := Idmaps(&Config{Spec: spec, Rootfs: "/b/rootfs", Bundle: "/b"})
	if err != nil {
		t.Fatal(err)
	}
	want := []Idmap{
		{Index: 1, Field: "spec mounts[1] (/own)", Source: "/b/vol", Tree: true, UID: own, GID: own},
		{Index: 2, Field: "spec mounts[2] (/ctr)", Source: "/srv", Tree: true, Recursive: true, UID: ctr, GID: ctr},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}

	for _, tc := range []struct {
		name string
		m    specs.Mount
		l    *specs.Linux
		want string
	}{
		{"not a bind", specs.Mount{Destination: "/t", Type: "tmpfs", Source: "tmpfs", Options: []string{"idmap"}}, &specs.Linux{},
			"spec mounts[0] (/t): an idmapped mount (idmap, ridmap, uidMappings) must be a bind mount"},
		{"no mappings anywhere", specs.Mount{Destination: "/v", Type: "bind", Source: "/srv", Options: []string{"bind", "idmap"}}, &specs.Linux{},
			"spec mounts[0] (/v): idmap without uidMappings and gidMappings needs the container's"},
		{"half", specs.Mount{Destination: "/v", Type: "bind", Source: "/srv", Options: []string{"bind"}, UIDMappings: own}, &specs.Linux{},
			"spec mounts[0] (/v): uidMappings and gidMappings must be given together"},
	} {
		_, err := Idmaps(&Config{Spec: &specs.Spec{Mounts: []specs.Mount{tc.m}, Linux: tc.l}, Rootfs: "/b/rootfs"})
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}

// TestPlanIdmap: an idmapped bind is the parent's detached mount moved
// into place: its fd (OpIdmapFD), then the bind with BitIdmap, which
// keeps its flags (a read-only remount) and propagation.
func TestPlanIdmap(t *testing.T) {
	withMountTable(t, goldenMounts)
	m := specs.Mount{Destination: "/v", Type: "bind", Source: "/srv", Options: []string{"bind", "idmap", "ro", "rprivate"},
		UIDMappings: []specs.LinuxIDMapping{{Size: 1}}, GIDMappings: []specs.LinuxIDMapping{{Size: 1}}}
	c := &Config{Rootfs: "/b/rootfs", Bundle: "/b", Spec: &specs.Spec{Mounts: []specs.Mount{m}, Linux: &specs.Linux{}}, IdmapFDs: map[int]int{0: 12}}
	ops, err := PlanSetup(c)
	if err != nil {
		t.Fatal(err)
	}
	for k, op := range ops {
		if op.Code != nsenter.OpIdmapFD {
			continue
		}
		b := ops[k+1]
		if op.N[0] != 12 || b.Code != nsenter.OpBind || b.N[2]&nsenter.BitIdmap == 0 || b.N[2]&nsenter.BitRemount == 0 ||
			b.S[0] != "/v" || b.S[2] != "/srv" || len(b.Prop) != 1 {
			t.Errorf("idmapped bind: %+v then %+v", op, b)
		}
		return
	}
	t.Fatalf("no OpIdmapFD in %+v", ops)
}

func TestPlanIdmapWithoutFD(t *testing.T) {
	withMountTable(t, goldenMounts)
	m := specs.Mount{Destination: "/v", Type: "bind", Source: "/srv", Options: []string{"bind", "idmap"}}
	_, err := PlanSetup(&Config{Rootfs: "/b/rootfs", Spec: &specs.Spec{Mounts: []specs.Mount{m}, Linux: &specs.Linux{}}})
	if err == nil || !strings.Contains(err.Error(), "spec mounts[0]: idmapped mount without its detached mount") {
		t.Errorf("error %v", err)
	}
}
