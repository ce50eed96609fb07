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

// waitForGo is a container script fragment that blocks until the host
// creates /tmp/go in the rootfs, so the test decides when the workload ends.
const waitForGo = `while [ ! -e /tmp/go ]; do sleep 0.05; done`

func release(t *testing.T, b *bundle) {
	t.Helper()
	writeFile(t, filepath.Join(b.rootfs, "tmp", "go"), "")
}

func TestLifecycle(t *testing.T) {
	r := newRuntime(t)
	b := newShBundle(t, "echo started; "+waitForGo+"; echo finishing")
	b.spec.Annotations = map[string]string{"org.berth.test": "lifecycle"}
	pidFile := filepath.Join(testDir(t, "pid"), "pidfile")
	c := r.create(b, "--pid-file", pidFile)

	st := r.state(c.id)
	if st.Status != specs.StateCreated {
		t.Fatalf("after create: status %q, want created", st.Status)
	}
	if st.ID != c.id || st.Pid <= 0 || st.Version == "" {
		t.Fatalf("after create: bad state %+v", st)
	}
	if st.Bundle != b.dir {
		t.Errorf("state bundle %q, want %q", st.Bundle, b.dir)
	}
	if st.Annotations["org.berth.test"] != "lifecycle" {
		t.Errorf("state annotations %v, want the spec's", st.Annotations)
	}
	var fields map[string]any
	if err := json.Unmarshal([]byte(r.mustRun("state", c.id).stdout), &fields); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"ociVersion", "id", "status", "pid", "bundle"} {
		if _, ok := fields[k]; !ok {
			t.Errorf("state JSON lacks %q: %v", k, fields)
		}
	}
	raw, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("pid file: %v", err)
	}
	if pid, err := strconv.Atoi(strings.TrimSpace(string(raw))); err != nil || pid != st.Pid {
		t.Fatalf("pid file holds %q, state pid is %d", raw, st.Pid)
	}
	if _, err := os.Stat(filepath.Join("/proc", strconv.Itoa(st.Pid))); err != nil {
		t.Fatalf("init process %d is not alive after create: %v", st.Pid, err)
	}
	if strings.Contains(c.stdout(), "started") {
		t.Fatalf("the workload ran before start: %q", c.stdout())
	}

	c.start()
	c.waitOutput("started")
	st = r.state(c.id)
	if st.Status != specs.StateRunning {
		t.Fatalf("after start: status %q, want running", st.Status)
	}

	release(t, b)
	r.waitStatus(c.id, specs.StateStopped)
	if !strings.Contains(c.stdout(), "finishing") {
		t.Errorf("container stdout %q lacks the workload's last line", c.stdout())
	}

	r.mustRun("delete", c.id)
	res := r.run("state", c.id)
	assertErrorLine(t, res, c.id, "not exist", "not found")
	if _, err := os.Stat(filepath.Join(r.root, c.id)); !os.IsNotExist(err) {
		t.Errorf("state directory %s still exists after delete (%v)", filepath.Join(r.root, c.id), err)
	}
	if out := r.mustRun("list", "-q").stdout; strings.Contains(out, c.id) {
		t.Errorf("list -q still shows the deleted container: %q", out)
	}
}

// TestDeleteCreated covers deleting a container that was never started:
// the waiting init must be killed with it.
func TestDeleteCreated(t *testing.T) {
	r := newRuntime(t)
	c := r.create(newBundle(t, "true"))
	pid := r.state(c.id).Pid
	r.mustRun("delete", c.id)
	if res := r.run("state", c.id); res.code == 0 {
		t.Fatalf("state after delete succeeded: %s", res)
	}
	waitGone(t, pid)
}

// waitGone fails unless process pid disappears (or turns into a zombie
// that is not ours to reap) shortly.
func waitGone(t *testing.T, pid int) {
	t.Helper()
	for i := 0; i < 500; i++ {
		data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
		if err != nil {
			return
		}
		if f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:])); len(f) > 0 && f[0] == "Z" {
			return
		}
		sleepMs(10)
	}
	t.Fatalf("process %d still alive", pid)
}

