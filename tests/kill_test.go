package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// trapScript is pid 1 of the container: it handles SIGTERM (a pid 1
// without a handler ignores it) and otherwise waits for the host.
const trapScript = `trap 'echo got-term; exit 42' TERM; echo ready; ` + waitForGo

func TestKillDefaultTERM(t *testing.T) { scenarioKillDefaultTERM(t, newRuntime(t)) }

func scenarioKillDefaultTERM(t *testing.T, r *runtime) {
	id, out, wait := r.startAttached(r.shBundle(t, trapScript))
	waitFileContains(t, out.stdout, "ready")
	r.mustRun("kill", id)
	res := wait()
	if res.code != 42 || !strings.Contains(res.stdout, "got-term") {
		t.Fatalf("kill with the default signal must deliver SIGTERM to the trap: %s", res)
	}
}

func TestKillSignalForms(t *testing.T) { scenarioKillSignalForms(t, newRuntime(t)) }

func scenarioKillSignalForms(t *testing.T, r *runtime) {
	for _, tc := range []struct {
		sig  string
		code int
	}{
		{"KILL", 137}, {"SIGKILL", 137}, {"9", 137},
		{"TERM", 42}, {"SIGTERM", 42}, {"15", 42},
	} {
		t.Run(tc.sig, func(t *testing.T) {
			id, out, wait := r.startAttached(r.shBundle(t, trapScript))
			waitFileContains(t, out.stdout, "ready")
			r.mustRun("kill", id, tc.sig)
			if res := wait(); res.code != tc.code {
				t.Fatalf("kill %s: run exited %d, want %d: %s", tc.sig, res.code, tc.code, res)
			}
		})
	}

	t.Run("unknown signal", func(t *testing.T) {
		c := r.create(r.shBundle(t, "true"))
		res := r.run("kill", c.id, "NOSUCHSIG")
		assertErrorLine(t, res, "signal", "NOSUCHSIG")
		if st := r.state(c.id); st.Status != specs.StateCreated {
			t.Fatalf("a rejected kill changed the status to %q", st.Status)
		}
	})

	t.Run("created container", func(t *testing.T) {
		c := r.create(r.shBundle(t, "true"))
		r.mustRun("kill", c.id, "KILL")
		r.waitStatus(c.id, specs.StateStopped)
		r.mustRun("delete", c.id)
	})

	t.Run("stopped container", func(t *testing.T) {
		c := r.create(r.shBundle(t, "true"))
		c.start()
		r.waitStatus(c.id, specs.StateStopped)
		res := r.run("kill", c.id, "KILL")
		assertErrorLine(t, res, "container not running")
	})
}

// TestKillAll: --all reaches every process of the container, not only
// its init.
func TestKillAll(t *testing.T) {
	r := newRuntime(t)
	script := `trap 'echo parent-term' TERM
sh -c 'trap "echo child-term; exit 0" TERM; echo child-ready; while :; do sleep 0.05; done' &
` + waitForGo
	b := newShBundle(t, script)
	id, out, wait := r.startAttached(b)
	waitFileContains(t, out.stdout, "child-ready")
	r.mustRun("kill", "--all", id, "TERM")
	waitFileContains(t, out.stdout, "child-term")
	r.mustRun("kill", "-a", id, "KILL")
	if res := wait(); res.code != 137 {
		t.Fatalf("after kill --all KILL the run exited %d, want 137: %s", res.code, res)
	}
}

// withRunc runs check against the runtime under test and, when runc is
// installed (and is not already the runtime under test), against runc
// too, each as a subtest named after the binary: the expectations are
// runc's behaviour, and runc passing them shows they are.
func withRunc(t *testing.T, check func(t *testing.T, r *runtime)) {
	t.Helper()
	bin := runtimeBin(t)
	t.Run(filepath.Base(bin), func(t *testing.T) { check(t, newRuntime(t)) })
	runc, err := exec.LookPath("runc")
	if err != nil {
		return
	}
	if p, _ := filepath.EvalSymlinks(runc); p == bin || runc == bin {
		return
	}
	t.Run("runc", func(t *testing.T) {
		requireRoot(t)
		root := testDir(t, "runc-root")
		if err := os.Chmod(root, 0o700); err != nil {
			t.Fatal(err)
		}
		check(t, &runtime{t: t, bin: runc, root: root})
	})
}

// stoppedContainer returns a container whose init has exited: run to
// completion, or killed from the host while still created (never
// started).
func stoppedContainer(t *testing.T, r *runtime, started bool) string {
	t.Helper()
	c := r.create(newShBundle(t, "true"))
	if started {
		c.start()
	} else if err := unix.Kill(r.state(c.id).Pid, unix.SIGKILL); err != nil {
		t.Fatalf("kill the created init from the host: %v", err)
	}
	r.waitStatus(c.id, specs.StateStopped)
	return c.id
}

