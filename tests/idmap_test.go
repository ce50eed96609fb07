package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// idmapVolume makes a volume directory with a file owned by 0:0 ("root"),
// one by 1000:1000 ("user") and, when sub, a tmpfs mounted at sub/ with a
// file owned by 0:0 ("sub/root"), unmounted at the end.
func idmapVolume(t *testing.T, sub bool) string {
	t.Helper()
	dir := filepath.Join(testDir(t, "idmap"), "vol")
	for _, f := range []struct {
		name     string
		uid, gid int
	}{{"root", 0, 0}, {"user", 1000, 1000}} {
		writeFile(t, filepath.Join(dir, f.name), f.name)
		if err := os.Lchown(filepath.Join(dir, f.name), f.uid, f.gid); err != nil {
			t.Fatal(err)
		}
	}
	if sub {
		mnt := filepath.Join(dir, "sub")
		if err := os.Mkdir(mnt, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := unix.Mount("tmpfs", mnt, "tmpfs", 0, "size=1m"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Unmount(mnt, unix.MNT_DETACH) })
		writeFile(t, filepath.Join(mnt, "root"), "root")
	}
	return dir
}

// idmappable reports whether the filesystem of dir takes idmapped mounts
// on this kernel (tmpfs from Linux 6.3, ext4 from 5.12), tried the way
// berth does it: a user namespace of a child stopped at its execve, a
// clone of dir, mount_setattr MOUNT_ATTR_IDMAP.
func idmappable(t *testing.T, dir string) bool {
	t.Helper()
	goruntime.LockOSThread()
	defer goruntime.UnlockOSThread()
	cmd := exec.Command("/proc/self/exe")
	m := []syscall.SysProcIDMap{{ContainerID: 0, HostID: 1000, Size: 1}}
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWUSER, UidMappings: m, GidMappings: m, Ptrace: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	ns, err := os.Open("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/ns/user")
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	fd, err := unix.OpenTree(unix.AT_FDCWD, dir, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	err = unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH, &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_IDMAP, Userns_fd: uint64(ns.Fd())})
	return err == nil
}

// TestMountIdmapped: a bind mount with uidMappings/gidMappings shows its
// files' owners through the mappings (an on-disk id k seen as the host id
// the mapping gives k), with the idmap, ridmap or no option; ridmap maps
// the submounts too, idmap only the mount; idmap without mappings takes
// the container's user namespace's; a filesystem that cannot be idmapped
// fails create naming the mount.
func TestMountIdmapped(t *testing.T) {
	r := newRuntime(t)
	if !idmappable(t, testDir(t, "idmap-probe")) {
		// Then the test is the refusal, naming the mount, by the
		// filesystem the volumes are on (the cgroup-v2 VM's kernel is
		// older than tmpfs's idmapped mounts).
		b := newBundle(t, "true")
		b.addMount(specs.Mount{Destination: "/v", Type: "bind", Source: idmapVolume(t, false), Options: []string{"bind", "idmap"},
			UIDMappings: []specs.LinuxIDMapping{{Size: 1}}, GIDMappings: []specs.LinuxIDMapping{{Size: 1}}})
		before := hostMounts()
		id, res := r.runContainer(b)
		advAssertRefused(t, r, id, before, res, "spec mounts[", "(/v)", "mount_setattr MOUNT_ATTR_IDMAP", "invalid argument")
		return
	}
	toUser := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}}
	owners := func(t *testing.T, b *bundle) string {
		t.Helper()
		_, res := r.runContainer(b)
		if res.code != 0 {
			t.Fatalf("container failed: %s", res)
		}
		return strings.Join(lines(res.stdout), " ")
	}

	t.Run("mappings", func(t *testing.T) {
		log := withLog(t, r)
		defer func() { r.global = nil }()
		for _, opts := range [][]string{{"bind"}, {"bind", "idmap"}} {
			b := newShBundle(t, "stat -c %n=%u:%g /v/root /v/user")
			b.addMount(specs.Mount{Destination: "/v", Type: "bind", Source: idmapVolume(t, false), Options: opts,
				UIDMappings: toUser, GIDMappings: toUser})
			// On-disk 0 is seen as 1000; on-disk 1000 is mapped by nothing.
			if got, want := owners(t, b), "/v/root=1000:1000 /v/user=65534:65534"; got != want {
				t.Errorf("options %v: %q, want %q", opts, got, want)
			}
		}
		// Moved into place by the init, which logs its steps.
		checkInit(t, log())
	})

	t.Run("ridmap maps submounts", func(t *testing.T) {
		for opt, want := range map[string]string{
			"idmap":  "/v/root=1000:1000 /v/sub/root=0:0",
			"ridmap": "/v/root=1000:1000 /v/sub/root=1000:1000",
		} {
			b := newShBundle(t, "stat -c %n=%u:%g /v/root /v/sub/root")
			b.addMount(specs.Mount{Destination: "/v", Type: "bind", Source: idmapVolume(t, true), Options: []string{"rbind", opt},
				UIDMappings: toUser, GIDMappings: toUser})
			if got := owners(t, b); got != want {
				t.Errorf("%s: %q, want %q", opt, got, want)
			}
		}
	})

	t.Run("container user namespace", func(t *testing.T) {
		// The container's root owns the volume's root files; without
		// idmap it would see them unmapped.
		for opt, want := range map[string]string{
			"idmap": "/v/root=0:0 /v/user=1000:1000 0",
			"bind":  "/v/root=65534:65534 /v/user=65534:65534 0",
		} {
			b := newShBundle(t, "stat -c %n=%u:%g /v/root /v/user; touch /v/new; echo $?")
			b.addNamespace(specs.UserNamespace, "")
			m := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
			b.spec.Linux.UIDMappings, b.spec.Linux.GIDMappings = m, m
			vol := idmapVolume(t, false)
			// The rootfs is the host root's: make the mount point for the
			// container's root, which cannot.
			if err := os.Mkdir(filepath.Join(b.rootfs, "v"), 0o755); err != nil {
				t.Fatal(err)
			}
			if opt == "bind" {
				// Writable for the unmapped root.
				os.Chmod(vol, 0o777)
			}
			b.addMount(specs.Mount{Destination: "/v", Type: "bind", Source: vol, Options: []string{"bind", opt}})
			if got := owners(t, b); got != want {
				t.Errorf("%s: %q, want %q", opt, got, want)
			}
			var st unix.Stat_t
			if err := unix.Stat(filepath.Join(vol, "new"), &st); err != nil {
				t.Fatal(err)
			}
			// Through the idmapped mount the container's root writes
			// the volume's own root; without, its host id.
			if wantUID := map[string]uint32{"idmap": 0, "bind": 100000}[opt]; st.Uid != wantUID {
				t.Errorf("%s: a file the container's root made is owned by %d on the host, want %d", opt, st.Uid, wantUID)
			}
		}
	})

	t.Run("refused", func(t *testing.T) {
		b := newBundle(t, "true")
		b.addMount(specs.Mount{Destination: "/v", Type: "bind", Source: "/sys/kernel", Options: []string{"bind", "idmap"},
			UIDMappings: toUser, GIDMappings: toUser})
		before := hostMounts()
		id, res := r.runContainer(b)
		advAssertRefused(t, r, id, before, res, "spec mounts[", "(/v)", `"/sys/kernel"`, "mount_setattr MOUNT_ATTR_IDMAP", "invalid argument")
	})
}
