package rootfs

import (
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestPlanUnsupported: the C init skips makeParentPrivate, which is right
// only for root propagations that leave no mount shared (recursive slave or
// private); every other value, and what only the Go Setup does, must keep
// the Go init.
func TestPlanUnsupported(t *testing.T) {
	for _, tc := range []struct {
		edit func(*Config)
		want bool // supported
	}{
		{func(*Config) {}, true},
		{func(c *Config) { c.Spec.Linux.RootfsPropagation = "rslave" }, true},
		{func(c *Config) { c.Spec.Linux.RootfsPropagation = "rprivate" }, true},
		{func(c *Config) { c.Spec.Linux.RootfsPropagation = "private" }, false},
		{func(c *Config) { c.Spec.Linux.RootfsPropagation = "slave" }, false},
		{func(c *Config) { c.Spec.Linux.RootfsPropagation = "shared" }, false},
		{func(c *Config) { c.Spec.Linux.RootfsPropagation = "rshared" }, false},
		{func(c *Config) { c.Spec.Linux.RootfsPropagation = "unbindable" }, false},
		{func(c *Config) { c.UserNS = true }, false},
		{func(c *Config) { c.Spec.Linux.MountLabel = "system_u:object_r:container_file_t:s0" }, false},
		{func(c *Config) { c.Spec.Annotations = map[string]string{OverlayAnnotation: "/l"} }, false},
		{func(c *Config) {
			c.Spec.Mounts = []specs.Mount{{Destination: "/tmp", Type: "tmpfs", Options: []string{"tmpcopyup"}}}
		}, false},
	} {
		c := &Config{Spec: &specs.Spec{Linux: &specs.Linux{}}}
		tc.edit(c)
		if got := PlanUnsupported(c) == ""; got != tc.want {
			t.Errorf("%+v %+v: supported %v, want %v (%q)", c.Spec.Linux, c, got, tc.want, PlanUnsupported(c))
		}
	}
}
