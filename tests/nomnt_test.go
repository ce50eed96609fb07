package tests

import (
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
