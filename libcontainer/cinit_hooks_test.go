package libcontainer

import (
	"encoding/json"
	"os/exec"
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"berth/nsenter"
	"berth/rootfs"
)

// TestHookOps: each hook becomes one op with what the parent's hooks.Run
// uses (args defaulting to the path, the environment as os/exec makes it,
// the timeout and its message) and the messages named as hooks.Run names
// them; a startContainer hook without env takes the process's.
func TestHookOps(t *testing.T) {
	five, sixty := 5, 90
	hs := []specs.Hook{
		{Path: "/h0"},
		{Path: "/h1", Args: []string{"x", "-v"}, Env: []string{"A=1", "B=2", "A=3"}, Timeout: &five},
		{Path: "/h \"2\"", Env: []string{}, Timeout: &sixty},
	}
	ops := hookOps("createContainer", nsenter.OpHook, hs, "/b/rootfs", "rootfs: ")
	want := []rootfs.PlanOp{
		{Code: nsenter.OpHook, S: [6]string{"/h0", "/b/rootfs", `rootfs: chdir "/b/rootfs" for the createContainer hooks`, "", `rootfs: createContainer hook [0] "/h0"`, ""},
			V: [][]string{{"/h0"}, {}}},
		{Code: nsenter.OpHook, N: [6]uint64{5}, S: [6]string{"/h1", "/b/rootfs", `rootfs: chdir "/b/rootfs" for the createContainer hooks`, "", `rootfs: createContainer hook [1] "/h1"`, "timed out after 5s"},
			V: [][]string{{"x", "-v"}, {"B=2", "A=3"}}},
		{Code: nsenter.OpHook, N: [6]uint64{90}, S: [6]string{`/h "2"`, "/b/rootfs", `rootfs: chdir "/b/rootfs" for the createContainer hooks`, "", `rootfs: createContainer hook [2] "/h \"2\""`, "timed out after 1m30s"},
			V: [][]string{{`/h "2"`}, {}}},
	}
	if len(ops) != len(want) {
		t.Fatalf("%d ops, want %d", len(ops), len(want))
	}
	for i := range ops {
		if ops[i].Code != want[i].Code || ops[i].N != want[i].N || ops[i].S != want[i].S || len(ops[i].V) != 2 ||
			!slices.Equal(ops[i].V[0], want[i].V[0]) || !slices.Equal(ops[i].V[1], want[i].V[1]) {
			t.Errorf("op %d:\n got %+v\nwant %+v", i, ops[i], want[i])
		}
	}
	starts := hookOps("startContainer", nsenter.OpStartHook, hs, "", "")
	for i, op := range starts {
		if procEnv := op.N[2]&nsenter.BitProcEnv != 0; procEnv != (hs[i].Env == nil) || op.S[1] != "" || op.S[2] != "" {
			t.Errorf("start hook %d: %+v", i, op)
		}
	}
	if starts[0].S[4] != `startContainer hook [0] "/h0"` {
		t.Errorf("start hook name: %q", starts[0].S[4])
	}

	two := []rootfs.PlanOp{ops[0], starts[0], {Code: nsenter.OpMark}}
	if err := setHookStates(two, &CreateOpts{ID: "c1", Bundle: "/b"}, &specs.Spec{Annotations: map[string]string{"k": "v"}}, 77); err != nil {
		t.Fatal(err)
	}
	if two[2].S[3] != "" {
		t.Errorf("a state given to a mark: %+v", two[2])
	}
	for i, status := range []specs.ContainerState{specs.StateCreating, specs.StateCreated} {
		want, _ := json.Marshal(&specs.State{Version: specs.Version, ID: "c1", Status: status, Pid: 77, Bundle: "/b", Annotations: map[string]string{"k": "v"}})
		if got := two[i].S[3]; got != string(want) {
			t.Errorf("state %s: %s, want %s", status, got, want)
		}
	}
}

// TestExecEnv: a hook's environment is what os/exec, which runs the Go
// init's hooks, makes of the spec's.
func TestExecEnv(t *testing.T) {
	for _, env := range [][]string{
		nil, {}, {"A=1"}, {"A=1", "B=2", "A=3"}, {"A=1", "A=2", "A=3"}, {"A=", "A=x", "B=", "C=1=2"},
		{"X=1", "Y=2", "X=3", "Y=4", "Z=5"},
	} {
		cmd := exec.Command("/x")
		cmd.Env = append([]string{}, env...)
		want := cmd.Environ()
		if got := execEnv(env); !slices.Equal(got, want) {
			t.Errorf("execEnv(%q) = %q, os/exec gives %q", env, got, want)
		}
	}
}

// TestCInitPlanNoMountNamespace: without a mount namespace the plan is the
// hooks point, the createContainer hooks and a chroot; no mount, no
// masked path, nothing of PlanFinalize (sysctl is written all the same).
func TestCInitPlanNoMountNamespace(t *testing.T) {
	o, s := planSpec()
	rec, err := cInitPlan(o, s, func() (initFacts, error) { return initFacts{pid: 9}, nil }, 7, 0, -1, initNS{net: true})
	if err != nil {
		t.Fatal(err)
	}
	p, err := nsenter.ParsePlan(rec[4:])
	if err != nil {
		t.Fatal(err)
	}
	var codes []uint32
	for _, op := range p.Ops {
		codes = append(codes, op.Code)
	}
	want := []uint32{nsenter.OpSetsid, nsenter.OpHooks, nsenter.OpHook, nsenter.OpChroot, nsenter.OpLoopback, nsenter.OpHostname,
		nsenter.OpDomainname, nsenter.OpSysctl, nsenter.OpSysctl, nsenter.OpKeyring, nsenter.OpMark, nsenter.OpStartHook, nsenter.OpStartHook}
	if !slices.Equal(codes, want) {
		t.Fatalf("ops %v, want %v", codes, want)
	}
	if ch := p.Ops[3]; ch.S[0] != "/b/rootfs" {
		t.Errorf("chroot: %+v", ch)
	}
	// Not wrapped in "rootfs: ": without a mount namespace there is no rootfs step.
	if h := p.Ops[2]; h.S[4] != `createContainer hook [0] "/hook"` || h.S[1] != "/b/rootfs" || h.N[0] != 3 {
		t.Errorf("createContainer hook: %+v", h)
	}
	var st specs.State
	s1, s2 := p.Ops[len(p.Ops)-2], p.Ops[len(p.Ops)-1]
	if err := json.Unmarshal([]byte(s1.S[3]), &st); err != nil || st.Pid != 9 || st.Status != specs.StateCreated || st.ID != "c1" {
		t.Errorf("startContainer state %q: %v", s1.S[3], err)
	}
	if s1.N[2]&nsenter.BitProcEnv == 0 || s2.N[2]&nsenter.BitProcEnv != 0 || s2.V[1] != nil {
		t.Errorf("start hooks' env: %+v %+v", s1, s2)
	}

	// With a console socket the terminal comes right after the chroot,
	// with nothing bound over /dev/console.
	rec, err = cInitPlan(o, s, func() (initFacts, error) { return initFacts{pid: 9}, nil }, 7, 0, 5, initNS{net: true})
	if err != nil {
		t.Fatal(err)
	}
	if p, err = nsenter.ParsePlan(rec[4:]); err != nil {
		t.Fatal(err)
	}
	if c := p.Ops[4]; p.Ops[3].Code != nsenter.OpChroot || c.Code != nsenter.OpConsole || c.N[0] != 5 || c.S[0] != "/dev/ptmx" || c.S[1] != "" {
		t.Errorf("terminal without a mount namespace: %+v after %+v", c, p.Ops[3])
	}
}
