package rootfs

import (
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"golang.org/x/sys/unix"
)

func TestParseMountOptions(t *testing.T) {
	tests := []struct {
		name    string
		in      []string
		want    MountOptions
		wantErr string
	}{
		{name: "empty", in: nil, want: MountOptions{}},
		{
			name: "proc defaults",
			in:   []string{"nosuid", "noexec", "nodev"},
			want: MountOptions{Flags: unix.MS_NOSUID | unix.MS_NOEXEC | unix.MS_NODEV},
		},
		{
			name: "tmpfs with data kept in order",
			in:   []string{"nosuid", "strictatime", "mode=755", "size=65536k"},
			want: MountOptions{Flags: unix.MS_NOSUID | unix.MS_STRICTATIME, Data: "mode=755,size=65536k"},
		},
		{
			name: "bind ro",
			in:   []string{"bind", "ro"},
			want: MountOptions{Flags: unix.MS_BIND | unix.MS_RDONLY, Bind: true},
		},
		{
			name: "rbind",
			in:   []string{"rbind", "nosuid"},
			want: MountOptions{Flags: unix.MS_BIND | unix.MS_REC | unix.MS_NOSUID, Bind: true},
		},
		{
			name: "later option wins and clear is remembered",
			in:   []string{"ro", "rw", "nosuid", "suid"},
			want: MountOptions{Cleared: unix.MS_RDONLY | unix.MS_NOSUID},
		},
		{
			name: "set after clear forgets the clear",
			in:   []string{"rw", "ro"},
			want: MountOptions{Flags: unix.MS_RDONLY},
		},
		{
			name: "all the classic flags",
			in: []string{"sync", "dirsync", "mand", "noatime", "nodiratime", "relatime",
				"remount", "lazytime", "nosymfollow", "defaults"},
			want: MountOptions{Flags: unix.MS_SYNCHRONOUS | unix.MS_DIRSYNC | unix.MS_MANDLOCK |
				unix.MS_NOATIME | unix.MS_NODIRATIME | unix.MS_RELATIME | unix.MS_REMOUNT |
				unix.MS_LAZYTIME | unix.MS_NOSYMFOLLOW},
		},
		{
			name: "clearing flags",
			in:   []string{"async", "nomand", "atime", "diratime", "norelatime", "nostrictatime", "dev", "exec"},
			want: MountOptions{Cleared: unix.MS_SYNCHRONOUS | unix.MS_MANDLOCK | unix.MS_NOATIME |
				unix.MS_NODIRATIME | unix.MS_RELATIME | unix.MS_STRICTATIME | unix.MS_NODEV | unix.MS_NOEXEC},
		},
		{
			name: "propagation in order, not in flags",
			in:   []string{"rbind", "rslave", "shared", "private", "runbindable"},
			want: MountOptions{
				Flags: unix.MS_BIND | unix.MS_REC, Bind: true,
				Propagation: []uintptr{unix.MS_SLAVE | unix.MS_REC, unix.MS_SHARED, unix.MS_PRIVATE, unix.MS_UNBINDABLE | unix.MS_REC},
			},
		},
		{
			name: "recursive options",
			in:   []string{"rbind", "rro", "rnosuid", "rdev"},
			want: MountOptions{
				Flags: unix.MS_BIND | unix.MS_REC, Bind: true,
				RecAttr: &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID, Attr_clr: unix.MOUNT_ATTR_NODEV},
			},
		},
		{
			name: "recursive atime replaces the field",
			in:   []string{"rnoatime", "rstrictatime"},
			want: MountOptions{RecAttr: &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_STRICTATIME, Attr_clr: unix.MOUNT_ATTR__ATIME}},
		},
		{
			name: "rrw after rro",
			in:   []string{"rro", "rrw"},
			want: MountOptions{RecAttr: &unix.MountAttr{Attr_clr: unix.MOUNT_ATTR_RDONLY}},
		},
		{
			name: "rbind,ro is read-only all the way down",
			in:   []string{"rbind", "ro"},
			want: MountOptions{Bind: true, Flags: unix.MS_BIND | unix.MS_REC | unix.MS_RDONLY, RecAttr: &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}},
		},
		{
			name: "rbind,ro,rrw keeps the submounts writable",
			in:   []string{"rbind", "ro", "rrw"},
			want: MountOptions{Bind: true, Flags: unix.MS_BIND | unix.MS_REC | unix.MS_RDONLY, RecAttr: &unix.MountAttr{Attr_clr: unix.MOUNT_ATTR_RDONLY}},
		},
		{
			name: "bind,ro is the top mount alone",
			in:   []string{"bind", "ro"},
			want: MountOptions{Bind: true, Flags: unix.MS_BIND | unix.MS_RDONLY},
		},
		{
			name: "tmpcopyup is an extension, not data",
			in:   []string{"tmpcopyup", "size=1m"},
			want: MountOptions{TmpCopyUp: true, Data: "size=1m"},
		},
		{
			name: "unknown options go to data",
			in:   []string{"newinstance", "ptmxmode=0666", "gid=5"},
			want: MountOptions{Data: "newinstance,ptmxmode=0666,gid=5"},
		},
		{name: "idmap", in: []string{"bind", "idmap"}, want: MountOptions{Flags: unix.MS_BIND, Bind: true, Idmap: true}},
		{name: "ridmap", in: []string{"rbind", "ridmap"}, want: MountOptions{Flags: unix.MS_BIND | unix.MS_REC, Bind: true, Idmap: true, IdmapRecursive: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseMountOptions(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("ParseMountOptions(%q)\n got %+v\nwant %+v", tc.in, got, tc.want)
			}
		})
	}
}

