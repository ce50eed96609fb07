package tests

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"berth/internal/mountinfo"
)

// A container with a user namespace: what the init makes of the spec
// there, and the kernel's rules (what it refuses, what the plan puts in
// its place).

// usernsHostID is where the tests map the container's ids 0-65535.
const usernsHostID = 100000

// addUserNS gives b a new user namespace mapping container ids 0-65535 to
// host ids from usernsHostID, and hands the rootfs to the container's root
// (mount points are made in it, where root of the user namespace has no
// rights over the host's root's directories).
func addUserNS(t *testing.T, b *bundle) {
	t.Helper()
	b.addNamespace(specs.UserNamespace, "")
	m := []specs.LinuxIDMapping{{ContainerID: 0, HostID: usernsHostID, Size: 65536}}
	b.spec.Linux.UIDMappings, b.spec.Linux.GIDMappings = m, m
	err := filepath.WalkDir(b.rootfs, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, usernsHostID, usernsHostID)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestUserNSInit: the spec of TestInitContainer with a user namespace:
// mounts with their (locked) flags, devices bound from the host, the
// cgroup hierarchies bound read-only, masked and read-only paths, the
// process. With a cgroup namespace and without.
func TestUserNSInit(t *testing.T) {
	for _, cgroupNS := range []bool{false, true} {
		t.Run("cgroupns="+strconv.FormatBool(cgroupNS), func(t *testing.T) {
			r := newRuntime(t)
			b := initPathBundle(t)
			// In a user namespace every node is bound from the host's at
			// the same path, as runc does: one every host has (devtmpfs
			// makes it; not /dev/fuse, nor a fifo at /dev/sub/pipe).
			b.spec.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/kmsg", Type: "c", Major: 1, Minor: 11}}
			if cgroupNS {
				b.addNamespace(specs.CgroupNamespace, "")
			}
			addUserNS(t, b)
			cOut := runInit(t, r, b)
			if !strings.Contains(cOut, "probe-done") {
				t.Fatalf("probe did not finish: %q", cOut)
			}
			// The cgroup mount: on a v1 host a hierarchy bound (or
			// mounted fresh in the cgroup namespace) read-only in the
			// tmpfs; on a unified one the init's cgroup, bound without
			// a cgroup namespace.
			cg := " /sys/fs/cgroup/memory ro,"
			if isUnified() {
				cg = " /sys/fs/cgroup ro,"
			}
			for _, want := range []string{
				" /mnt/dir ro,", " /etc/hostfile ", "/null /dev/null ", "/kmsg /dev/kmsg ", cg,
				"uid=1000(user) gid=1000(user) groups=5(tty),6", "hostname berth-test domain paths.example umask 0027",
			} {
				if !strings.Contains(cOut, want) {
					t.Errorf("%q missing from\n%s", want, cOut)
				}
			}
		})
	}
}

// runUserNS runs b (`run`, --debug --log: the init's steps checked) and
// returns the result, the id replaced by ID.
func runUserNS(t *testing.T, r *runtime, b *bundle) result {
	t.Helper()
	return runOnce(t, r, b, nil)
}

// errorLine is the one error line of a failed run (the --debug lines left out).
func errorLine(res result) string {
	var out []string
	for _, l := range lines(res.stderr) {
		if !strings.HasPrefix(l, "berth: debug: ") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestUserNSHostFallbacks: without its own network and IPC namespaces a
// user namespace may not mount sysfs or mqueue; the init binds the host's
// instead, sysfs read-only down to the host's cgroup mounts under it
// (CVE-2023-25809), mqueue where the host has one (else one line says what
// failed first and then what the fallback met).
func TestUserNSHostFallbacks(t *testing.T) {
	r := newRuntime(t)
	b := newShBundle(t, `grep -E ' /sys[/ ]| /dev/mqueue ' /proc/self/mountinfo | awk '{ print $4, $5, $6, $(NF-2) }'; echo done`)
	b.removeNamespace(specs.NetworkNamespace)
	b.removeNamespace(specs.IPCNamespace)
	addUserNS(t, b)
	c := runUserNS(t, r, b)
	if !isMountPoint(t, "/dev/mqueue") {
		// No host instance to fall back to.
		if msg := errorLine(c); c.code == 0 || !strings.Contains(msg, `mount "mqueue" on "/dev/mqueue" (spec mounts[4]): operation not permitted (falling back to a bind of the host's /dev/mqueue: `) {
			t.Errorf("no host mqueue: %s", c)
		}
		b.spec.Mounts = slicesDelete(b.spec.Mounts, "/dev/mqueue")
		c = runUserNS(t, r, b)
	}
	if c.code != 0 {
		t.Fatalf("run: %s", c)
	}
	sys := 0
	for _, l := range lines(c.stdout) {
		f := strings.Fields(l)
		if len(f) == 4 && strings.HasPrefix(f[1], "/sys") {
			sys++
			if !strings.HasPrefix(f[2], "ro,") {
				t.Errorf("not read-only: %s", l)
			}
			if f[1] == "/sys" && (f[0] != "/" || f[3] != "sysfs") {
				t.Errorf("/sys is not the host's sysfs: %s", l)
			}
		}
	}
	if sys < 2 || !strings.Contains(c.stdout, "done") {
		t.Errorf("want the host's /sys and its submounts:\n%s", c.stdout)
	}
}

// slicesDelete drops the mounts at dest.
func slicesDelete(ms []specs.Mount, dest string) []specs.Mount {
	var out []specs.Mount
	for _, m := range ms {
		if m.Destination != dest {
			out = append(out, m)
		}
	}
	return out
}

// isMountPoint says whether p is a mount point in the host's table.
func isMountPoint(t *testing.T, p string) bool {
	t.Helper()
	mounts, err := mountinfo.Read()
	if err != nil {
		t.Fatal(err)
	}
	return slices.ContainsFunc(mounts, func(m mountinfo.Mount) bool { return m.Mountpoint == p })
}

// TestUserNSDeviceOverFile: in a user namespace, where mknod of a device is
// never allowed, a device node is a bind of the host's, also over a regular
// file the image has at its path (as runc does): masking with /dev/null
// then finds the null device there.
func TestUserNSDeviceOverFile(t *testing.T) {
	r := newRuntime(t)
	b := newShBundle(t, `stat -c '%F %t:%T' /dev/null /dev/zero /etc/secret`)
	b.spec.Mounts = slicesDelete(b.spec.Mounts, "/dev")
	writeFile(t, filepath.Join(b.rootfs, "dev", "null"), "not the null device\n")
	writeFile(t, filepath.Join(b.rootfs, "etc", "secret"), "masked\n")
	b.spec.Linux.MaskedPaths = append(b.spec.Linux.MaskedPaths, "/etc/secret")
	addUserNS(t, b)
	c := runUserNS(t, r, b)
	if c.code != 0 {
		t.Fatalf("run: %s", c)
	}
	want := "character special file 1:3\ncharacter special file 1:5\ncharacter special file 1:3\n"
	if c.stdout != want {
		t.Errorf("%q, want %q", c.stdout, want)
	}
}

// TestUserNSPidNamespace: a user namespace makes the container's procfs,
// and the init's own, only of a pid namespace it owns. A joined user and
// pid namespace pair works from the C init; a new user namespace with a
// joined pid namespace, or with none (berth's own), and a joined user
// namespace with another's pid namespace are refused before anything is
// made, in one line that names the field and the fix.
func TestUserNSPidNamespace(t *testing.T) {
	r := newRuntime(t)
	hold := func(userns bool) (*bundle, string) {
		b := newShBundle(t, waitForGo)
		if userns {
			addUserNS(t, b)
		}
		c := r.create(b)
		c.start()
		return b, "/proc/" + strconv.Itoa(r.state(c.id).Pid) + "/ns/"
	}
	plain, plainNS := hold(false)
	defer release(t, plain)
	owned, ownedNS := hold(true)
	defer release(t, owned)

	b := newShBundle(t, "ps -o pid,args | grep -c '[w]hile'")
	b.removeNamespace(specs.PIDNamespace)
	b.addNamespace(specs.PIDNamespace, ownedNS+"pid")
	b.addNamespace(specs.UserNamespace, ownedNS+"user")
	b.write(t)
	res := initCall(t, r, nil, "run", "--bundle", b.dir, r.newID())
	if res.code != 0 || strings.TrimSpace(res.stdout) != "1" {
		t.Errorf("joined user and pid namespaces: %s", res)
	}

	for _, tc := range []struct {
		name  string
		edit  func(b *bundle)
		hints []string
	}{
		{"new user namespace, joined pid namespace", func(b *bundle) {
			b.addNamespace(specs.PIDNamespace, plainNS+"pid")
			addUserNS(t, b)
		}, []string{"linux.namespaces[", plainNS + "pid", "new user namespace", "join the user namespace that owns it"}},
		{"new user namespace, berth's pid namespace", func(b *bundle) {
			addUserNS(t, b)
		}, []string{"linux.namespaces:", "new user namespace", `add a new "pid" namespace`}},
		{"joined user namespace, another's pid namespace", func(b *bundle) {
			b.addNamespace(specs.PIDNamespace, plainNS+"pid")
			b.addNamespace(specs.UserNamespace, ownedNS+"user")
		}, []string{plainNS + "pid", `joined user namespace "` + ownedNS + `user"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newShBundle(t, "true")
			b.removeNamespace(specs.PIDNamespace)
			tc.edit(b)
			b.write(t)
			res := r.run("run", "--bundle", b.dir, r.newID())
			assertErrorLine(t, res, tc.hints...)
		})
	}
}

// TestUserNSBindRemountLocked: a "remount,bind,ro" of a volume whose host
// mount is nosuid,nodev (flags a user namespace inherits locked, which a
// remount may not clear) keeps them, as a bind mount's
// own "ro" does.
func TestUserNSBindRemountLocked(t *testing.T) {
	r := newRuntime(t)
	host := testDir(t, "userns-locked")
	if err := unix.Mount("tmpfs", host, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "size=64k"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Unmount(host, unix.MNT_DETACH) })
	b := newShBundle(t, `awk '$5 ~ "^/mnt/(vol|vol2)$" { print $5, $6 }' /proc/self/mountinfo`)
	b.addMount(specs.Mount{Destination: "/mnt/vol", Type: "bind", Source: host, Options: []string{"rbind"}})
	b.addMount(specs.Mount{Destination: "/mnt/vol", Type: "bind", Source: host, Options: []string{"remount", "bind", "ro"}})
	b.addMount(specs.Mount{Destination: "/mnt/vol2", Type: "bind", Source: host, Options: []string{"rbind", "ro", "noexec"}})
	addUserNS(t, b)
	c := runUserNS(t, r, b)
	if c.code != 0 {
		t.Fatalf("run: %s", c)
	}
	want := "/mnt/vol ro,nosuid,nodev,relatime\n/mnt/vol2 ro,nosuid,nodev,noexec,relatime\n"
	if c.stdout != want {
		t.Errorf("%q, want %q", c.stdout, want)
	}
}
