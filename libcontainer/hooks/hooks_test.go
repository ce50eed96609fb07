package hooks

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// script writes an executable /bin/sh script into dir and returns its path.
func script(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func testState() *specs.State {
	return &specs.State{
		Version:     specs.Version,
		ID:          "c1",
		Status:      specs.StateCreating,
		Pid:         4242,
		Bundle:      "/bundles/c1",
		Annotations: map[string]string{"a": "b"},
	}
}

func intp(i int) *int { return &i }

func TestRunOrder(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "log")
	var hooks []specs.Hook
	for _, name := range []string{"one", "two", "three"} {
		hooks = append(hooks, specs.Hook{Path: script(t, dir, name, "echo "+name+" >> "+log)})
	}
	if err := Run("prestart", hooks, testState()); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "one\ntwo\nthree\n" {
		t.Fatalf("hooks ran as %q, want one, two, three in order", got)
	}
}

func TestRunNoHooks(t *testing.T) {
	if err := Run("poststop", nil, nil); err != nil {
		t.Fatal(err)
	}
}

func TestRunStdinIsState(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "state.json")
	h := specs.Hook{Path: script(t, dir, "h", "cat > "+out)}
	want := testState()
	if err := Run("createRuntime", []specs.Hook{h}, want); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var got specs.State
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatalf("hook stdin %q is not state JSON: %v", data, err)
	}
	if !reflect.DeepEqual(&got, want) {
		t.Fatalf("hook got state %+v, want %+v", got, *want)
	}
}

func TestRunArgsAndEnv(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	path := script(t, dir, "h", `{
printf '%s\n' "$@"
env | sort
} > `+out)
	h := specs.Hook{
		Path: path,
		Args: []string{"myname", "a b", "c"},
		Env:  []string{"FOO=bar", "BAZ=qux quux"},
	}
	if err := Run("poststart", []specs.Hook{h}, testState()); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(got)), "\n")
	var env []string
	for _, l := range lines[2:] {
		// The shell itself exports PWD, SHLVL and "_"; only check ours
		// arrive and nothing of the test's own environment does.
		if strings.HasPrefix(l, "PWD=") || strings.HasPrefix(l, "SHLVL=") || strings.HasPrefix(l, "_=") {
			continue
		}
		env = append(env, l)
	}
	if lines[0] != "a b" || lines[1] != "c" {
		t.Fatalf("hook args = %q, want [a b] [c]", lines[:2])
	}
	if want := []string{"BAZ=qux quux", "FOO=bar"}; !reflect.DeepEqual(env, want) {
		t.Fatalf("hook env = %q, want %q", env, want)
	}
}

func TestRunArgv0(t *testing.T) {
	// Args[0] is argv[0], not a first argument: read it back from
	// /proc/PID/cmdline, which is exactly what execve received.
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	h := specs.Hook{Path: "/bin/sh", Args: []string{"custom-argv0", "-c", "cat /proc/$$/cmdline > " + out}}
	if err := Run("prestart", []specs.Hook{h}, testState()); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	argv := strings.Split(strings.TrimSuffix(string(got), "\x00"), "\x00")
	if !reflect.DeepEqual(argv, h.Args) {
		t.Fatalf("hook argv = %q, want %q", argv, h.Args)
	}
	// With no Args, argv is [Path].
	h = specs.Hook{Path: script(t, dir, "noargs", `echo "$#" > `+out)}
	if err := Run("prestart", []specs.Hook{h}, testState()); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(out); string(got) != "0\n" {
		t.Fatalf("hook without args got %q arguments, want 0", got)
	}
}

func TestRunEmptyEnv(t *testing.T) {
	t.Setenv("BERTH_HOOK_TEST_LEAK", "1")
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	// /proc/PID/environ is what execve received, before the shell adds
	// variables of its own.
	h := specs.Hook{Path: "/bin/sh", Args: []string{"sh", "-c", "cat /proc/$$/environ > " + out}}
	if err := Run("prestart", []specs.Hook{h}, testState()); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Fatalf("hook with nil env got environment %q, want none", got)
	}
}

