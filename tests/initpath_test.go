package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The container init (nsenter/cinit.c) runs the plan the parent compiled:
// these tests run a spec that touches every kind of operation and read
// the container it made from inside.

// initProbe prints what a container's setup decides, without what differs
// from run to run (mount ids, peer groups, dates, pids).
const initProbe = `
awk '{ for (i = 7; $i != "-"; i++) ; print $4, $5, $6, $(i+1), $(i+2), $(i+3) }' /proc/self/mountinfo
ls -ln /dev /dev/pts /dev/sub /sys/fs/cgroup | awk '{ print $1, $3, $4, $5, $6, $NF }'
grep -E '^(Cap|NoNewPrivs|Seccomp)' /proc/self/status
echo "hostname $(hostname) domain $(cat /proc/sys/kernel/domainname) umask $(umask) nofile $(ulimit -n) cwd $(pwd)"
id
env | sort
ip link show lo 2>/dev/null | head -1 | awk '{ print $2, $3 }'
echo probe-done
`

// initPathBundle is a spec that touches every operation of the C init's
// plan: fresh mounts with data and flags, the proc/sysfs directory checks,
// bind mounts of a file and of a directory (read-only, recursive
// attributes, propagation), a remount, the cgroup mount, linux.devices,
// masked and read-only paths, root.readonly, hostname, domainname, user,
// umask, cwd, rlimits, capabilities, no_new_privs and seccomp.
func initPathBundle(t *testing.T) *bundle {
	b := newShBundle(t, initProbe)
	host := testDir(t, "initpath-host")
	writeFile(t, filepath.Join(host, "file"), "a host file\n")
	if err := os.MkdirAll(filepath.Join(host, "dir", "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	b.addMount(specs.Mount{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup",
		Options: []string{"nosuid", "noexec", "nodev", "relatime", "ro"}})
	b.addMount(specs.Mount{Destination: "/run", Type: "tmpfs", Source: "tmpfs",
		Options: []string{"nosuid", "nodev", "mode=700", "size=1m"}})
	b.addMount(specs.Mount{Destination: "/etc/hostfile", Type: "bind", Source: filepath.Join(host, "file"),
		Options: []string{"bind", "ro", "nosuid"}})
	b.addMount(specs.Mount{Destination: "/mnt/dir", Type: "bind", Source: filepath.Join(host, "dir"),
		Options: []string{"rbind", "rro", "rprivate"}})
	b.addMount(specs.Mount{Destination: "/mnt/dir", Type: "bind", Source: filepath.Join(host, "dir"),
		Options: []string{"remount", "bind", "ro", "noexec"}})
	fileMode := os.FileMode(0o640)
	uid, gid := uint32(7), uint32(8)
	b.spec.Linux.Devices = []specs.LinuxDevice{
		{Path: "/dev/fuse", Type: "c", Major: 10, Minor: 229, FileMode: &fileMode, UID: &uid, GID: &gid},
		{Path: "/dev/sub/pipe", Type: "p"},
	}
	b.spec.Linux.MaskedPaths = append(b.spec.Linux.MaskedPaths, "/etc/hostfile", "/no/such/path")
	b.spec.Linux.ReadonlyPaths = append(b.spec.Linux.ReadonlyPaths, "/etc")
	b.spec.Root.Readonly = true
	b.spec.Domainname = "paths.example"
	umask := uint32(0o027)
	b.spec.Process.User = specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{5, 6}, Umask: &umask}
	b.spec.Process.Cwd = "/tmp"
	b.spec.Process.Env = append(b.spec.Process.Env, "FOO=bar")
	b.spec.Process.Rlimits = append(b.spec.Process.Rlimits, specs.POSIXRlimit{Type: "RLIMIT_CORE", Hard: 4096, Soft: 1024})
	b.spec.Linux.Seccomp = &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Syscalls:      []specs.LinuxSyscall{{Names: []string{"reboot"}, Action: specs.ActErrno}},
	}
	return b
}

// runInit runs b (`run`, with --debug --log) and returns its output with
// the id replaced by ID, after checking from the log that the init ran
// its plan.
func runInit(t *testing.T, r *runtime, b *bundle, extra ...string) string {
	t.Helper()
	b.write(t)
	id := r.newID()
	res := initCall(t, r, nil, append(append([]string{"run"}, extra...), "--bundle", b.dir, id)...)
	if res.code != 0 {
		t.Fatalf("run %v: %s", extra, res)
	}
	// The default cgroupsPath is named after the id.
	return strings.ReplaceAll(res.stdout, id, "ID")
}

