package libcontainer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os/exec"
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"berth/nsenter"
)

func TestDefaultRoot(t *testing.T) {
	for _, tc := range []struct {
		euid    int
		userns  bool
		xdg     string
		user    string
		userSet bool
		want    string
	}{
		{0, false, "/run/user/0", "root", true, "/run/berth"},
		{1000, false, "/run/user/1000", "me", true, "/run/user/1000/berth"},
		{1000, false, "/tmp/xdg", "", false, "/tmp/xdg/berth"},
		{1000, false, "", "me", true, "/run/user/1000/berth"},
		{1000, false, "relative", "me", true, "/run/user/1000/berth"},
		// Root of a rootless engine's user namespace.
		{0, true, "/run/user/1000", "me", true, "/run/user/1000/berth"},
		{0, true, "/run/user/1000", "", false, "/run/user/1000/berth"},
		{0, true, "/run/user/0", "root", true, "/run/berth"},
		{0, true, "", "me", true, "/run/berth"},
	} {
		if got := DefaultRoot(tc.euid, tc.userns, tc.xdg, tc.user, tc.userSet); got != tc.want {
			t.Errorf("DefaultRoot(%d, userns %v, %q, USER %q) = %q, want %q", tc.euid, tc.userns, tc.xdg, tc.user, got, tc.want)
		}
	}
}

func idmap(pairs ...uint32) []specs.LinuxIDMapping {
	var m []specs.LinuxIDMapping
	for i := 0; i+2 < len(pairs); i += 3 {
		m = append(m, specs.LinuxIDMapping{ContainerID: pairs[i], HostID: pairs[i+1], Size: pairs[i+2]})
	}
	return m
}

