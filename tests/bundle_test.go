package tests

import (
	"debug/elf"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

const busyboxPath = "/bin/busybox"

var (
	appletsOnce sync.Once
	applets     []string
	appletsErr  string
)

// busyboxApplets checks that /bin/busybox is the static build (a dynamic
// one would not run inside a rootfs without libc) and lists its applets.
func busyboxApplets(t testing.TB) []string {
	t.Helper()
	appletsOnce.Do(func() {
		const hint = "apt-get install busybox-static"
		f, err := elf.Open(busyboxPath)
		if err != nil {
			appletsErr = "no usable " + busyboxPath + " (" + err.Error() + "): " + hint
			return
		}
		defer f.Close()
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				appletsErr = busyboxPath + " is dynamically linked: " + hint
				return
			}
		}
		out, err := exec.Command(busyboxPath, "--list").Output()
		if err != nil {
			appletsErr = busyboxPath + " --list: " + err.Error() + ": " + hint
			return
		}
		applets = strings.Fields(string(out))
		if len(applets) == 0 {
			appletsErr = busyboxPath + " --list printed no applets: " + hint
		}
	})
	if appletsErr != "" {
		t.Fatal(appletsErr)
	}
	return applets
}

// makeRootfs lays out a minimal busybox root filesystem at dir.
func makeRootfs(t testing.TB, dir string) {
	t.Helper()
	names := busyboxApplets(t)
	for _, d := range []string{"bin", "etc", "proc", "sys", "dev", "root", "home/user", "mnt"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	tmp := filepath.Join(dir, "tmp")
	if err := os.Mkdir(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(tmp, 0o1777); err != nil {
		t.Fatal(err)
	}
	// A copy, not a hard link: a container with a writable root must not be
	// able to modify the host's busybox.
	copyFile(t, busyboxPath, filepath.Join(dir, "bin", "busybox"), 0o755)
	for _, a := range names {
		if a == "busybox" {
			continue
		}
		if err := os.Symlink("busybox", filepath.Join(dir, "bin", a)); err != nil && !os.IsExist(err) {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(dir, "etc", "passwd"),
		"root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\n")
	writeFile(t, filepath.Join(dir, "etc", "group"),
		"root:x:0:\ntty:x:5:\nwheel:x:10:\nuser:x:1000:\n")
}

func copyFile(t testing.TB, src, dst string, mode os.FileMode) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// bundle is an OCI bundle directory whose spec a test edits before the
// runtime sees it; write() serialises it to config.json.
type bundle struct {
	dir    string
	rootfs string
	spec   *specs.Spec
	// raw, when set, is written instead of spec (for malformed configs).
	raw []byte
}

// newBundle makes a bundle with a fresh busybox rootfs running args.
func newBundle(t testing.TB, args ...string) *bundle {
	t.Helper()
	dir := testDir(t, "bundle")
	rootfs := filepath.Join(dir, "rootfs")
	makeRootfs(t, rootfs)
	return &bundle{dir: dir, rootfs: rootfs, spec: baseSpec(args)}
}

// newShBundle is shorthand for a `sh -c script` bundle.
func newShBundle(t testing.TB, script string) *bundle {
	t.Helper()
	return newBundle(t, "sh", "-c", script)
}

func (b *bundle) write(t testing.TB) {
	t.Helper()
	data := b.raw
	if data == nil {
		var err error
		data, err = json.MarshalIndent(b.spec, "", "\t")
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(b.dir, "config.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// mutateJSON rewrites the spec through a generic map, for configs the
// typed struct cannot express (empty arrays dropped by omitempty, wrong
// types).
func (b *bundle) mutateJSON(t testing.TB, mutate func(m map[string]any)) {
	t.Helper()
	data, err := json.Marshal(b.spec)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	mutate(m)
	if b.raw, err = json.MarshalIndent(m, "", "\t"); err != nil {
		t.Fatal(err)
	}
}

// addNamespace adds (or replaces) a namespace entry.
func (b *bundle) addNamespace(typ specs.LinuxNamespaceType, path string) {
	b.removeNamespace(typ)
	b.spec.Linux.Namespaces = append(b.spec.Linux.Namespaces, specs.LinuxNamespace{Type: typ, Path: path})
}

func (b *bundle) removeNamespace(typ specs.LinuxNamespaceType) {
	ns := b.spec.Linux.Namespaces[:0]
	for _, n := range b.spec.Linux.Namespaces {
		if n.Type != typ {
			ns = append(ns, n)
		}
	}
	b.spec.Linux.Namespaces = ns
}

// addMount appends a mount to the spec.
func (b *bundle) addMount(m specs.Mount) { b.spec.Mounts = append(b.spec.Mounts, m) }

// baseSpec is the tests' starting point: the usual container shape
// (private pid/net/ipc/uts/mount namespaces, /proc, /dev, /sys, default
// devices, masked and read-only /proc paths), no terminal, writable root.
func baseSpec(args []string) *specs.Spec {
	caps := []string{"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"}
	return &specs.Spec{
		Version: specs.Version,
		Root:    &specs.Root{Path: "rootfs"},
		Process: &specs.Process{
			Args: args,
			Env: []string{
				"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
				"TERM=xterm",
			},
			Cwd:  "/",
			User: specs.User{UID: 0, GID: 0},
			Capabilities: &specs.LinuxCapabilities{
				Bounding:  caps,
				Effective: caps,
				Permitted: caps,
			},
			Rlimits:         []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 1024, Soft: 1024}},
			NoNewPrivileges: true,
		},
		Hostname: "berth-test",
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs",
				Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
			{Destination: "/dev/pts", Type: "devpts", Source: "devpts",
				Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
			{Destination: "/dev/shm", Type: "tmpfs", Source: "shm",
				Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
			{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue",
				Options: []string{"nosuid", "noexec", "nodev"}},
			{Destination: "/sys", Type: "sysfs", Source: "sysfs",
				Options: []string{"nosuid", "noexec", "nodev", "ro"}},
		},
		Linux: &specs.Linux{
			Namespaces: []specs.LinuxNamespace{
				{Type: specs.PIDNamespace},
				{Type: specs.NetworkNamespace},
				{Type: specs.IPCNamespace},
				{Type: specs.UTSNamespace},
				{Type: specs.MountNamespace},
			},
			MaskedPaths: []string{
				"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
				"/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
				"/proc/sched_debug", "/sys/firmware", "/proc/scsi",
			},
			ReadonlyPaths: []string{
				"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
			},
		},
	}
}

// allCaps is every capability name the kernel knows, for tests that want
// a privileged container.
var allCaps = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
	"CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
	"CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
	"CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
	"CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
	"CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
	"CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
}

// setCaps gives the process the same set in bounding, effective and
// permitted.
func (b *bundle) setCaps(caps []string) {
	b.spec.Process.Capabilities = &specs.LinuxCapabilities{Bounding: caps, Effective: caps, Permitted: caps}
}