// TestInitContainer: the container is what the spec asks for: the mount
// table with its options, /dev, capabilities, no_new_privs, seccomp,
// identity, environment, limits, loopback.
func TestInitContainer(t *testing.T) {
	r := newRuntime(t)
	out := runInit(t, r, initPathBundle(t))
	if !strings.Contains(out, "probe-done") {
		t.Fatalf("probe did not finish: %q", out)
	}
	for _, want := range []string{
		" / ro,", " /mnt/dir ro,noexec,", " /etc/hostfile ", " /etc ro,", " /run rw,nosuid,nodev,", "mode=700",
		" /sys/fs/cgroup ro,nosuid,nodev,noexec,", "/null /proc/keys ", " /proc/acpi ro,", "/sys /proc/sys ro,",
		"crw-r----- 7 8 10, 229 fuse", "prw-rw-rw- 0 0", "hostname berth-test domain paths.example umask 0027 nofile 1024 cwd /tmp",
		"uid=1000(user) gid=1000(user) groups=5(tty),6", "FOO=bar", "NoNewPrivs:\t1", "Seccomp:\t2", "CapBnd:\t0000000020000420", "lo: <LOOPBACK,UP",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("%q missing from\n%s", want, out)
		}
	}
}

// TestInitNoPivot: --no-pivot (MS_MOVE + chroot, the host's proc and
// sysfs detached first) makes the same container as pivot_root.
func TestInitNoPivot(t *testing.T) {
	r := newRuntime(t)
	b := newShBundle(t, initProbe)
	pivot := runInit(t, r, b)
	noPivot := runInit(t, r, b, "--no-pivot")
	if !strings.Contains(pivot, "probe-done") || pivot != noPivot {
		t.Errorf("--no-pivot made another container than pivot_root:\n%s", lineDiff(pivot, noPivot))
	}
}

// TestInitErrors: a failure in each part of the init's plan is one line
// naming the field, and leaves nothing behind.
func TestInitErrors(t *testing.T) {
	r := newRuntime(t)
	for _, tc := range []struct {
		name  string
		edit  func(t *testing.T, b *bundle)
		hints []string
	}{
		{"missing bind source", func(t *testing.T, b *bundle) {
			b.addMount(specs.Mount{Destination: "/mnt/x", Type: "bind", Source: "/no/such/source", Options: []string{"bind"}})
		}, []string{"/no/such/source", "mounts[6].source"}},
		{"proc on a symlink", func(t *testing.T, b *bundle) {
			if err := os.Symlink("/tmp", filepath.Join(b.rootfs, "proc2")); err != nil {
				t.Fatal(err)
			}
			b.addMount(specs.Mount{Destination: "/proc2", Type: "proc", Source: "proc"})
		}, []string{"mounts[6]", "symlink", "/proc2"}},
		{"mount inside /proc", func(t *testing.T, b *bundle) {
			b.addMount(specs.Mount{Destination: "/proc/self/attr", Type: "tmpfs", Source: "tmpfs"})
		}, []string{"mounts[6].destination", "inside /proc"}},
		{"bad fs type", func(t *testing.T, b *bundle) {
			b.addMount(specs.Mount{Destination: "/mnt/bad", Type: "nosuchfs", Source: "x"})
		}, []string{"mounts[6]", "/mnt/bad", "no such device"}},
		{"dev null replaced", func(t *testing.T, b *bundle) {
			// Not a device: masking a file with it must be refused (CVE-2025-31133).
			b.spec.Linux.Devices = nil
			b.addMount(specs.Mount{Destination: "/dev/null", Type: "bind", Source: filepath.Join(b.rootfs, "etc", "passwd"), Options: []string{"bind"}})
			b.spec.Linux.MaskedPaths = append(b.spec.Linux.MaskedPaths, "/etc/group")
		}, []string{"maskedPaths", "not the null device"}},
		{"missing executable", func(t *testing.T, b *bundle) { b.spec.Process.Args = []string{"/no/such/binary"} }, []string{"process.args[0]", "/no/such/binary"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBundle(t, "true")
			tc.edit(t, b)
			b.write(t)
			id := r.newID()
			before := hostMounts()
			res := initCall(t, r, nil, "create", "--bundle", b.dir, id)
			assertErrorLine(t, res, tc.hints...)
			assertNothingLeft(t, r, id, before)
		})
	}
}

// lineDiff lists the lines only in want (-) and only in got (+).
func lineDiff(want, got string) string {
	count := map[string]int{}
	for _, l := range lines(want) {
		count[l]++
	}
	for _, l := range lines(got) {
		count[l]--
	}
	var b strings.Builder
	for _, l := range lines(want) {
		if count[l] > 0 {
			b.WriteString("- " + l + "\n")
			count[l]--
		}
	}
	for _, l := range lines(got) {
		if count[l] < 0 {
			b.WriteString("+ " + l + "\n")
			count[l]++
		}
	}
	return b.String()
}
