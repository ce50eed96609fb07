package rootfs

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"berth/internal/mountinfo"
)

const (
	mqueueMagic = 0x19800202
	devptsMagic = 0x1cd1
)

func init() {
	scenarios["full"] = scenarioFull
	scenarios["escape"] = scenarioEscape
	scenarios["proc-symlink"] = scenarioProcSymlink
	scenarios["userns-devices"] = scenarioUserNSDevices
	scenarios["no-pivot"] = scenarioNoPivot
	scenarios["error"] = scenarioError
	scenarios["hostile-dev"] = scenarioHostileDev
	scenarios["shared-root"] = scenarioSharedRoot
	scenarios["cgroupns"] = scenarioCgroupNS
	scenarios["userns-outer"] = scenarioUserNSOuter
	scenarios["userns-inner"] = scenarioUserNSInner
}

func mustWrite(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// assertNoHostMounts fails if anything is mounted under base in the test's
// own (host) mount namespace.
func assertNoHostMounts(t *testing.T, base string) {
	t.Helper()
	ms, err := mountinfo.Read()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if strings.HasPrefix(m.Mountpoint, base) {
			t.Errorf("mount leaked to the host: %s (%s)", m.Mountpoint, m.FSType)
		}
	}
}

func TestSetupFull(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "rootfs")
	mustWrite(t, filepath.Join(root, "marker-berth"), "m")
	mustWrite(t, filepath.Join(root, "secret"), "topsecret")
	mustWrite(t, filepath.Join(root, "secretdir/inner"), "x")
	mustWrite(t, filepath.Join(root, "rodir/file"), "x")
	mustWrite(t, filepath.Join(root, "cu/a.txt"), "copy me")
	os.Chmod(filepath.Join(root, "cu"), 0o710)
	mustWrite(t, filepath.Join(base, "hostdata/hello"), "hello")
	mustWrite(t, filepath.Join(base, "hostfile"), "filecontent")
	if err := os.MkdirAll(filepath.Join(base, "hostsub/sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	runScenario(t, "full", map[string]string{"root": root, "base": base})

	// Host side: the container's writes went to its own mounts.
	if _, err := os.Stat(filepath.Join(root, "cu/b.txt")); !os.IsNotExist(err) {
		t.Errorf("write into the tmpcopyup tmpfs reached the rootfs: %v", err)
	}
	if ents, _ := os.ReadDir(filepath.Join(root, "dev")); len(ents) != 0 {
		t.Errorf("devices were created under the /dev tmpfs's mount point: %v", ents)
	}
	assertNoHostMounts(t, base)
}

func scenarioFull(a map[string]string) error {
	root, base := a["root"], a["base"]
	// A submount in the bind source, for rro to reach recursively.
	if err := unix.Mount("tmpfs", filepath.Join(base, "hostsub/sub"), "tmpfs", 0, ""); err != nil {
		return err
	}
	fileMode := os.FileMode(0o600)
	uid, gid := uint32(1000), uint32(1001)
	spec := &specs.Spec{
		Root: &specs.Root{Path: root, Readonly: true},
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
			{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}},
			{Destination: "/tmp2", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev", "mode=750", "size=65536k"}},
			{Destination: "/data", Source: filepath.Join(base, "hostdata"), Options: []string{"bind", "ro"}},
			{Destination: "/etc/hostfile", Type: "bind", Source: filepath.Join(base, "hostfile"), Options: []string{"rbind", "ro", "nosuid"}},
			{Destination: "/shared", Type: "tmpfs", Source: "tmpfs", Options: []string{"shared"}},
			{Destination: "/rdata", Type: "bind", Source: filepath.Join(base, "hostsub"), Options: []string{"rbind", "rro"}},
			{Destination: "/cu", Type: "tmpfs", Source: "tmpfs", Options: []string{"tmpcopyup"}},
			{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
			{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"nosuid", "noexec", "nodev", "relatime", "ro"}},
			{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
			{Destination: "/tmp3", Type: "tmpfs", Source: "tmpfs"},
			{Destination: "/tmp3", Options: []string{"remount", "bind", "ro"}},
		},
		Linux: &specs.Linux{
			Devices: []specs.LinuxDevice{
				{Path: "/dev/fuse", Type: "c", Major: 10, Minor: 229, FileMode: &fileMode, UID: &uid, GID: &gid},
				{Path: "/dev/net/tun", Type: "c", Major: 10, Minor: 200},
				{Path: "/dev/fifo", Type: "p"},
			},
			MaskedPaths:   []string{"/secret", "/secretdir", "/nonexistent", "/proc/timer_list", "/proc/acpi", "/proc/kcore"},
			ReadonlyPaths: []string{"/rodir", "/proc/sys", "/nonexistent-too"},
		},
	}
	hookRan := false
	c := &Config{Spec: spec, Rootfs: root, BeforePivot: func() error {
		// Still on the host path, everything in place.
		if _, err := os.Stat(filepath.Join(root, "dev/null")); err != nil {
			return fmt.Errorf("BeforePivot: %w", err)
		}
		hookRan = true
		return nil
	}}
	if err := Setup(c); err != nil {
		return err
	}
	ck := &checker{}
	ck.check(hookRan, "BeforePivot was not called")

	// pivot_root: "/" is the rootfs, the host is gone, cwd is "/".
	_, err := os.Stat("/marker-berth")
	ck.noErr(err, "marker in new root")
	_, err = os.Stat(base)
	ck.check(os.IsNotExist(err), "host path %s still visible after pivot: %v", base, err)
	cwd, err := os.Getwd()
	ck.check(err == nil && cwd == "/", "cwd = %q, %v", cwd, err)
	if ms, err := mountinfo.Read(); err == nil {
		for _, m := range ms {
			ck.check(!strings.HasPrefix(m.Mountpoint, base), "old root mount left: %s", m.Mountpoint)
		}
	}

	// proc
	typ, _, err := statfsType("/proc")
	ck.check(err == nil && typ == unix.PROC_SUPER_MAGIC, "/proc is not procfs: %x %v", typ, err)

	// tmpfs with data options
	typ, flags, err := statfsType("/tmp2")
	ck.check(err == nil && typ == unix.TMPFS_MAGIC, "/tmp2 not tmpfs: %v", err)
	ck.check(flags&unix.ST_NOSUID != 0 && flags&unix.ST_NODEV != 0, "/tmp2 flags %#x lack nosuid,nodev", flags)
	var sfs unix.Statfs_t
	unix.Statfs("/tmp2", &sfs)
	ck.check(sfs.Blocks*uint64(sfs.Bsize) == 65536*1024, "/tmp2 size %d, want 64MiB", sfs.Blocks*uint64(sfs.Bsize))
	if st, err := os.Stat("/tmp2"); err == nil {
		ck.check(st.Mode().Perm() == 0o750, "/tmp2 mode %v, want 0750", st.Mode())
	}

	// bind, ro (no type, "bind" option)
	b, err := os.ReadFile("/data/hello")
	ck.check(err == nil && string(b) == "hello", "/data/hello = %q, %v", b, err)
	ck.expectEROFS("/data/new")
	// bind of a file onto a created file, ro + nosuid
	b, err = os.ReadFile("/etc/hostfile")
	ck.check(err == nil && string(b) == "filecontent", "/etc/hostfile = %q, %v", b, err)
	_, err = os.OpenFile("/etc/hostfile", os.O_WRONLY, 0)
	ck.check(err != nil, "/etc/hostfile writable")
	_, flags, _ = statfsType("/etc/hostfile")
	ck.check(flags&unix.ST_RDONLY != 0 && flags&unix.ST_NOSUID != 0, "/etc/hostfile flags %#x", flags)

	// propagation applied after the mount
	mi, ok := mountinfoFor("/shared")
	ck.check(ok && slices.ContainsFunc(mi.Optional, func(s string) bool { return strings.HasPrefix(s, "shared:") }),
		"/shared is not shared: %+v", mi)

	// remount of an existing mount
	ck.expectEROFS("/tmp3/x")

	// rro reaches the submount
	ck.expectEROFS("/rdata/x")
	ck.expectEROFS("/rdata/sub/x")

	// tmpcopyup: old content copied, mode kept, and writable
	b, err = os.ReadFile("/cu/a.txt")
	ck.check(err == nil && string(b) == "copy me", "/cu/a.txt = %q, %v", b, err)
	if st, err := os.Stat("/cu"); err == nil {
		ck.check(st.Mode().Perm() == 0o710, "/cu mode %v, want 0710", st.Mode())
	}
	ck.noErr(os.WriteFile("/cu/b.txt", []byte("new"), 0o644), "write into tmpcopyup tmpfs")

	// sysfs ro, mqueue, devpts
	typ, flags, err = statfsType("/sys")
	ck.check(err == nil && typ == unix.SYSFS_MAGIC && flags&unix.ST_RDONLY != 0, "/sys: type %x flags %#x %v", typ, flags, err)
	typ, _, err = statfsType("/dev/mqueue")
	ck.check(err == nil && typ == mqueueMagic, "/dev/mqueue: type %x %v", typ, err)
	typ, _, err = statfsType("/dev/pts")
	ck.check(err == nil && typ == devptsMagic, "/dev/pts: type %x %v", typ, err)

	checkCgroupMount(ck)

	// devices
	for _, d := range defaultDevices {
		ck.expectDevice(d.path, unix.S_IFCHR, uint32(d.major), uint32(d.minor), 0o666, 0, 0)
	}
	ck.expectDevice("/dev/fuse", unix.S_IFCHR, 10, 229, 0o600, 1000, 1001)
	ck.expectDevice("/dev/net/tun", unix.S_IFCHR, 10, 200, 0o666, 0, 0)
	ck.expectDevice("/dev/fifo", unix.S_IFIFO, 0, 0, 0o666, 0, 0)
	ck.expectLink("/dev/fd", "/proc/self/fd")
	ck.expectLink("/dev/stdin", "/proc/self/fd/0")
	ck.expectLink("/dev/stdout", "/proc/self/fd/1")
	ck.expectLink("/dev/stderr", "/proc/self/fd/2")
	ck.expectLink("/dev/ptmx", "pts/ptmx")
	if _, err := os.Stat("/proc/kcore"); err != nil {
		_, err := os.Lstat("/dev/core")
		ck.check(os.IsNotExist(err), "/dev/core exists though the host has no /proc/kcore")
	}

	// console
	checkConsole(ck)

	if err := Finalize(c); err != nil {
		ck.noErr(err, "Finalize")
		return ck.err()
	}
	// masked: file reads empty, directory is an empty read-only tmpfs
	b, err = os.ReadFile("/secret")
	ck.check(err == nil && len(b) == 0, "/secret = %q, %v; want empty", b, err)
	// (the /proc entries exist on most kernels, not all)
	b, err = os.ReadFile("/proc/timer_list")
	ck.check(os.IsNotExist(err) || err == nil && len(b) == 0, "/proc/timer_list = %d bytes, %v; want empty", len(b), err)
	for _, d := range []string{"/secretdir", "/proc/acpi"} {
		ents, err := os.ReadDir(d)
		if d == "/proc/acpi" && os.IsNotExist(err) {
			continue
		}
		ck.check(err == nil && len(ents) == 0, "%s: %v %v; want empty", d, ents, err)
		typ, flags, err := statfsType(d)
		ck.check(err == nil && typ == unix.TMPFS_MAGIC && flags&unix.ST_RDONLY != 0, "%s: type %x flags %#x %v", d, typ, flags, err)
	}
	// readonly paths, keeping proc's nosuid/noexec/nodev
	ck.expectEROFS("/rodir/new")
	_, err = os.OpenFile("/proc/sys/kernel/hostname", os.O_WRONLY, 0)
	ck.check(err != nil, "/proc/sys writable after readonlyPaths")
	_, flags, _ = statfsType("/proc/sys")
	ck.check(flags&unix.ST_RDONLY != 0 && flags&unix.ST_NOSUID != 0 && flags&unix.ST_NOEXEC != 0,
		"/proc/sys flags %#x, want ro,nosuid,noexec", flags)
	// root.readonly
	ck.expectEROFS("/newfile")
	_, flags, _ = statfsType("/")
	ck.check(flags&unix.ST_RDONLY != 0, "/ not read-only")
	// and other mounts untouched by it
	ck.noErr(os.WriteFile("/tmp2/ok", nil, 0o644), "write /tmp2 after root.readonly")
	return ck.err()
}

func checkCgroupMount(ck *checker) {
	// After the pivot the host's type shows in what we mounted: on a v2
	// host a cgroup2, on v1/hybrid a tmpfs of per-hierarchy binds.
	typ, flags, err := statfsType("/sys/fs/cgroup")
	if err != nil {
		ck.noErr(err, "statfs /sys/fs/cgroup")
		return
	}
	ck.check(flags&unix.ST_RDONLY != 0, "/sys/fs/cgroup not read-only")
	if typ == unix.CGROUP2_SUPER_MAGIC {
		return
	}
	ck.check(typ == unix.TMPFS_MAGIC, "/sys/fs/cgroup: type %x, want tmpfs or cgroup2", typ)
	ents, err := os.ReadDir("/sys/fs/cgroup")
	ck.check(err == nil && len(ents) > 0, "/sys/fs/cgroup empty: %v", err)
	own, _ := ownCgroups("/proc/self/cgroup")
	found := 0
	for _, e := range ents {
		p := "/sys/fs/cgroup/" + e.Name()
		if e.Type()&os.ModeSymlink != 0 {
			continue
		}
		typ, flags, err := statfsType(p)
		ck.check(err == nil && (typ == unix.CGROUP_SUPER_MAGIC || typ == unix.CGROUP2_SUPER_MAGIC), "%s: type %x %v", p, typ, err)
		ck.check(flags&unix.ST_RDONLY != 0, "%s not read-only", p)
		// It is the init's own cgroup: our pid is in it.
		b, err := os.ReadFile(p + "/cgroup.procs")
		if err == nil && slices.Contains(strings.Fields(string(b)), strconv.Itoa(os.Getpid())) {
			found++
		}
	}
	ck.check(found > 0 && found == len(own), "own cgroup shown in %d hierarchies, /proc/self/cgroup has %d", found, len(own))
}

func checkConsole(ck *checker) {
	master, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		ck.noErr(err, "open /dev/ptmx")
		return
	}
	defer unix.Close(master)
	ck.noErr(unix.IoctlSetPointerInt(master, unix.TIOCSPTLCK, 0), "unlockpt")
	n, err := unix.IoctlGetInt(master, unix.TIOCGPTN)
	ck.noErr(err, "ptsname")
	slave := fmt.Sprintf("/dev/pts/%d", n)
	sfd, err := unix.Open(slave, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		ck.noErr(err, "open "+slave)
		return
	}
	defer unix.Close(sfd)
	if err := MountConsole(sfd, slave); err != nil {
		ck.noErr(err, "MountConsole")
		return
	}
	var a, b unix.Stat_t
	ck.noErr(unix.Stat("/dev/console", &a), "stat /dev/console")
	ck.noErr(unix.Stat(slave, &b), "stat slave")
	ck.check(a.Rdev == b.Rdev && a.Mode&unix.S_IFMT == unix.S_IFCHR, "/dev/console is not %s", slave)
}

