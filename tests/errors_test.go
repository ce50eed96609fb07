package tests

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestMalformedConfigs: each broken config.json is rejected by create with
// exit 1, one line naming the offending field, and no trace left.
func TestMalformedConfigs(t *testing.T) {
	r := newRuntime(t)
	for _, tc := range []struct {
		name  string
		edit  func(t *testing.T, b *bundle)
		hints []string
	}{
		{"bad json", func(t *testing.T, b *bundle) { b.raw = []byte(`{"ociVersion": "1.0.2", "process": {`) }, []string{"json", "config"}},
		{"empty args", func(t *testing.T, b *bundle) {
			b.mutateJSON(t, func(m map[string]any) { m["process"].(map[string]any)["args"] = []any{} })
		}, []string{"args"}},
		{"relative cwd", func(t *testing.T, b *bundle) { b.spec.Process.Cwd = "tmp" }, []string{"cwd"}},
		{"unknown namespace", func(t *testing.T, b *bundle) {
			b.spec.Linux.Namespaces = append(b.spec.Linux.Namespaces, specs.LinuxNamespace{Type: "bogusns"})
		}, []string{"bogusns"}},
		{"bad rlimit type", func(t *testing.T, b *bundle) {
			b.spec.Process.Rlimits = append(b.spec.Process.Rlimits, specs.POSIXRlimit{Type: "RLIMIT_BOGUS", Soft: 1, Hard: 1})
		}, []string{"RLIMIT_BOGUS"}},
		{"missing root", func(t *testing.T, b *bundle) { b.spec.Root.Path = "no-such-rootfs" }, []string{"no-such-rootfs", "root"}},
		{"wrong field type", func(t *testing.T, b *bundle) {
			b.mutateJSON(t, func(m map[string]any) { m["process"].(map[string]any)["args"] = "sh" })
		}, []string{"args", "json"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBundle(t, "true")
			tc.edit(t, b)
			before := hostMounts()
			c, res := r.tryCreate(b)
			assertErrorLine(t, res, tc.hints...)
			assertNothingLeft(t, r, c.id, before)
		})
	}

	t.Run("missing config.json", func(t *testing.T) {
		dir := testDir(t, "empty-bundle")
		id := r.newID()
		res := r.run("create", "--bundle", dir, id)
		assertErrorLine(t, res, "config.json")
		assertNothingLeft(t, r, id, hostMounts())
	})
}

// TestFailedCreateLeavesNothing: a create that fails deep in container
// setup (a bind mount whose source does not exist, after other mounts were
// already made) must undo everything.
func TestFailedCreateLeavesNothing(t *testing.T) {
	r := newRuntime(t)
	missing := filepath.Join(testDir(t, "gone"), "no-such-source")
	b := newShBundle(t, "true")
	b.addMount(specs.Mount{Destination: "/mnt/gone", Type: "bind", Source: missing, Options: []string{"bind"}})
	before := hostMounts()
	c, res := r.tryCreate(b)
	assertErrorLine(t, res, missing, "/mnt/gone")
	assertNothingLeft(t, r, c.id, before)

	// The same id is usable afterwards.
	b.spec.Mounts = b.spec.Mounts[:len(b.spec.Mounts)-1]
	b.write(t)
	r.mustRun("create", "--bundle", b.dir, c.id)
	r.mustRun("delete", c.id)
}

// TestLogJSON: with --log F --log-format json an error goes to F as a JSON
// line with level, msg and time, and stderr still gets one line.
func TestLogJSON(t *testing.T) {
	r := newRuntime(t)
	logFile := filepath.Join(testDir(t, "log"), "berth.log")
	id := "bt-nonexistent-log"
	res := r.run("--log", logFile, "--log-format", "json", "state", id)
	assertErrorLine(t, res, id, "not exist", "not found")

	data, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatalf("--log file: %v", err)
	}
	var found bool
	for _, l := range lines(string(data)) {
		var entry map[string]any
		if err := json.Unmarshal([]byte(l), &entry); err != nil {
			t.Errorf("log line is not JSON: %q", l)
			continue
		}
		if entry["level"] != "error" {
			continue
		}
		found = true
		msg, _ := entry["msg"].(string)
		if msg == "" || !strings.Contains(msg, id) && !strings.Contains(msg, "not exist") {
			t.Errorf("error log msg %q does not describe the failure", msg)
		}
		ts, _ := entry["time"].(string)
		if _, err := time.Parse(time.RFC3339Nano, ts); err != nil {
			t.Errorf("log time %q is not RFC 3339: %v", ts, err)
		}
	}
	if !found {
		t.Errorf("no level=error JSON line in the log: %q", data)
	}

	t.Run("text", func(t *testing.T) {
		logFile := filepath.Join(testDir(t, "log"), "berth.log")
		res := r.run("--log", logFile, "--log-format", "text", "state", id)
		assertErrorLine(t, res, id, "not exist", "not found")
		data, _ := os.ReadFile(logFile)
		if !strings.Contains(string(data), "error") {
			t.Errorf("text log lacks the error: %q", data)
		}
	})
}