func TestBadTransitions(t *testing.T) {
	r := newRuntime(t)

	t.Run("start twice", func(t *testing.T) {
		b := newShBundle(t, waitForGo)
		c := r.create(b)
		c.start()
		res := r.run("start", c.id)
		assertErrorLine(t, res, "running", "start")
		if st := r.state(c.id); st.Status != specs.StateRunning {
			t.Errorf("a failed second start changed the status to %q", st.Status)
		}
	})

	t.Run("start stopped", func(t *testing.T) {
		c := r.create(newBundle(t, "true"))
		c.start()
		r.waitStatus(c.id, specs.StateStopped)
		res := r.run("start", c.id)
		assertErrorLine(t, res, "stopped")
	})

	t.Run("delete running without force", func(t *testing.T) {
		b := newShBundle(t, waitForGo)
		c := r.create(b)
		c.start()
		res := r.run("delete", c.id)
		assertErrorLine(t, res, "running", "force")
		st := r.state(c.id)
		if st.Status != specs.StateRunning {
			t.Fatalf("refused delete changed the status to %q", st.Status)
		}
		r.mustRun("delete", "--force", c.id)
		waitGone(t, st.Pid)
		if res := r.run("state", c.id); res.code == 0 {
			t.Fatalf("container still exists after delete --force: %s", res)
		}
	})

	t.Run("create existing id", func(t *testing.T) {
		c := r.create(newShBundle(t, waitForGo))
		before := r.state(c.id)
		b2 := newBundle(t, "true")
		b2.write(t)
		res := r.run("create", "--bundle", b2.dir, c.id)
		assertErrorLine(t, res, "exist", c.id)
		after := r.state(c.id)
		if after.Status != specs.StateCreated || after.Pid != before.Pid || after.Bundle != before.Bundle {
			t.Fatalf("failed create with the same id disturbed the first container: %+v -> %+v", before, after)
		}
	})

	for _, cmd := range [][]string{{"state"}, {"start"}, {"kill"}, {"delete"}} {
		t.Run("unknown id "+strings.Join(cmd, " "), func(t *testing.T) {
			id := "bt-nonexistent-" + strconv.Itoa(os.Getpid())
			res := r.run(append(cmd, id)...)
			assertErrorLine(t, res, id, "not exist", "not found")
		})
	}

	// Like runc: forcing the delete of a container that is already gone
	// succeeds, so engines can retry a delete safely.
	t.Run("unknown id delete --force", func(t *testing.T) {
		res := r.run("delete", "--force", "bt-nonexistent-"+strconv.Itoa(os.Getpid()))
		if res.code != 0 {
			t.Fatalf("delete --force of a missing container: %s, want exit 0", res)
		}
	})

	t.Run("invalid id", func(t *testing.T) {
		b := newBundle(t, "true")
		b.write(t)
		res := r.run("create", "--bundle", b.dir, "../escape")
		assertErrorLine(t, res, "id", "invalid")
		if _, err := os.Stat(filepath.Join(filepath.Dir(r.root), "escape")); err == nil {
			t.Fatalf("create with id ../escape wrote outside --root")
		}
	})
}

func TestRunExitStatus(t *testing.T) { scenarioRunExitStatus(t, newRuntime(t)) }

func scenarioRunExitStatus(t *testing.T, r *runtime) {
	for _, tc := range []struct {
		script string
		want   int
	}{
		{"exit 0", 0},
		{"exit 3", 3},
		{"exit 255", 255},
	} {
		_, res := r.runContainer(r.shBundle(t, tc.script))
		if res.code != tc.want {
			t.Errorf("%q: runtime exit %d, want %d (%s)", tc.script, res.code, tc.want, res)
		}
	}
	if _, res := r.runContainer(r.bundle(t, "/bin/does-not-exist")); res.code == 0 {
		t.Errorf("running a missing executable succeeded: %s", res)
	}
}

// TestExitStatus: berth's own failures exit as runc's do, which engines
// rely on: 255 when exec itself fails (an engine tells that from the exec'd
// process's status, passed on as it is, 128+N for a signal), 3 for a
// command that does not exist, 1 for any other failure, usage errors
// included. The same commands run through runc as well.
func TestExitStatus(t *testing.T) {
	for _, rt := range []struct {
		name string
		r    *runtime
	}{{"berth", newRuntime(t)}, {"runc", referenceRuntime(t)}} {
		t.Run(rt.name, func(t *testing.T) {
			r := rt.r
			c := runningSleeper(t, r)
			missing := "bt-nonexistent-" + strconv.Itoa(os.Getpid())
			for _, tc := range []struct {
				args []string
				want int
			}{
				{[]string{"state", missing}, 1},
				{[]string{"state"}, 1},
				{[]string{"--bogus", "list"}, 1},
				{[]string{"list", "--bogus"}, 1},
				{[]string{"kill", missing, "KILL"}, 1},
				{[]string{"run", "--bundle", "/nonexistent", missing}, 1},
				{[]string{"nosuchcommand"}, 3},
				{[]string{"exec"}, 1},
				{[]string{"exec", "--bogus", c.id, "true"}, 1},
				{[]string{"exec", missing, "true"}, 255},
				{[]string{"exec", c.id}, 255},
				{[]string{"exec", c.id, "/no/such/binary"}, 255},
				{[]string{"exec", "-d", c.id, "/no/such/binary"}, 255},
				{[]string{"exec", "--user", "abc", c.id, "true"}, 255},
				{[]string{"exec", c.id, "sh", "-c", "exit 7"}, 7},
				{[]string{"exec", c.id, "sh", "-c", "kill -9 $$"}, 137},
			} {
				if res := r.run(tc.args...); res.code != tc.want {
					t.Errorf("exit status %d, want %d: %s", res.code, tc.want, res)
				}
			}
		})
	}
}

