package tests

import (
	"os"
	"os/exec"
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
// host's (the process used to join the other namespaces only), on the C
// exec and on the Go exec.
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
	for _, goExec := range []bool{false, true} {
		res := r.runCmd(func(cmd *exec.Cmd) { cmd.Env = execPathEnv(goExec) }, "exec", c.id, "sh", "-c", "cd /; ls -a; pwd")
		if res.code != 0 {
			t.Fatalf("BERTH_EXEC_GO=%v: exec: %s", goExec, res)
		}
		got := lines(res.stdout)
		if !slices.Contains(got, marker) || slices.Contains(got, "usr") {
			t.Errorf("BERTH_EXEC_GO=%v: exec's / lists %q, want the rootfs's (with %s, without usr)", goExec, got, marker)
		}
	}
}

// execPathEnv is the test's environment with BERTH_EXEC_GO=1 exactly when
// goExec.
func execPathEnv(goExec bool) []string {
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "BERTH_EXEC_GO=") {
			env = append(env, e)
		}
	}
	if goExec {
		env = append(env, "BERTH_EXEC_GO=1")
	}
	return env
}
