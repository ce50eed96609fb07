package tests

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// procattrBundle is a bundle that runs testdata/cprog/procattr.c, which
// prints what the kernel says of its own scheduling policy, I/O priority,
// personality, memory policy and CPU affinity.
func procattrBundle(t *testing.T) *bundle {
	t.Helper()
	b := newBundle(t, "/procattr")
	compileStatic(t, "procattr", filepath.Join(b.rootfs, "procattr"))
	return b
}

// procattrLine returns the line of procattr's output that starts with key.
func procattrLine(t *testing.T, out, key string) string {
	t.Helper()
	for _, l := range lines(out) {
		if strings.HasPrefix(l, key) {
			return l
		}
	}
	t.Fatalf("no %q line in:\n%s", key, out)
	return ""
}

// TestProcessAttributes: process.scheduler, process.ioPriority,
// linux.personality and linux.memoryPolicy, read back from inside the
// container with the kernel's getters, for the container's process (the
// C init's) and for `exec`; and a value the kernel refuses fails create
// naming the field and the call.
func TestProcessAttributes(t *testing.T) {
	r := newRuntime(t)
	b := procattrBundle(t)
	b.spec.Process.Scheduler = &specs.Scheduler{Policy: specs.SchedBatch, Nice: 7}
	b.spec.Process.IOPriority = &specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_BE, Priority: 6}
	b.spec.Linux.Personality = &specs.LinuxPersonality{Domain: specs.PerLinux32, Flags: []specs.LinuxPersonalityFlag{"ADDR_NO_RANDOMIZE"}}
	b.spec.Linux.MemoryPolicy = &specs.LinuxMemoryPolicy{Mode: specs.MpolBind, Nodes: "0"}
	log := withLog(t, r)
	out := r.mustRunContainer(b)
	checkInit(t, log())
	check := func(what, out string) {
		t.Helper()
		for key, want := range map[string]string{
			"sched":       "sched policy=3 nice=7 priority=0 ",
			"ioprio":      "ioprio class=2 priority=6",
			"personality": "personality=0x40008",
			"mempolicy":   "mempolicy mode=2 nodes=0x1",
		} {
			if got := procattrLine(t, out, key); !strings.HasPrefix(got, want) {
				t.Errorf("%s: %q, want %q", what, got, want)
			}
		}
	}
	check("run", out)

	t.Run("exec", func(t *testing.T) {
		b := procattrBundle(t)
		b.spec.Process.Args = []string{"sleep", "1000"}
		b.spec.Linux.Personality = &specs.LinuxPersonality{Domain: specs.PerLinux32, Flags: []specs.LinuxPersonalityFlag{"ADDR_NO_RANDOMIZE"}}
		b.spec.Linux.MemoryPolicy = &specs.LinuxMemoryPolicy{Mode: specs.MpolBind, Nodes: "0"}
		c := r.create(b)
		c.start()
		defer r.forceDelete(c.id)
		// The process's own fields come from the process file; the
		// container-wide ones (personality, memory policy) from the spec.
		p := *b.spec.Process
		p.Args = []string{"/procattr"}
		p.Scheduler = &specs.Scheduler{Policy: specs.SchedBatch, Nice: 7}
		p.IOPriority = &specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_BE, Priority: 6}
		check("exec --process", r.mustRun("exec", "--process", writeProcess(t, &p), c.id).stdout)
		// A plain exec has the spec's process attributes.
		if got := procattrLine(t, r.mustRun("exec", c.id, "/procattr").stdout, "sched"); !strings.HasPrefix(got, "sched policy=0 nice=0 ") {
			t.Errorf("exec without scheduler: %q", got)
		}
	})

	t.Run("refused by the kernel", func(t *testing.T) {
		b := procattrBundle(t)
		// SCHED_DEADLINE wants runtime <= deadline <= period.
		b.spec.Process.Scheduler = &specs.Scheduler{Policy: specs.SchedDeadline, Runtime: 30e6, Deadline: 20e6, Period: 10e6}
		before := hostMounts()
		id, res := r.runContainer(b)
		advAssertRefused(t, r, id, before, res, "process.scheduler (SCHED_DEADLINE", "sched_setattr", "invalid argument")
	})
}

// TestProcessExecCPUAffinity: process.execCPUAffinity, which the spec
// keeps for exec'd processes. The container's init runs as it would
// without it; an exec takes config.json's, or its process file's; the
// final CPUs hold for the process, and the initial ones only until it
// moves to the container's cgroup, so they need not be in its cpuset
// (from there the cgroup's CPUs hold, unless final says otherwise).
func TestProcessExecCPUAffinity(t *testing.T) {
	r := newRuntime(t)
	b := procattrBundle(t)
	plain := procattrLine(t, r.mustRunContainer(b), "affinity")
	b.spec.Process.ExecCPUAffinity = &specs.CPUAffinity{Initial: "1", Final: "0"}
	if got := procattrLine(t, r.mustRunContainer(b), "affinity"); got != plain {
		t.Errorf("the init with execCPUAffinity: %q, want %q as without", got, plain)
	}

	b.spec.Process.Args = []string{"sleep", "1000"}
	b.spec.Process.ExecCPUAffinity = &specs.CPUAffinity{Initial: "0", Final: "1"}
	b.spec.Linux.Resources = &specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "1", Mems: "0"}}
	c := r.create(b)
	c.start()
	defer r.forceDelete(c.id)
	if got := procattrLine(t, r.mustRun("exec", c.id, "/procattr").stdout, "affinity"); got != "affinity=1" {
		t.Errorf("exec with config.json's (initial 0 outside the cpuset 1, final 1): %q", got)
	}
	p := *b.spec.Process
	p.Args = []string{"/procattr"}
	p.ExecCPUAffinity = &specs.CPUAffinity{Initial: "0"}
	if got := procattrLine(t, r.mustRun("exec", "--process", writeProcess(t, &p), c.id).stdout, "affinity"); got != "affinity=1" {
		t.Errorf("exec --process, initial 0 only: %q, want the cgroup's CPUs", got)
	}
	p.ExecCPUAffinity = &specs.CPUAffinity{Initial: "1", Final: "0"}
	res := r.run("exec", "--process", writeProcess(t, &p), c.id)
	if res.code == 0 || !strings.Contains(res.stderr, `process.execCPUAffinity.final "0": sched_setaffinity`) {
		t.Errorf("final 0 outside the cpuset 1: want the field named: %s", res)
	}
}

// writeProcess writes p as a process file for exec --process.
func writeProcess(t *testing.T, p *specs.Process) string {
	t.Helper()
	data, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(testDir(t, "proc"), "process.json")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