func TestPlanIDMaps(t *testing.T) {
	for _, tc := range []struct {
		name       string
		euid, egid int
		uids, gids []specs.LinuxIDMapping
		want       idMaps
	}{
		{"root writes every map", 0, 0, idmap(0, 100000, 65536), idmap(0, 100000, 65536), idMaps{}},
		{"own ids alone: direct, setgroups denied", 1000, 1000, idmap(0, 1000, 1), idmap(0, 1000, 1),
			idMaps{denySetgroups: true, unprivileged: true}},
		{"subordinate ranges: both helpers", 1000, 1000, idmap(0, 1000, 1, 1, 100000, 65536), idmap(0, 1000, 1, 1, 100000, 65536),
			idMaps{uidHelper: true, gidHelper: true, unprivileged: true}},
		{"own uid, gid range", 1000, 1000, idmap(0, 1000, 1), idmap(0, 1000, 1, 1, 100000, 65536),
			idMaps{gidHelper: true, unprivileged: true}},
		{"another single id needs the helper", 1000, 1000, idmap(0, 1001, 1), idmap(0, 1000, 1),
			idMaps{uidHelper: true, denySetgroups: true, unprivileged: true}},
		{"own id with size 2", 1000, 50, idmap(0, 1000, 2), idmap(5, 50, 1),
			idMaps{uidHelper: true, denySetgroups: true, unprivileged: true}},
	} {
		got := planIDMaps(tc.euid, tc.egid, &specs.Linux{UIDMappings: tc.uids, GIDMappings: tc.gids})
		if got != tc.want {
			t.Errorf("%s: planIDMaps = %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestIDMapsCheck(t *testing.T) {
	none := func(string) (string, error) { return "", exec.ErrNotFound }
	found := func(s string) (string, error) { return "/usr/bin/" + s, nil }
	proc := &specs.Process{User: specs.User{AdditionalGids: []uint32{10}}}
	for _, tc := range []struct {
		name string
		p    idMaps
		look func(string) (string, error)
		proc *specs.Process
		want string // "" for no error
	}{
		{"direct maps need no tool", idMaps{denySetgroups: true}, none, &specs.Process{}, ""},
		{"newuidmap missing", idMaps{uidHelper: true, gidHelper: true}, none, nil, "linux.uidMappings: mapping more than your own id without root needs newuidmap (package uidmap), not found in PATH"},
		{"newgidmap missing", idMaps{gidHelper: true, denySetgroups: false}, none, nil, "linux.gidMappings: mapping more than your own id without root needs newgidmap (package uidmap)"},
		{"helpers found", idMaps{uidHelper: true, gidHelper: true}, found, proc, ""},
		{"additionalGids with setgroups denied", idMaps{denySetgroups: true}, found, proc, "process.user.additionalGids [10]: setgroups is denied"},
	} {
		err := tc.p.check(&specs.Linux{}, tc.proc, tc.look)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}

func TestHelperArgs(t *testing.T) {
	got := helperArgs(42, idmap(0, 1000, 1, 1, 100000, 65536))
	want := []string{"42", "0", "1000", "1", "1", "100000", "65536"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("helperArgs = %q, want %q", got, want)
	}
}

func TestRootlessCgroup(t *testing.T) {
	denied := fmt.Errorf("mkdir /sys/fs/cgroup/memory/x: %w", unix.EACCES)
	mem := int64(1 << 20)
	for _, tc := range []struct {
		name string
		l    *specs.Linux
		err  error
		want string // "" for a container without a cgroup
	}{
		{"no limits: no cgroup", &specs.Linux{}, denied, ""},
		{"device rules alone: no cgroup", &specs.Linux{Resources: &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}}}, denied, ""},
		{"read-only cgroupfs: no cgroup", &specs.Linux{}, fmt.Errorf("mkdir: %w", unix.EROFS), ""},
		{"a limit needs the cgroup", &specs.Linux{Resources: &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: &mem}}}, denied,
			"linux.resources.memory: a rootless container without a cgroup cannot have limits (mkdir /sys/fs/cgroup/memory/x: permission denied): run berth in a cgroup delegated to you"},
		{"a cgroupsPath needs the cgroup", &specs.Linux{CgroupsPath: "/mine/x"}, denied,
			`linux.cgroupsPath "/mine/x": a rootless container cannot create it`},
		{"another error stays", &specs.Linux{}, fmt.Errorf("mkdir: %w", unix.ENOSPC), `create cgroup (linux.cgroupsPath ""): mkdir: no space left on device`},
	} {
		m, err := rootlessCgroup(tc.l, tc.err)
		if tc.want == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			} else if _, ok := m.(noCgroup); !ok || m.Paths() != nil {
				t.Errorf("%s: manager %#v, want noCgroup without paths", tc.name, m)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
	if err := (noCgroup{}).Set(&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: &mem}}); !errors.Is(err, errNoCgroup) {
		t.Errorf("noCgroup.Set(pids) = %v, want errNoCgroup", err)
	}
}

func TestRecordNoGroups(t *testing.T) {
	proc := &specs.Process{Args: []string{"true"}, Cwd: "/"}
	rec, err := cExecRecord(&specs.Spec{}, proc, 0, -1, false, true)
	if err != nil {
		t.Fatal(err)
	}
	if flags := binary.NativeEndian.Uint32(rec); flags&nsenter.ExecNoGroups == 0 {
		t.Errorf("exec record flags %#x lack CX_NOGROUPS", flags)
	}
	proc.User.AdditionalGids = []uint32{5}
	if _, err := cExecRecord(&specs.Spec{}, proc, 0, -1, false, true); err == nil || !strings.Contains(err.Error(), "process.user.additionalGids [5]") {
		t.Errorf("additionalGids with setgroups denied: %v", err)
	}
}

func TestIDMapsDumpable(t *testing.T) {
	for _, tc := range []struct {
		p    idMaps
		plan *nsPlan
		want uint32
	}{
		{idMaps{}, &nsPlan{}, 0},
		{idMaps{unprivileged: true}, &nsPlan{}, nsenter.DumpableKeep},
		{idMaps{unprivileged: true}, &nsPlan{join: []string{"network:/run/netns/x"}}, nsenter.DumpableMaps},
	} {
		if got := tc.p.dumpable(tc.plan); got != tc.want {
			t.Errorf("%+v with joins %q: dumpable %d, want %d", tc.p, tc.plan.join, got, tc.want)
		}
	}
}

