package tests

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// recordHook is a hook that appends its kind to dir/order and saves its
// stdin (the container state) as dir/<kind>.json. It runs /bin/sh, which
// exists both on the host and in the busybox rootfs, and dir is bind
// mounted into the container at the same path, so the same hook works in
// the runtime and in the container namespace.
func recordHook(kind, dir string) specs.Hook {
	return specs.Hook{
		Path: "/bin/sh",
		Args: []string{"sh", "-c", `cat > "$2/$1.json" && echo "$1" >> "$2/order"`, "sh", kind, dir},
		Env:  []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"},
	}
}

func failingHook(code string) specs.Hook {
	return specs.Hook{Path: "/bin/sh", Args: []string{"sh", "-c", "cat >/dev/null; exit " + code}}
}

func readOrder(t *testing.T, dir string) []string {
	t.Helper()
	data, _ := os.ReadFile(filepath.Join(dir, "order"))
	return lines(string(data))
}

// waitHooks waits until every one of kinds has run and returns the order.
func waitHooks(t *testing.T, dir string, kinds ...string) []string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := readOrder(t, dir)
		if containsAll(got, kinds...) {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("hooks %q never ran; ran: %q", kinds, got)
		}
		sleepMs(20)
	}
}

func hookState(t *testing.T, dir, kind string) specs.State {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, kind+".json"))
	if err != nil {
		t.Fatalf("%s hook left no state: %v", kind, err)
	}
	var st specs.State
	if err := json.Unmarshal(data, &st); err != nil {
		t.Fatalf("%s hook stdin is not state JSON: %v: %q", kind, err, data)
	}
	return st
}

func TestHooks(t *testing.T) { scenarioHooks(t, newRuntime(t)) }

func scenarioHooks(t *testing.T, r *runtime) {
	dir := r.dir(t, "hooks")
	b := r.shBundle(t, "echo ready; "+waitForGo)
	b.addMount(specs.Mount{Destination: dir, Type: "bind", Source: dir, Options: []string{"bind"}})
	b.spec.Hooks = &specs.Hooks{
		Prestart:        []specs.Hook{recordHook("prestart", dir)},
		CreateRuntime:   []specs.Hook{recordHook("createRuntime", dir)},
		CreateContainer: []specs.Hook{recordHook("createContainer", dir)},
		StartContainer:  []specs.Hook{recordHook("startContainer", dir)},
		Poststart:       []specs.Hook{recordHook("poststart", dir)},
		Poststop:        []specs.Hook{recordHook("poststop", dir)},
	}

	c := r.create(b)
	pid := r.state(c.id).Pid
	if got, want := readOrder(t, dir), []string{"prestart", "createRuntime", "createContainer"}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("hooks after create: %q, want %q", got, want)
	}

	c.start()
	got := waitHooks(t, dir, "startContainer", "poststart")
	if indexOf(got, "startContainer") > indexOf(got, "poststart") {
		t.Errorf("poststart ran before startContainer: %q", got)
	}
	if indexOf(got, "startContainer") < 3 || indexOf(got, "poststart") < 3 {
		t.Errorf("start hooks ran during create: %q", got)
	}
	c.waitOutput("ready")

	release(t, b)
	r.waitStatus(c.id, specs.StateStopped)
	if got := readOrder(t, dir); indexOf(got, "poststop") >= 0 {
		t.Errorf("poststop ran before delete: %q", got)
	}
	r.mustRun("delete", c.id)
	if got := waitHooks(t, dir, "poststop"); len(got) != 6 || got[5] != "poststop" {
		t.Errorf("hooks after delete: %q, want each kind once and poststop last", got)
	}

	if r.user != nil {
		// Rootless, every hook runs as the user (the container's root is
		// the user too): what they wrote is the user's on the host.
		for _, kind := range []string{"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"} {
			var st syscall.Stat_t
			if err := syscall.Stat(filepath.Join(dir, kind+".json"), &st); err != nil || int(st.Uid) != r.user.uid {
				t.Errorf("%s hook's file: owner %d (%v), want the user %d", kind, st.Uid, err, r.user.uid)
			}
		}
	}

	// Hooks in the runtime namespace see the host pid; those in the
	// container namespace may see it or, as runc reports it, the pid in
	// the container's pid namespace (1).
	for kind, want := range map[string]specs.ContainerState{
		"prestart": specs.StateCreating, "createRuntime": specs.StateCreating,
		"createContainer": specs.StateCreating, "startContainer": specs.StateCreated,
		"poststart": specs.StateRunning, "poststop": specs.StateStopped,
	} {
		st := hookState(t, dir, kind)
		if st.ID != c.id || st.Bundle != b.dir || st.Version == "" {
			t.Errorf("%s hook state %+v: want id %s bundle %s", kind, st, c.id, b.dir)
		}
		if st.Status != want {
			t.Errorf("%s hook state status %q, want %q", kind, st.Status, want)
		}
		switch kind {
		case "poststop":
		case "createContainer", "startContainer":
			if st.Pid != pid && st.Pid != 1 {
				t.Errorf("%s hook state pid %d, want %d", kind, st.Pid, pid)
			}
		default:
			if st.Pid != pid {
				t.Errorf("%s hook state pid %d, want %d", kind, st.Pid, pid)
			}
		}
	}
}

