package tests

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// noMountBundle is a bundle whose container shares the host's mount
// namespace: no spec mounts, and none of what only a mount namespace of
// its own can hold.
func noMountBundle(t *testing.T, args ...string) *bundle {
	t.Helper()
	b := newBundle(t, args...)
	b.removeNamespace(specs.MountNamespace)
	b.spec.Mounts = nil
	b.spec.Linux.MaskedPaths, b.spec.Linux.ReadonlyPaths = nil, nil
	return b
}

// TestNoMountNamespaceRefusals: without a mount namespace, masked and
// read-only paths, devices, a read-only root and a root propagation cannot
// be applied; create refuses each with one line naming the field (they
// used to be skipped silently) and makes nothing.
func TestNoMountNamespaceRefusals(t *testing.T) {
	r := newRuntime(t)
	for _, tc := range []struct {
		field string
		edit  func(b *bundle)
	}{
		{"linux.maskedPaths", func(b *bundle) { b.spec.Linux.MaskedPaths = []string{"/proc/kcore"} }},
		{"linux.readonlyPaths", func(b *bundle) { b.spec.Linux.ReadonlyPaths = []string{"/proc/sys"} }},
		{"linux.devices", func(b *bundle) {
			b.spec.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/fuse", Type: "c", Major: 10, Minor: 229}}
		}},
		{"root.readonly", func(b *bundle) { b.spec.Root.Readonly = true }},
		{"linux.rootfsPropagation", func(b *bundle) { b.spec.Linux.RootfsPropagation = "rslave" }},
	} {
		t.Run(tc.field, func(t *testing.T) {
			b := noMountBundle(t, "true")
			tc.edit(b)
			before := hostMounts()
			c, res := r.tryCreate(b)
			assertErrorLine(t, res, tc.field+`: cannot be applied without a mount namespace (linux.namespaces has no "mount")`)
			assertNothingLeft(t, r, c.id, before)
		})
	}
	t.Run("none of them", func(t *testing.T) {
		if out := r.mustRunContainer(noMountBundle(t, "echo", "ran")); strings.TrimSpace(out) != "ran" {
			t.Errorf("container without a mount namespace printed %q, want ran", out)
		}
	})
}

// TestNoMountNamespaceExec: exec into a container without a mount
// namespace lands in the container's root, as its init did, not in the
// host's (the process used to join the other namespaces only).
func TestNoMountNamespaceExec(t *testing.T) {
	r := newRuntime(t)
	b := noMountBundle(t, "sleep", "1000")
	const marker = "only-in-this-rootfs"
	writeFile(t, filepath.Join(b.rootfs, marker), "")
	if _, err := os.Stat(filepath.Join("/", marker)); err == nil {
		t.Fatalf("/%s exists on the host", marker)
	}
	c := r.create(b)
	c.start()
	res := r.run("exec", c.id, "sh", "-c", "cd /; ls -a; pwd")
	if res.code != 0 {
		t.Fatalf("exec: %s", res)
	}
	got := lines(res.stdout)
	if !slices.Contains(got, marker) || slices.Contains(got, "usr") {
		t.Errorf("exec's / lists %q, want the rootfs's (with %s, without usr)", got, marker)
	}
}

// TestNoPivotHostProcfs: with --no-pivot the old root's mounts stay in the
// container's mount namespace under the chroot, and a fully visible procfs
// or sysfs anywhere in it lets the container mount a fresh one from a user
// namespace of its own (the kernel's mnt_too_revealing check). The init
// takes the host's proc and sysfs mounts away before it moves the root
// (detached; covered by a tmpfs where a user namespace has them locked),
// so the mount is refused. pivot_root is the control.
func TestNoPivotHostProcfs(t *testing.T) {
	r := newRuntime(t)
	probe := func(userns bool) *bundle {
		b := newShBundle(t, `mkdir -p /tmp/p
unshare -mrpfn sh -c '
	mount -t tmpfs tmpfs /tmp/p && echo tmpfs-mounted && umount /tmp/p
	mount -t proc proc /tmp/p && echo proc-mounted
	mount -t sysfs sysfs /tmp/p && echo sysfs-mounted
	true'`)
		// Any user will do; root would need CAP_SETFCAP to map itself.
		b.spec.Process.User = specs.User{UID: 1000, GID: 1000}
		if userns {
			b.addNamespace(specs.UserNamespace, "")
			b.spec.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
			b.spec.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
		}
		b.write(t)
		return b
	}
	for _, tc := range []struct {
		name string
		b    *bundle
	}{{"no user namespace", probe(false)}, {"user namespace", probe(true)}} {
		for _, flags := range [][]string{nil, {"--no-pivot"}} {
			args := append(append([]string{"run"}, flags...), "--bundle", tc.b.dir, r.newID())
			res := initCall(t, r, nil, args...)
			if res.code != 0 {
				t.Fatalf("%s %q: %s", tc.name, flags, res)
			}
			// The user, mount and net (which sysfs wants) namespaces were
			// made, so a refused proc or sysfs is the kernel's rule.
			if !strings.Contains(res.stdout, "tmpfs-mounted") {
				t.Fatalf("%s %q: unshare -mrpfn did not make its namespaces: %s", tc.name, flags, res)
			}
			for _, fs := range []string{"proc", "sysfs"} {
				if strings.Contains(res.stdout, fs+"-mounted") {
					t.Errorf("%s %q: the container mounted a fresh %s: a host one is fully visible in its mount namespace", tc.name, flags, fs)
				}
			}
		}
	}
}
