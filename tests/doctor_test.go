package tests

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestDoctor(t *testing.T) {
	r := newRuntime(t)
	res := r.run("doctor", "--format", "json")
	var checks []struct {
		Name, Status, Detail, Hint string
	}
	if err := json.Unmarshal([]byte(res.stdout), &checks); err != nil {
		t.Fatalf("doctor --format json is not a JSON array of checks: %v\n%s", err, res)
	}
	failed := false
	seen := map[string]bool{}
	for _, c := range checks {
		seen[c.Name] = true
		if c.Status != "ok" && c.Status != "warn" && c.Status != "fail" {
			t.Errorf("check %q has status %q", c.Name, c.Status)
		}
		failed = failed || c.Status == "fail"
	}
	for _, name := range []string{"kernel", "cgroup", "user namespaces", "seccomp", "state root"} {
		if !seen[name] {
			t.Errorf("no %q check in %s", name, res.stdout)
		}
	}
	if failed != (res.code == 1) || (res.code != 0 && res.code != 1) {
		t.Errorf("exit %d with a failed check: %v", res.code, failed)
	}

	text := r.run("doctor")
	if !strings.Contains(text.stdout, "cgroup") || len(lines(text.stdout)) < len(checks) {
		t.Errorf("text form:\n%s", text.stdout)
	}
	assertErrorLine(t, r.run("doctor", "--format", "yaml"), "text or json")
}
