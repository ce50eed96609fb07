package tests

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
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

// TestExecIntelRdtGroup: an exec'd process joins the container's resctrl
// group, as the init did (resctrl's group is inherited at fork, and berth
// starts an exec'd process from outside the container). This host has no
// resctrl: the container's saved placement is pointed at a directory
// shaped like a group, whose tasks file then holds what berth wrote.
func TestExecIntelRdtGroup(t *testing.T) {
	r := newRuntime(t)
	b := newBundle(t, "sleep", "1000")
	c := r.create(b)
	defer r.forceDelete(c.id)
	c.start()

	fake := testDir(t, "resctrl")
	group := filepath.Join(fake, "gold")
	if err := os.MkdirAll(group, 0o755); err != nil {
		t.Fatal(err)
	}
	tasks := filepath.Join(group, "tasks")
	if err := os.WriteFile(tasks, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	statePath := filepath.Join(r.root, c.id, "state.json")
	data, err := os.ReadFile(statePath)
	if err != nil {
		t.Fatal(err)
	}
	var st map[string]any
	if err := json.Unmarshal(data, &st); err != nil {
		t.Fatal(err)
	}
	st["intel_rdt"] = map[string]any{"root": fake, "group": group}
	if data, err = json.Marshal(st); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(statePath, data, 0o600); err != nil {
		t.Fatal(err)
	}

	r.mustRun("exec", c.id, "true")
	got, err := os.ReadFile(tasks)
	if err != nil {
		t.Fatal(err)
	}
	if pid, err := strconv.Atoi(strings.TrimSpace(string(got))); err != nil || pid <= 0 {
		t.Errorf("the group's tasks after exec: %q, want the exec'd process's pid", got)
	}
}