// TestKillStopped: containerd's shim deletes a task whose init exited with
// kill --all ID 9, and takes an error containing "container not running"
// from a plain kill to mean the process is gone. As with runc, --all of a
// stopped container succeeds silently and does nothing; a plain kill
// (signal 0 included) fails with that text.
func TestKillStopped(t *testing.T) {
	withRunc(t, func(t *testing.T, r *runtime) {
		for _, started := range []bool{true, false} {
			name := "exited"
			if !started {
				name = "created then died"
			}
			t.Run(name, func(t *testing.T) {
				id := stoppedContainer(t, r, started)
				for _, args := range [][]string{{"--all", id, "9"}, {"-a", id, "KILL"}, {"-a", id, "0"}, {"--all", id}} {
					res := r.run(append([]string{"kill"}, args...)...)
					if res.code != 0 || res.stdout != "" || res.stderr != "" {
						t.Errorf("kill %s of a stopped container: want exit 0 and no output, got %s", strings.Join(args, " "), res)
					}
				}
				for _, args := range [][]string{{id, "9"}, {id, "KILL"}, {id, "0"}, {id}} {
					res := r.run(append([]string{"kill"}, args...)...)
					assertErrorLine(t, res)
					if !strings.Contains(res.stderr, "container not running") {
						t.Errorf("kill %s of a stopped container: the error must say \"container not running\": %s", strings.Join(args, " "), res)
					}
				}
				if st := r.state(id); st.Status != specs.StateStopped {
					t.Errorf("status after the kills: %q, want stopped", st.Status)
				}
				r.mustRun("delete", id)
			})
		}
	})
}

// TestKillZero: signal 0 delivers nothing and succeeds while the init
// exists, created or running, with or without --all.
func TestKillZero(t *testing.T) {
	withRunc(t, func(t *testing.T, r *runtime) {
		b := newShBundle(t, "echo ready; "+waitForGo)
		c := r.create(b)
		for _, args := range [][]string{{c.id, "0"}, {"--all", c.id, "0"}} {
			if res := r.run(append([]string{"kill"}, args...)...); res.code != 0 || res.stderr != "" {
				t.Errorf("kill %s of a created container: %s", strings.Join(args, " "), res)
			}
		}
		if st := r.state(c.id); st.Status != specs.StateCreated {
			t.Fatalf("after kill 0 the created container is %q", st.Status)
		}
		c.start()
		c.waitOutput("ready")
		for _, args := range [][]string{{c.id, "0"}, {"-a", c.id, "0"}} {
			if res := r.run(append([]string{"kill"}, args...)...); res.code != 0 || res.stderr != "" {
				t.Errorf("kill %s of a running container: %s", strings.Join(args, " "), res)
			}
		}
		if st := r.state(c.id); st.Status != specs.StateRunning {
			t.Fatalf("after kill 0 the running container is %q", st.Status)
		}
		release(t, b)
		r.waitStatus(c.id, specs.StateStopped)
	})
}

// TestKillAllStoppedLeftovers: a container in the host's pid namespace
// can leave processes in its cgroup when its init exits; kill --all of
// the stopped container still reaches them, as with runc (containerd's
// shim relies on it to clean up).
func TestKillAllStoppedLeftovers(t *testing.T) {
	withRunc(t, func(t *testing.T, r *runtime) {
		b := newShBundle(t, "sleep 1000 & echo leftover=$!")
		b.removeNamespace(specs.PIDNamespace)
		c := r.create(b)
		c.start()
		c.waitOutput("leftover=")
		r.waitStatus(c.id, specs.StateStopped)
		_, v, _ := strings.Cut(strings.TrimSpace(c.stdout()), "leftover=")
		pid, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || pid <= 1 {
			t.Fatalf("no leftover pid in %q", c.stdout())
		}
		if err := unix.Kill(pid, 0); err != nil {
			t.Fatalf("the leftover sleep %d is not there: %v", pid, err)
		}
		if res := r.run("kill", "--all", c.id, "KILL"); res.code != 0 || res.stderr != "" {
			t.Fatalf("kill --all of the stopped container: %s", res)
		}
		deadline := time.Now().Add(5 * time.Second)
		for !gone(pid) {
			if time.Now().After(deadline) {
				t.Fatalf("the leftover sleep %d survived kill --all KILL", pid)
			}
			time.Sleep(20 * time.Millisecond)
		}
		r.mustRun("delete", c.id)
	})
}

// gone reports that pid no longer runs (exited, or a zombie waiting for
// its reaper).
func gone(pid int) bool {
	st, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	i := strings.LastIndexByte(string(st), ')')
	return i < 0 || i+2 >= len(st) || st[i+2] == 'Z'
}
