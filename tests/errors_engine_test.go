package tests

import (
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// engineErrCase is one command in one container state, the exit status
// runc gives it, and the text an engine looks for in runc's error (empty
// where no engine reads the words).
type engineErrCase struct {
	state string   // missing, created, running, paused, stopped
	args  []string // "ID" stands for the container's id
	code  int
	want  string
	who   string // which engine matches want, and what it takes it to mean
	moves bool   // the command changes the state: it gets a container of its own
}

// engineErrCases: what the engines match in a runtime's error, found in
// their sources: containerd's runc shim (kill: "container not running",
// "no such process" mean the process is gone, "does not exist" a missing
// container; delete: "does not exist" is ignored), CRI-O (any command:
// "container not running", "no such process" mean not found), podman
// (state: "does not exist"), dockerd (via containerd's message:
// "container does not exist", "not found"). Exit statuses are runc
// 1.1.5's: 1 for a failed command, 255 for a failed exec.
var engineErrCases = []engineErrCase{
	{"missing", []string{"state", "ID"}, 1, "container does not exist", "podman: exited; dockerd: not found", false},
	{"missing", []string{"kill", "ID", "9"}, 1, "does not exist", "containerd shim: no such container", false},
	{"missing", []string{"kill", "--all", "ID", "9"}, 1, "does not exist", "containerd shim: no such container", false},
	{"missing", []string{"delete", "ID"}, 1, "does not exist", "containerd shim: already deleted", false},
	{"missing", []string{"delete", "--force", "ID"}, 0, "", "CRI-O, podman: delete --force of a gone container succeeds", false},
	{"missing", []string{"pause", "ID"}, 1, "container does not exist", "dockerd: not found", false},
	{"missing", []string{"resume", "ID"}, 1, "container does not exist", "dockerd: not found", false},
	{"missing", []string{"ps", "ID"}, 1, "container does not exist", "dockerd: not found", false},
	{"missing", []string{"events", "--stats", "ID"}, 1, "container does not exist", "dockerd: not found", false},
	{"missing", []string{"update", "--pids-limit", "10", "ID"}, 1, "container does not exist", "dockerd: not found", false},
	{"missing", []string{"start", "ID"}, 1, "container does not exist", "dockerd: not found", false},
	{"missing", []string{"exec", "ID", "true"}, 255, "container does not exist", "dockerd: not found", false},

	{"created", []string{"pause", "ID"}, 0, "", "", true},
	{"created", []string{"resume", "ID"}, 1, "container not paused", "", false},
	{"created", []string{"kill", "ID", "0"}, 0, "", "", false},

	{"running", []string{"start", "ID"}, 1, "", "", false},
	{"running", []string{"resume", "ID"}, 1, "container not paused", "", false},
	{"running", []string{"delete", "ID"}, 1, "running", "", false},
	{"running", []string{"kill", "ID", "0"}, 0, "", "", false},
	{"running", []string{"pause", "ID"}, 0, "", "", true},

	{"paused", []string{"pause", "ID"}, 1, "container not running", "CRI-O: not found", false},
	{"paused", []string{"start", "ID"}, 1, "paused", "", false},
	{"paused", []string{"delete", "ID"}, 1, "paused", "", false},
	{"paused", []string{"exec", "ID", "true"}, 255, "paused", "", false},
	{"paused", []string{"kill", "ID", "0"}, 0, "", "", false},
	{"paused", []string{"resume", "ID"}, 0, "", "", true},

	{"stopped", []string{"kill", "ID", "9"}, 1, "container not running", "containerd shim, CRI-O: process already finished", false},
	{"stopped", []string{"kill", "ID", "0"}, 1, "container not running", "containerd shim, CRI-O: process already finished", false},
	{"stopped", []string{"kill", "--all", "ID", "9"}, 0, "", "containerd shim: deleting the task of an exited init", false},
	{"stopped", []string{"pause", "ID"}, 1, "container not running", "CRI-O: not found", false},
	{"stopped", []string{"resume", "ID"}, 1, "container not paused", "", false},
	{"stopped", []string{"update", "--pids-limit", "10", "ID"}, 1, "container not running", "CRI-O: not found", false},
	{"stopped", []string{"events", "--stats", "ID"}, 1, "not running", "", false},
	{"stopped", []string{"ps", "ID"}, 0, "", "", false},
	{"stopped", []string{"start", "ID"}, 1, "stopped", "", false},
	{"stopped", []string{"exec", "ID", "true"}, 255, "stopped", "", false},
	{"stopped", []string{"delete", "ID"}, 0, "", "", true},
}

// containerIn returns the id of a fresh container in the given state.
func containerIn(t *testing.T, r *runtime, state string) string {
	t.Helper()
	switch state {
	case "missing":
		return r.newID()
	case "stopped":
		return stoppedContainer(t, r, true)
	}
	c := r.create(newShBundle(t, waitForGo))
	if state == "created" {
		return c.id
	}
	c.start()
	r.waitStatus(c.id, specs.StateRunning)
	if state == "paused" {
		r.mustRun("pause", c.id)
		r.waitStatus(c.id, "paused")
	}
	return c.id
}

// TestErrEngineTexts: for every command an engine runs, in every state it
// may find the container in, berth exits as runc does, and its one error
// line carries the words the engines look for in runc's.
func TestErrEngineTexts(t *testing.T) {
	withRunc(t, func(t *testing.T, r *runtime) {
		// A failed command changes nothing: the rows of a state share one
		// container, but for those whose success moves it on.
		shared := map[string]string{}
		for _, tc := range engineErrCases {
			name := tc.state + "/" + strings.Join(tc.args, "_")
			t.Run(name, func(t *testing.T) {
				id, ok := shared[tc.state]
				if tc.moves || !ok {
					id = containerIn(t, r, tc.state)
				}
				if !tc.moves {
					shared[tc.state] = id
				}
				args := make([]string, len(tc.args))
				for i, a := range tc.args {
					if a == "ID" {
						a = id
					}
					args[i] = a
				}
				res := r.run(args...)
				if res.code != tc.code {
					t.Errorf("exit status %d, runc's is %d: %s", res.code, tc.code, res)
				}
				if tc.code == 0 {
					if res.stderr != "" {
						t.Errorf("a success with words on stderr: %s", res)
					}
					return
				}
				if tc.want != "" && !strings.Contains(res.stderr, tc.want) {
					who := tc.who
					if who == "" {
						who = "runc's words"
					}
					t.Errorf("the error lacks %q (%s): %s: %q", tc.want, who, res, res.stderr)
				}
				if r.bin == runtimeBin(t) {
					assertErrorLine(t, res)
				}
			})
		}
	})
}
