package tests

import (
	"os/exec"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The seccomp listener through the C executor (nsenter/cinit.c, cexec.c),
// held to what the Go init and exec do with the same spec.

// TestCPathSeccompNotify: with SCMP_ACT_NOTIFY the C init (both load
// points: with and without no_new_privs) and the C exec send the listener
// to the parent (SYNC_SECCOMP), which hands it to the agent; the workload
// gets the agent's answers. The Go init and exec do the same.
func TestCPathSeccompNotify(t *testing.T) {
	r := newRuntime(t)
	agent := startNotifyAgent(t)
	for _, goInit := range []bool{false, true} {
		for _, nnp := range []bool{true, false} {
			b := newShBundle(t, "mkdir "+agentErrnoPath+" 2>&1; echo rc=$?")
			b.spec.Process.NoNewPrivileges = nnp
			b.spec.Annotations = map[string]string{"berth.test/notify": "yes"}
			b.spec.Linux.Seccomp = notifyProfile(agent.path, "c-path")
			b.write(t)
			id := r.newID()
			res := r.runCmd(func(cmd *exec.Cmd) { cmd.Env = initEnv(goInit) }, "--debug", "run", "--bundle", b.dir, id)
			if res.code != 0 {
				t.Fatalf("BERTH_INIT_GO=%v nnp=%v: %s", goInit, nnp, res)
			}
			if ranGo := strings.Contains(res.stderr, "create: the Go init runs"); ranGo != goInit {
				t.Errorf("BERTH_INIT_GO=%v nnp=%v: the Go init ran: %v\n%s", goInit, nnp, ranGo, res.stderr)
			}
			h := agent.next()
			if h.state.State.ID != id || h.state.State.Status != specs.StateCreating || h.state.Pid <= 0 || h.state.Pid != h.state.State.Pid {
				t.Errorf("BERTH_INIT_GO=%v nnp=%v: handoff %s", goInit, nnp, h.raw)
			}
			if !strings.Contains(res.stdout, "Invalid cross-device link") || !strings.Contains(res.stdout, "rc=1") {
				t.Errorf("BERTH_INIT_GO=%v nnp=%v: mkdir did not get the agent's EXDEV: %s", goInit, nnp, res)
			}
		}
	}

	b := newBundle(t, "sleep", "1000")
	b.spec.Annotations = map[string]string{"berth.test/notify": "yes"}
	b.spec.Linux.Seccomp = notifyProfile(agent.path, "c-exec")
	c := r.create(b)
	defer r.run("delete", "-f", c.id)
	agent.next()
	c.start()
	for _, goExec := range []bool{false, true} {
		res := r.runCmd(func(cmd *exec.Cmd) { cmd.Env = execPathEnv(goExec) }, "--debug", "exec", c.id, "sh", "-c", "mkdir "+agentErrnoPath+" 2>&1; echo rc=$?")
		if res.code != 0 {
			t.Fatalf("BERTH_EXEC_GO=%v: %s", goExec, res)
		}
		if ranGo := strings.Contains(res.stderr, "exec: the Go exec runs"); ranGo != goExec {
			t.Errorf("BERTH_EXEC_GO=%v: the Go exec ran: %v\n%s", goExec, ranGo, res.stderr)
		}
		h := agent.next()
		if h.state.State.ID != c.id || h.state.State.Status != specs.StateRunning || h.state.Pid == h.state.State.Pid {
			t.Errorf("BERTH_EXEC_GO=%v: handoff %s", goExec, h.raw)
		}
		if !strings.Contains(res.stdout, "Invalid cross-device link") || !strings.Contains(res.stdout, "rc=1") {
			t.Errorf("BERTH_EXEC_GO=%v: mkdir did not get the agent's EXDEV: %s", goExec, res)
		}
	}
}