func TestRootlessNetwork(t *testing.T) {
	if err := rootlessNetwork(false, true, true); err != nil {
		t.Errorf("root: %v", err)
	}
	if err := rootlessNetwork(true, false, false); err != nil {
		t.Errorf("rootless without networking: %v", err)
	}
	if err := rootlessNetwork(true, true, false); err == nil || !strings.Contains(err.Error(), "built-in veth networking needs root on the host") {
		t.Errorf("rootless veth: %v", err)
	}
	if err := rootlessNetwork(true, false, true); err == nil || !strings.HasPrefix(err.Error(), "linux.netDevices: ") {
		t.Errorf("rootless netDevices: %v", err)
	}
}

func TestSetRootless(t *testing.T) {
	defer SetRootless("auto")
	for _, tc := range []struct {
		mode string
		want bool
	}{{"true", true}, {"false", false}} {
		if err := SetRootless(tc.mode); err != nil || Rootless() != tc.want {
			t.Errorf("--rootless %s: Rootless() = %v (%v), want %v", tc.mode, Rootless(), err, tc.want)
		}
	}
	if err := SetRootless("yes"); err == nil || err.Error() != `--rootless "yes": want true, false or auto` {
		t.Errorf("--rootless yes: %v", err)
	}
}

func TestOnlyRootWrites(t *testing.T) {
	reg := uint32(unix.S_IFREG)
	own := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}}
	sub := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}, {ContainerID: 1, HostID: 100000, Size: 65536}}
	newNS := []specs.LinuxNamespace{{Type: specs.PIDNamespace}, {Type: specs.UserNamespace}}
	for _, tc := range []struct {
		name      string
		uid, mode uint32
		euid      int
		nss       []specs.LinuxNamespace
		maps      []specs.LinuxIDMapping
		want      bool
	}{
		{"own id", 0, reg | 0o755, 1000, newNS, own, true},
		{"subuid range", 0, reg | 0o755, 1000, newNS, sub, true},
		{"root", 0, reg | 0o755, 0, newNS, own, false}, // the read-only bind
		{"caller's binary", 1000, reg | 0o755, 1000, newNS, own, false},
		{"group-writable", 0, reg | 0o775, 1000, newNS, own, false}, // or an ACL mask
		{"other-writable", 0, reg | 0o757, 1000, newNS, own, false},
		{"subordinate owner", 100000, reg | 0o755, 1000, newNS, sub, false},
		// A caller with file capabilities may make a container without a
		// user namespace: its processes may hold them on the host.
		{"no user namespace", 0, reg | 0o755, 1000, []specs.LinuxNamespace{{Type: specs.PIDNamespace}}, nil, false},
		// A joined user namespace's maps are not berth's.
		{"joined user namespace", 0, reg | 0o755, 1000, []specs.LinuxNamespace{{Type: specs.UserNamespace, Path: "/proc/7/ns/user"}}, nil, false},
		// A subordinate range that covers host root (an /etc/subuid that
		// gives it): container root with CAP_DAC_OVERRIDE may write a file
		// whose owner its namespace maps.
		{"maps host root", 0, reg | 0o755, 1000, newNS, []specs.LinuxIDMapping{{ContainerID: 0, HostID: 0, Size: 65536}}, false},
		{"maps host root last", 0, reg | 0o755, 1000, newNS, append(sub, specs.LinuxIDMapping{ContainerID: 70000, HostID: 0, Size: 1}), false},
	} {
		st := &unix.Stat_t{Uid: tc.uid, Mode: tc.mode}
		if got := onlyRootWrites(st, unix.EXT4_SUPER_MAGIC, tc.euid, containerIDsOf(tc.nss, tc.maps)); got != tc.want {
			t.Errorf("%s: owner %d mode %o, euid %d: %v, want %v", tc.name, tc.uid, tc.mode, tc.euid, got, tc.want)
		}
	}
	// On FUSE the server, not the mode, decides who writes.
	st := &unix.Stat_t{Uid: 0, Mode: reg | 0o755}
	if onlyRootWrites(st, unix.FUSE_SUPER_MAGIC, 1000, containerIDsOf(newNS, own)) {
		t.Error("a root-owned binary on FUSE runs in place")
	}
}