func containsAll(list []string, want ...string) bool {
	for _, w := range want {
		if indexOf(list, w) < 0 {
			return false
		}
	}
	return true
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

// TestStartContainerHookEnv: a startContainer hook with no env gets the
// container process's environment (normalised, HOME filled in), as with
// runc, whose init runs these hooks just before its exec and lets them
// inherit its environment; an empty or given env is what the hook gets.
func TestStartContainerHookEnv(t *testing.T) {
	r := newRuntime(t)
	b := newBundle(t, "true")
	b.spec.Process.User = specs.User{UID: 1000, GID: 1000}
	b.spec.Process.Env = []string{"PATH=/bin", "A=1", "A=2", "HOME=", "B=x"}
	// The hooks run in the container (after pivot_root), as its user.
	envTo := func(name string, env []string) specs.Hook {
		return specs.Hook{Path: "/bin/sh", Args: []string{"sh", "-c", "env > /tmp/" + name}, Env: env}
	}
	b.spec.Hooks = &specs.Hooks{StartContainer: []specs.Hook{
		envTo("none", nil), envTo("empty", nil), envTo("given", []string{"Z=1"}),
	}}
	// "env": [] (the typed spec drops an empty list: omitempty).
	b.mutateJSON(t, func(m map[string]any) {
		m["hooks"].(map[string]any)["startContainer"].([]any)[1].(map[string]any)["env"] = []any{}
	})
	r.mustRunContainer(b)
	// What the hook's own shell adds (SHLVL, PWD, a default PATH) aside.
	env := func(name string) []string {
		data, err := os.ReadFile(filepath.Join(b.rootfs, "tmp", name))
		if err != nil {
			t.Fatalf("startContainer hook %s: %v", name, err)
		}
		var out []string
		for _, l := range lines(string(data)) {
			if !strings.HasPrefix(l, "SHLVL=") && !strings.HasPrefix(l, "PWD=") && (name == "none" || !strings.HasPrefix(l, "PATH=")) {
				out = append(out, l)
			}
		}
		return out
	}
	for name, want := range map[string][]string{
		"none":  {"HOME=/home/user", "A=2", "PATH=/bin", "B=x"},
		"empty": nil,
		"given": {"Z=1"},
	} {
		got := env(name)
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("startContainer hook with env %s: got %q, want %q", name, got, want)
		}
	}
}

func TestHookFailures(t *testing.T) {
	r := newRuntime(t)

	for _, kind := range []string{"prestart", "createRuntime", "createContainer"} {
		t.Run("failing "+kind, func(t *testing.T) {
			b := newShBundle(t, "true")
			h := []specs.Hook{failingHook("7")}
			b.spec.Hooks = &specs.Hooks{}
			switch kind {
			case "prestart":
				b.spec.Hooks.Prestart = h
			case "createRuntime":
				b.spec.Hooks.CreateRuntime = h
			case "createContainer":
				b.spec.Hooks.CreateContainer = h
			}
			before := hostMounts()
			c, res := r.tryCreate(b)
			assertErrorLine(t, res, "hook", kind)
			assertNothingLeft(t, r, c.id, before)
		})
	}

	t.Run("failing poststop", func(t *testing.T) {
		b := newShBundle(t, "true")
		b.spec.Hooks = &specs.Hooks{Poststop: []specs.Hook{failingHook("9")}}
		c := r.create(b)
		c.start()
		r.waitStatus(c.id, specs.StateStopped)
		logFile := filepath.Join(testDir(t, "log"), "log.json")
		res := r.run("--log", logFile, "--log-format", "json", "delete", c.id)
		if res.code != 0 {
			t.Fatalf("a failing poststop hook must not fail delete: %s", res)
		}
		if st := r.run("state", c.id); st.code == 0 {
			t.Fatalf("container still exists after delete: %s", st)
		}
		logged, _ := os.ReadFile(logFile)
		if l := strings.ToLower(string(logged) + res.stderr); !strings.Contains(l, "poststop") && !strings.Contains(l, "hook") {
			t.Errorf("the poststop failure was not logged (log %q, stderr %q)", logged, res.stderr)
		}
	})
}