func TestSetupSymlinkEscape(t *testing.T) {
	f := newEscapeFixture(t)
	mustWrite(t, filepath.Join(filepath.Dir(f.root), "hostfile"), "x")
	runScenario(t, "escape", map[string]string{"root": f.root, "outside": f.outside})
	f.assertOutsideUntouched(t)
	in := filepath.Join(f.root, strings.TrimPrefix(f.outside, "/"))
	for _, p := range []string{
		filepath.Join(in, "m1"), filepath.Join(in, "m2"), filepath.Join(in, "f1"),
		filepath.Join(f.root, "m3"), filepath.Join(f.root, "run/resolv.conf"),
	} {
		if _, err := os.Lstat(p); err != nil {
			t.Errorf("mount target not created inside the rootfs: %v", err)
		}
	}
	for _, p := range []string{"/m3", "/m4"} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s created on the host", p)
		}
	}
	assertNoHostMounts(t, filepath.Dir(f.root))
}

func scenarioEscape(a map[string]string) error {
	root, outside := a["root"], a["outside"]
	hostfile := filepath.Join(filepath.Dir(root), "hostfile")
	in := strings.TrimPrefix(outside, "/")
	spec := &specs.Spec{Mounts: []specs.Mount{
		{Destination: "/abs/m1", Type: "tmpfs", Source: "tmpfs"},
		{Destination: "/dotdot/m2", Type: "tmpfs", Source: "tmpfs"},
		{Destination: "/slash/m3", Type: "tmpfs", Source: "tmpfs"},
		{Destination: "/abs/f1", Type: "bind", Source: hostfile, Options: []string{"bind"}},
		{Destination: "/etc/resolv.conf", Type: "bind", Source: hostfile, Options: []string{"bind"}},
		{Destination: "../../../../m4", Type: "tmpfs", Source: "tmpfs"},
		// relative sources are the bundle's
		{Destination: "/rel-src", Type: "bind", Source: "hostfile", Options: []string{"bind"}},
	}}
	if err := Setup(&Config{Spec: spec, Rootfs: root, Bundle: filepath.Dir(root)}); err != nil {
		return err
	}
	ck := &checker{}
	for _, p := range []string{"/" + in + "/m1", "/" + in + "/m2", "/m3", "/m4"} {
		typ, _, err := statfsType(p)
		ck.check(err == nil && typ == unix.TMPFS_MAGIC && isMountRoot(p), "%s: not the tmpfs: %x %v", p, typ, err)
	}
	for _, p := range []string{"/" + in + "/f1", "/run/resolv.conf", "/rel-src"} {
		b, err := os.ReadFile(p)
		ck.check(err == nil && string(b) == "x" && isMountRoot(p), "%s: not the bind: %q %v", p, b, err)
	}
	return ck.err()
}