func TestRunFailureStopsChain(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "ran")
	hooks := []specs.Hook{
		{Path: script(t, dir, "ok", "true")},
		{Path: script(t, dir, "bad", "echo noise >&2\necho 'first line' >&2\necho '  cannot frobnicate  ' >&2\nexit 2")},
		{Path: script(t, dir, "after", "touch "+marker)},
	}
	err := Run("createRuntime", hooks, testState())
	if err == nil {
		t.Fatal("expected an error")
	}
	want := `createRuntime hook [1] "` + hooks[1].Path + `": exit status 2: noise; first line; cannot frobnicate`
	if err.Error() != want {
		t.Fatalf("error = %q\nwant    %q", err, want)
	}
	if _, err := os.Stat(marker); !os.IsNotExist(err) {
		t.Fatalf("hook after the failing one ran (stat: %v)", err)
	}
}

func TestRunFailureTail(t *testing.T) {
	dir := t.TempDir()
	h := specs.Hook{Path: script(t, dir, "bad", "for i in $(seq 1 2000); do echo line$i >&2; done\nexit 1")}
	err := Run("prestart", []specs.Hook{h}, testState())
	if err == nil || !strings.HasSuffix(err.Error(), ": exit status 1: line1998; line1999; line2000") {
		t.Fatalf("error = %v, want the last three stderr lines", err)
	}
	// Without stderr the end of stdout explains the failure.
	h = specs.Hook{Path: script(t, dir, "quiet", "echo on stdout\nexit 3")}
	err = Run("prestart", []specs.Hook{h}, testState())
	if err == nil || !strings.HasSuffix(err.Error(), ": exit status 3: on stdout") {
		t.Fatalf("error = %v, want stdout in it", err)
	}
}

func TestRunTimeout(t *testing.T) {
	dir := t.TempDir()
	h := specs.Hook{Path: script(t, dir, "slow", "sleep 10"), Timeout: intp(1)}
	start := time.Now()
	err := Run("poststop", []specs.Hook{h}, testState())
	elapsed := time.Since(start)
	if err == nil {
		t.Fatal("expected a timeout error")
	}
	want := `poststop hook [0] "` + h.Path + `": timed out after 1s`
	if err.Error() != want {
		t.Fatalf("error = %q, want %q", err, want)
	}
	if elapsed > 2*time.Second {
		t.Fatalf("Run took %s after a 1s timeout", elapsed)
	}
}

func TestRunTimeoutKillsChildren(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pid")
	h := specs.Hook{Path: script(t, dir, "slow", "sleep 30 &\necho $! > "+pidFile+"\nwait"), Timeout: intp(1)}
	if err := Run("poststop", []specs.Hook{h}, testState()); err == nil {
		t.Fatal("expected a timeout error")
	}
	data, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid := strings.TrimSpace(string(data))
	// The killed child may linger as a zombie until init reaps it; it must
	// not still be running.
	deadline := time.Now().Add(2 * time.Second)
	for {
		stat, err := os.ReadFile("/proc/" + pid + "/stat")
		if err != nil || strings.Contains(string(stat), ") Z ") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the hook's child %s survived the timeout: %s", pid, stat)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRunWithinTimeout(t *testing.T) {
	dir := t.TempDir()
	h := specs.Hook{Path: script(t, dir, "fast", "true"), Timeout: intp(5)}
	if err := Run("prestart", []specs.Hook{h}, testState()); err != nil {
		t.Fatal(err)
	}
}

func TestRunBadTimeout(t *testing.T) {
	dir := t.TempDir()
	h := specs.Hook{Path: script(t, dir, "fast", "true"), Timeout: intp(0)}
	err := Run("prestart", []specs.Hook{h}, testState())
	if err == nil || !strings.Contains(err.Error(), "timeout must be greater than zero") {
		t.Fatalf("error = %v", err)
	}
}

func TestRunMissingBinary(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing")
	err := Run("createContainer", []specs.Hook{{Path: path}}, testState())
	if err == nil {
		t.Fatal("expected an error")
	}
	if !strings.HasPrefix(err.Error(), `createContainer hook [0] "`+path+`": `) || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("error = %v, want a not-exist error naming the hook", err)
	}
}

func TestRunRelativePath(t *testing.T) {
	err := Run("prestart", []specs.Hook{{Path: "true"}}, testState())
	if err == nil || err.Error() != `prestart hook [0] "true": path must be absolute` {
		t.Fatalf("error = %v", err)
	}
}