// TestRunKilledBySignal: a container killed by SIGKILL makes `run` exit
// 128+9, and the attached run deletes the container afterwards.
func TestRunKilledBySignal(t *testing.T) { scenarioRunKilledBySignal(t, newRuntime(t)) }

func scenarioRunKilledBySignal(t *testing.T, r *runtime) {
	b := r.shBundle(t, "echo ready; "+waitForGo)
	id, out, wait := r.startAttached(b)
	waitFileContains(t, out.stdout, "ready")
	r.mustRun("kill", id, "KILL")
	res := wait()
	if res.code != 137 {
		t.Fatalf("run of a SIGKILLed container exited %d, want 137: %s", res.code, res)
	}
	if res := r.run("state", id); res.code == 0 {
		t.Fatalf("attached run without --keep left the container behind: %s", res)
	}
}

func TestRunFlags(t *testing.T) {
	r := newRuntime(t)

	t.Run("keep", func(t *testing.T) {
		id, res := r.runContainer(newShBundle(t, "exit 4"), "--keep")
		if res.code != 4 {
			t.Fatalf("run --keep exit %d, want 4: %s", res.code, res)
		}
		if st := r.state(id); st.Status != specs.StateStopped {
			t.Fatalf("run --keep: status %q, want stopped", st.Status)
		}
		r.mustRun("delete", id)
	})

	t.Run("detach", func(t *testing.T) {
		b := newShBundle(t, waitForGo)
		id, res := r.runContainer(b, "--detach")
		if res.code != 0 {
			t.Fatalf("run --detach failed: %s", res)
		}
		if st := r.state(id); st.Status != specs.StateRunning {
			t.Fatalf("run --detach: status %q, want running", st.Status)
		}
		release(t, b)
		r.waitStatus(id, specs.StateStopped)
		r.mustRun("delete", id)
	})

	t.Run("no-pivot", func(t *testing.T) {
		out := r.mustRunContainer(newShBundle(t, "echo no-pivot-ok"), "--no-pivot")
		if !strings.Contains(out, "no-pivot-ok") {
			t.Fatalf("run --no-pivot output %q", out)
		}
	})

	t.Run("no-new-keyring", func(t *testing.T) {
		out := r.mustRunContainer(newShBundle(t, "echo keyring-ok"), "--no-new-keyring")
		if !strings.Contains(out, "keyring-ok") {
			t.Fatalf("run --no-new-keyring output %q", out)
		}
	})

	t.Run("debug", func(t *testing.T) {
		b := newShBundle(t, "echo debug-ok")
		b.write(t)
		logFile := filepath.Join(testDir(t, "log"), "debug.log")
		res := r.run("--debug", "--log", logFile, "run", "--bundle", b.dir, r.newID())
		if res.code != 0 || !strings.Contains(res.stdout, "debug-ok") {
			t.Fatalf("--debug run: %s", res)
		}
		if st, err := os.Stat(logFile); err != nil || st.Size() == 0 {
			t.Errorf("--debug wrote nothing to --log (%v)", err)
		}
	})

	t.Run("pid-file", func(t *testing.T) {
		b := newShBundle(t, "echo $$; "+waitForGo)
		pidFile := filepath.Join(testDir(t, "pid"), "pid")
		id, res := r.runContainer(b, "-d", "--pid-file", pidFile)
		if res.code != 0 {
			t.Fatalf("run -d --pid-file: %s", res)
		}
		raw, err := os.ReadFile(pidFile)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := strings.TrimSpace(string(raw)), strconv.Itoa(r.state(id).Pid); got != want {
			t.Fatalf("pid file %q, state pid %s", got, want)
		}
		release(t, b)
	})
}