func TestSetupRefusesProcThroughSymlink(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "rootfs")
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/", filepath.Join(root, "proc")); err != nil {
		t.Fatal(err)
	}
	runScenario(t, "proc-symlink", map[string]string{"root": root})
	assertNoHostMounts(t, base)
}

func scenarioProcSymlink(a map[string]string) error {
	spec := &specs.Spec{Mounts: []specs.Mount{
		{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs"},
		{Destination: "/proc", Type: "proc", Source: "proc"},
	}}
	err := Setup(&Config{Spec: spec, Rootfs: a["root"]})
	want := `spec mounts[1]: filesystem "proc" must be mounted on an ordinary directory, but "/proc" is a symlink`
	if err == nil || err.Error() != want {
		return fmt.Errorf("Setup err = %v\nwant %s", err, want)
	}
	// And nothing was mounted on the rootfs root through the link.
	if typ, _, _ := statfsType(a["root"]); typ == unix.PROC_SUPER_MAGIC {
		return fmt.Errorf("proc mounted on the rootfs root")
	}
	return nil
}

func TestSetupUserNSBindsDevices(t *testing.T) {
	root := filepath.Join(t.TempDir(), "rootfs")
	mustWrite(t, filepath.Join(root, "marker-berth"), "m")
	runScenario(t, "userns-devices", map[string]string{"root": root})
}

// UserNS without a real user namespace still takes the bind path, which
// is what is under test here.
func scenarioUserNSDevices(a map[string]string) error {
	spec := &specs.Spec{Mounts: []specs.Mount{
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"mode=755"}},
	}}
	if err := Setup(&Config{Spec: spec, Rootfs: a["root"], UserNS: true}); err != nil {
		return err
	}
	ck := &checker{}
	for _, d := range defaultDevices {
		var st unix.Stat_t
		err := unix.Stat(d.path, &st)
		ck.check(err == nil && st.Mode&unix.S_IFMT == unix.S_IFCHR &&
			unix.Major(st.Rdev) == uint32(d.major) && unix.Minor(st.Rdev) == uint32(d.minor),
			"%s: not the host node: %v", d.path, err)
		ck.check(isMountRoot(d.path), "%s is not a bind mount", d.path)
	}
	return ck.err()
}

