package tests

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestShimCallPattern replays containerd's runc v2 shim, call by call:
// global --root <dir>/<ns> --log <bundle>/log.json --log-format json on
// every call, exec with a process file, ps json, pause/resume, dockerd's
// update --resources -, kill, then delete followed by delete --force.
func TestShimCallPattern(t *testing.T) {
	r := newRuntime(t)
	r.root = filepath.Join(r.root, "default") // <root>/<namespace>, not yet there
	b := newBundle(t, "sleep", "1000")
	b.write(t)
	logFile := filepath.Join(b.dir, "log.json")
	shim := func(args ...string) result {
		return r.run(append([]string{"--log", logFile, "--log-format", "json"}, args...)...)
	}
	id := r.newID()
	pidFile := filepath.Join(b.dir, "init.pid")
	if res := shim("create", "--bundle", b.dir, "--pid-file", pidFile, id); res.code != 0 {
		t.Fatalf("shim create: %s", res)
	}
	if data, err := os.ReadFile(pidFile); err != nil || strings.TrimSpace(string(data)) != strconv.Itoa(r.state(id).Pid) {
		t.Fatalf("pid file %q, state pid %d", data, r.state(id).Pid)
	}
	if res := shim("start", id); res.code != 0 {
		t.Fatalf("shim start: %s", res)
	}
	proc := specs.Process{Args: []string{"sh", "-c", "echo from-exec > /dev/null; sleep 100"}, Cwd: "/", Env: []string{"PATH=/bin"}}
	procFile := filepath.Join(b.dir, "exec-process.json")
	data, _ := json.Marshal(proc)
	os.WriteFile(procFile, data, 0o644)
	execPid := filepath.Join(b.dir, "exec.pid")
	if res := shim("exec", "--process", procFile, "--detach", "--pid-file", execPid, id); res.code != 0 {
		t.Fatalf("shim exec: %s", res)
	}
	res := shim("ps", "--format", "json", id)
	var pids []int
	if json.Unmarshal([]byte(res.stdout), &pids); len(pids) < 2 {
		t.Errorf("ps --format json after exec: %s", res)
	}
	for _, step := range [][]string{{"pause", id}, {"resume", id}} {
		if res := shim(step...); res.code != 0 {
			t.Fatalf("shim %s: %s", step[0], res)
		}
	}
	upd := r.runCmd(func(c *exec.Cmd) { c.Stdin = strings.NewReader(`{"memory":{"limit":134217728},"pids":{"limit":100}}`) },
		"--log", logFile, "--log-format", "json", "update", "--resources", "-", id)
	if upd.code != 0 {
		t.Fatalf("update --resources -: %s", upd)
	}
	if res := shim("kill", id, "9"); res.code != 0 {
		t.Fatalf("shim kill 9: %s", res)
	}
	r.waitStatus(id, specs.StateStopped)
	if res := shim("delete", id); res.code != 0 {
		t.Fatalf("shim delete: %s", res)
	}
	if res := shim("delete", "--force", id); res.code != 0 {
		t.Errorf("shim delete --force after delete must succeed: %s", res)
	}
	// The engine shows the last error line of the log: make one and read it.
	shim("start", "no-such-container")
	f, err := os.Open(logFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var last map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", sc.Text())
		}
		if m["level"] == "error" {
			last = m
		}
	}
	if last == nil || !strings.Contains(last["msg"].(string), "no-such-container") || last["time"] == nil {
		t.Errorf("last error line of the log: %v", last)
	}
}

// TestConmonCallPattern: podman/conmon never pass --root (the default root
// must work) and always delete --force, also after a normal exit.
func TestConmonCallPattern(t *testing.T) {
	requireRoot(t)
	bin := runtimeBin(t)
	b := newBundle(t, "true")
	b.write(t)
	id := "bt-conmon-" + strconv.Itoa(os.Getpid())
	logFile := filepath.Join(b.dir, "log.json")
	// Output to a file, as conmon does: a pipe would stay open in the
	// created container's init and never reach end-of-file.
	outFile := filepath.Join(b.dir, "out")
	run := func(args ...string) (string, error) {
		f, err := os.Create(outFile)
		if err != nil {
			return "", err
		}
		defer f.Close()
		cmd := exec.Command(bin, append([]string{"--log-format=json", "--log", logFile}, args...)...)
		cmd.Stdout, cmd.Stderr = f, f
		err = cmd.Run()
		out, _ := os.ReadFile(outFile)
		return string(out), err
	}
	t.Cleanup(func() { exec.Command(bin, "delete", "--force", id).Run() })
	if out, err := run("create", "--bundle", b.dir, "--pid-file", filepath.Join(b.dir, "pid"), id); err != nil {
		t.Fatalf("create with the default root: %v: %s", err, out)
	}
	if out, err := run("start", id); err != nil {
		t.Fatalf("start: %v: %s", err, out)
	}
	for i := 0; i < 200; i++ {
		out, _ := exec.Command(bin, "state", id).Output()
		if strings.Contains(string(out), `"stopped"`) {
			break
		}
		sleepMs(10)
	}
	if out, err := run("delete", "--force", id); err != nil {
		t.Fatalf("delete --force after a normal exit: %v: %s", err, out)
	}
	if _, err := os.Stat("/run/berth/" + id); err == nil {
		t.Errorf("state left in the default root")
	}
}