func TestRootPropagation(t *testing.T) {
	for in, want := range map[string]uintptr{
		"":            unix.MS_SLAVE | unix.MS_REC,
		"shared":      unix.MS_SHARED,
		"slave":       unix.MS_SLAVE,
		"private":     unix.MS_PRIVATE,
		"unbindable":  unix.MS_UNBINDABLE,
		"rshared":     unix.MS_SHARED | unix.MS_REC,
		"rslave":      unix.MS_SLAVE | unix.MS_REC,
		"rprivate":    unix.MS_PRIVATE | unix.MS_REC,
		"runbindable": unix.MS_UNBINDABLE | unix.MS_REC,
	} {
		got, err := rootPropagation(in)
		if err != nil || got != want {
			t.Errorf("rootPropagation(%q) = %#x, %v; want %#x", in, got, err, want)
		}
	}
	if _, err := rootPropagation("bogus"); err == nil || !strings.Contains(err.Error(), "linux.rootfsPropagation") {
		t.Errorf("rootPropagation(bogus) err = %v", err)
	}
}

func TestSpecDevicesRejectsBadType(t *testing.T) {
	if _, err := specDevices(specWithDevice("x", "/dev/x")); err == nil || !strings.Contains(err.Error(), "linux.devices[0].type") {
		t.Fatalf("err = %v", err)
	}
	if _, err := specDevices(specWithDevice("c", "dev/x")); err == nil || !strings.Contains(err.Error(), "linux.devices[0].path") {
		t.Fatalf("err = %v", err)
	}
}

// A destination written as the host's path of a place in the rootfs names
// that place (runc takes it so); one that only shares a prefix does not.
func TestMountDestinationUnderRootfs(t *testing.T) {
	c := &Config{Rootfs: "/b/rootfs"}
	for dest, want := range map[string]string{
		"/b/rootfs/mnt/x": "/mnt/x",
		"/b/rootfs2/x":    "/b/rootfs2/x",
		"mnt/y":           "/mnt/y",
		"/b/rootfs/../z":  "/b/z",
	} {
		mc, err := newMountCtx(c, 0, specs.Mount{Destination: dest, Type: "tmpfs", Source: "tmpfs"})
		if err != nil || mc.dest != want {
			t.Errorf("destination %q: got %q (%v), want %q", dest, mcDest(mc), err, want)
		}
	}
	if _, err := newMountCtx(c, 0, specs.Mount{Destination: "/b/rootfs", Type: "tmpfs", Source: "tmpfs"}); err != nil {
		t.Errorf("the rootfs path itself is a destination like any other outside: %v", err)
	}
}

func mcDest(mc *mountCtx) string {
	if mc == nil {
		return ""
	}
	return mc.dest
}

// specWithDevice is a spec with one linux.devices entry.
func specWithDevice(typ, path string) *specs.Spec {
	return &specs.Spec{Linux: &specs.Linux{Devices: []specs.LinuxDevice{{Type: typ, Path: path, Major: 1, Minor: 3}}}}
}