func TestSetupNoPivot(t *testing.T) {
	root := filepath.Join(t.TempDir(), "rootfs")
	mustWrite(t, filepath.Join(root, "marker-berth"), "m")
	runScenario(t, "no-pivot", map[string]string{"root": root})
}

func scenarioNoPivot(a map[string]string) error {
	spec := &specs.Spec{Mounts: []specs.Mount{{Destination: "/proc", Type: "proc", Source: "proc"}}}
	if err := Setup(&Config{Spec: spec, Rootfs: a["root"], NoPivot: true}); err != nil {
		return err
	}
	ck := &checker{}
	_, err := os.Stat("/marker-berth")
	ck.noErr(err, "marker at / after MS_MOVE+chroot")
	_, err = os.Stat(a["root"])
	ck.check(os.IsNotExist(err), "host rootfs path still visible")
	typ, _, err := statfsType("/proc")
	ck.check(err == nil && typ == unix.PROC_SUPER_MAGIC, "/proc: %x %v", typ, err)
	return ck.err()
}

func TestSetupErrors(t *testing.T) {
	cases := []struct {
		name   string
		mounts string
		want   string
	}{
		{"unknown fs", "unknownfs", `mount "nosuchfs" on "/x" (spec mounts[1]): no such device`},
		{"mkdir through a file", "through-file", `mkdir "/marker-berth/sub" in rootfs (spec mounts[0].destination): "/marker-berth": not a directory`},
		{"idmap in the Go init", "idmap", `spec mounts[0]: an idmapped mount is made by the C init only`},
		{"bind source", "missing-source", `(spec mounts[0].source): no such file or directory`},
		{"under proc", "under-proc", `spec mounts[1].destination: "/proc/sys/kernel" is inside /proc and cannot be a mount destination`},
		{"bad propagation", "bad-propagation", `linux.rootfsPropagation: unknown value "sideways"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "rootfs")
			mustWrite(t, filepath.Join(root, "marker-berth"), "m")
			runScenario(t, "error", map[string]string{"root": root, "case": c.mounts, "want": c.want})
		})
	}
}

func scenarioError(a map[string]string) error {
	spec := &specs.Spec{Linux: &specs.Linux{}}
	switch a["case"] {
	case "unknownfs":
		spec.Mounts = []specs.Mount{
			{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs"},
			{Destination: "/x", Type: "nosuchfs", Source: "nosuchfs"},
		}
	case "through-file":
		spec.Mounts = []specs.Mount{{Destination: "/marker-berth/sub", Type: "tmpfs", Source: "tmpfs"}}
	case "idmap":
		spec.Mounts = []specs.Mount{{Destination: "/x", Type: "bind", Source: "/tmp", Options: []string{"bind", "idmap"}}}
	case "missing-source":
		spec.Mounts = []specs.Mount{{Destination: "/x", Type: "bind", Source: "/nonexistent-berth-source", Options: []string{"bind"}}}
	case "under-proc":
		spec.Mounts = []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			{Destination: "/proc/sys/kernel", Type: "tmpfs", Source: "tmpfs"},
		}
	case "bad-propagation":
		spec.Linux.RootfsPropagation = "sideways"
	}
	err := Setup(&Config{Spec: spec, Rootfs: a["root"]})
	if err == nil || !strings.Contains(err.Error(), a["want"]) {
		return fmt.Errorf("Setup err = %v\nwant it to contain %s", err, a["want"])
	}
	return nil
}

func TestFinalizeRefusesFakeDevNull(t *testing.T) {
	root := filepath.Join(t.TempDir(), "rootfs")
	mustWrite(t, filepath.Join(root, "etc/shadowy"), "private")
	mustWrite(t, filepath.Join(root, "secret"), "x")
	if err := os.MkdirAll(filepath.Join(root, "dev"), 0o755); err != nil {
		t.Fatal(err)
	}
	// The image plants /dev/null -> a file and /dev/console -> a file.
	for name, target := range map[string]string{"dev/null": "/etc/shadowy", "dev/console": "/etc/shadowy"} {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	runScenario(t, "hostile-dev", map[string]string{"root": root})
}

func scenarioHostileDev(a map[string]string) error {
	spec := &specs.Spec{
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"newinstance", "ptmxmode=0666"}},
		},
		Linux: &specs.Linux{MaskedPaths: []string{"/secret"}},
	}
	c := &Config{Spec: spec, Rootfs: a["root"]}
	if err := Setup(c); err != nil {
		return err
	}
	ck := &checker{}
	// The existing /dev/null is left alone (as runc does)...
	ck.expectLink("/dev/null", "/etc/shadowy")
	// ...and so it cannot be used to mask.
	err := Finalize(c)
	want := `mask "/secret" (linux.maskedPaths[0]): /dev/null in the container is not the null device`
	ck.check(err != nil && strings.HasPrefix(err.Error(), want), "Finalize err = %v, want %s", err, want)
	b, _ := os.ReadFile("/etc/shadowy")
	ck.check(string(b) == "private", "/etc/shadowy changed: %q", b)

	// The pty must not land on /etc/shadowy through the /dev/console link.
	master, err := unix.Open("/dev/pts/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		ck.noErr(err, "open ptmx")
		return ck.err()
	}
	defer unix.Close(master)
	unix.IoctlSetPointerInt(master, unix.TIOCSPTLCK, 0)
	n, _ := unix.IoctlGetInt(master, unix.TIOCGPTN)
	sfd, err := unix.Open(fmt.Sprintf("/dev/pts/%d", n), unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		ck.noErr(err, "open pty slave")
		return ck.err()
	}
	defer unix.Close(sfd)
	err = MountConsole(sfd, fmt.Sprintf("/dev/pts/%d", n))
	ck.check(err != nil && strings.Contains(err.Error(), "refusing"), "MountConsole over a symlink: err = %v", err)
	ck.check(!isMountRoot("/etc/shadowy"), "pty mounted on /etc/shadowy")
	return ck.err()
}

func TestSetupSharedRootPropagation(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "rootfs")
	mustWrite(t, filepath.Join(root, "marker-berth"), "m")
	runScenario(t, "shared-root", map[string]string{"root": root})
	assertNoHostMounts(t, base)
}

// With every mount shared (as under systemd) and rootfsPropagation
// "rshared", pivot_root only works if the rootfs's parent mount was made
// private; afterwards the container's "/" must be shared as asked.
func scenarioSharedRoot(a map[string]string) error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_SHARED, ""); err != nil {
		return err
	}
	spec := &specs.Spec{
		Mounts: []specs.Mount{{Destination: "/proc", Type: "proc", Source: "proc"}},
		Linux:  &specs.Linux{RootfsPropagation: "rshared"},
	}
	if err := Setup(&Config{Spec: spec, Rootfs: a["root"]}); err != nil {
		return err
	}
	ck := &checker{}
	_, err := os.Stat("/marker-berth")
	ck.noErr(err, "marker")
	mi, ok := mountinfoFor("/")
	ck.check(ok && slices.ContainsFunc(mi.Optional, func(s string) bool { return strings.HasPrefix(s, "shared:") }),
		"/ is not shared after Setup: %+v", mi)
	return ck.err()
}

func TestSetupCgroupNS(t *testing.T) {
	var st unix.Statfs_t
	if err := unix.Statfs(cgroupRoot, &st); err != nil || st.Type == unix.CGROUP2_SUPER_MAGIC {
		t.Skip("the per-hierarchy cgroup mount is for v1/hybrid hosts")
	}
	root := filepath.Join(t.TempDir(), "rootfs")
	mustWrite(t, filepath.Join(root, "marker-berth"), "m")
	runScenario(t, "cgroupns", map[string]string{"root": root})
}

// In its own cgroup namespace the init gets fresh cgroup mounts whose root
// is its own cgroup.
func scenarioCgroupNS(a map[string]string) error {
	if err := unix.Unshare(unix.CLONE_NEWCGROUP); err != nil {
		return err
	}
	spec := &specs.Spec{Mounts: []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc"},
		{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
	}}
	if err := Setup(&Config{Spec: spec, Rootfs: a["root"], CgroupNS: true}); err != nil {
		return err
	}
	ck := &checker{}
	ents, err := os.ReadDir("/sys/fs/cgroup")
	own, _ := ownCgroups("/proc/self/cgroup")
	ck.check(err == nil && len(ents) == len(own), "/sys/fs/cgroup: %v %v, want %d hierarchies", ents, err, len(own))
	for _, e := range ents {
		p := "/sys/fs/cgroup/" + e.Name()
		if e.Type()&os.ModeSymlink != 0 {
			continue
		}
		ck.check(isMountRoot(p), "%s is not a mount", p)
		mi, ok := mountinfoFor(p)
		ck.check(ok && (mi.FSType == "cgroup" || mi.FSType == "cgroup2") && mi.Root == "/", "%s: %+v, want a fresh cgroup mount", p, mi)
		b, err := os.ReadFile(p + "/cgroup.procs")
		ck.check(err == nil && slices.Contains(strings.Fields(string(b)), strconv.Itoa(os.Getpid())),
			"%s: our pid is not in the root cgroup.procs: %v", p, err)
	}
	return ck.err()
}

func TestSetupInUserNamespace(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "rootfs")
	mustWrite(t, filepath.Join(root, "marker-berth"), "m")
	if err := os.MkdirAll(filepath.Join(base, "locked"), 0o755); err != nil {
		t.Fatal(err)
	}
	runScenario(t, "userns-outer", map[string]string{"root": root, "base": base})
	assertNoHostMounts(t, base)
}

// scenarioUserNSOuter mounts a nosuid,nodev,noexec tmpfs and starts the
// real test in a new user namespace: there the tmpfs's flags are locked,
// as a rootless container's are, and mknod, sysfs and friends are refused.
func scenarioUserNSOuter(a map[string]string) error {
	locked := filepath.Join(a["base"], "locked")
	if err := unix.Mount("tmpfs", locked, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(locked, "f"), []byte("locked"), 0o644); err != nil {
		return err
	}
	args, _ := json.Marshal(a)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=userns-inner", childArgsEnv+"="+string(args))
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS | syscall.CLONE_NEWPID | syscall.CLONE_NEWIPC,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}},
	}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), childOK) {
		return fmt.Errorf("inner: %v\n%s", err, out)
	}
	return nil
}

func scenarioUserNSInner(a map[string]string) error {
	spec := &specs.Spec{
		Root: &specs.Root{Readonly: true},
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "mode=755"}},
			{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"newinstance", "ptmxmode=0666"}},
			{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
			{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
			// "ro" alone would clear the locked nosuid,nodev,noexec.
			{Destination: "/locked", Type: "bind", Source: filepath.Join(a["base"], "locked"), Options: []string{"bind", "ro"}},
		},
		Linux: &specs.Linux{
			MaskedPaths:   []string{"/proc/timer_list", "/proc/acpi"},
			ReadonlyPaths: []string{"/proc/sys"},
		},
	}
	c := &Config{Spec: spec, Rootfs: a["root"], UserNS: true}
	if err := Setup(c); err != nil {
		return err
	}
	ck := &checker{}
	for _, d := range defaultDevices {
		var st unix.Stat_t
		err := unix.Stat(d.path, &st)
		ck.check(err == nil && st.Mode&unix.S_IFMT == unix.S_IFCHR && unix.Minor(st.Rdev) == uint32(d.minor),
			"%s: not the host node: %v", d.path, err)
		ck.check(isMountRoot(d.path), "%s is not a bind mount", d.path)
	}
	b, err := os.ReadFile("/locked/f")
	ck.check(err == nil && string(b) == "locked", "/locked/f = %q, %v", b, err)
	_, flags, _ := statfsType("/locked")
	want := int64(unix.ST_RDONLY | unix.ST_NOSUID | unix.ST_NODEV | unix.ST_NOEXEC)
	ck.check(flags&want == want, "/locked flags %#x, want ro,nosuid,nodev,noexec", flags)
	_, err = os.Stat("/sys/kernel")
	ck.noErr(err, "/sys/kernel")
	_, flags, _ = statfsType("/sys")
	ck.check(flags&unix.ST_RDONLY != 0, "/sys not read-only")
	if err := Finalize(c); err != nil {
		ck.noErr(err, "Finalize in a user namespace")
		return ck.err()
	}
	ck.expectEROFS("/newfile")
	_, err = os.OpenFile("/proc/sys/kernel/hostname", os.O_WRONLY, 0)
	ck.check(err != nil, "/proc/sys writable")
	b, err = os.ReadFile("/proc/timer_list")
	ck.check(os.IsNotExist(err) || err == nil && len(b) == 0, "/proc/timer_list not masked: %d bytes, %v", len(b), err)
	return ck.err()
}
