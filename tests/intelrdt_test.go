package tests

import (
	"os"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestSpecIntelRdt: linux.intelRdt on a host without resctrl (this one:
// libcontainer/intelrdt's unit tests cover the writing against a
// resctrl-shaped directory) fails create naming the field, before
// anything is made.
func TestSpecIntelRdt(t *testing.T) {
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(mi), " - resctrl ") {
		t.Fatal("this host mounts resctrl: the test wants one without (the refusal); a host with it needs a test of the group made")
	}
	r := newRuntime(t)
	b := newBundle(t, "true")
	b.spec.Linux.IntelRdt = &specs.LinuxIntelRdt{ClosID: "gold", L3CacheSchema: "L3:0=ff"}
	before := hostMounts()
	id, res := r.runContainer(b)
	advAssertRefused(t, r, id, before, res, "linux.intelRdt", "resctrl is not mounted")
}
