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

// TestProcessExecCPUAffinity: process.execCPUAffinity. The initial CPUs
// hold from the first step of the init on (a startContainer hook, which
// the init runs after its setup and before the final affinity, sees
// them); the process itself runs on the final CPUs, or on the initial
// ones when no final is given; exec -p takes the process file's.
func TestProcessExecCPUAffinity(t *testing.T) {
	r := newRuntime(t)
	b := procattrBundle(t)
	b.spec.Process.ExecCPUAffinity = &specs.CPUAffinity{Initial: "1", Final: "0"}
	b.spec.Hooks = &specs.Hooks{StartContainer: []specs.Hook{
		{Path: "/bin/sh", Args: []string{"sh", "-c", "grep Cpus_allowed_list /proc/self/status > /hook-affinity"}},
	}}
	out := r.mustRunContainer(b)
	if got := procattrLine(t, out, "affinity"); got != "affinity=0" {
		t.Errorf("final 0: %q", got)
	}
	hook, err := os.ReadFile(filepath.Join(b.rootfs, "hook-affinity"))
	if err != nil || strings.Join(strings.Fields(string(hook)), " ") != "Cpus_allowed_list: 1" {
		t.Errorf("startContainer hook (initial 1): %q %v", hook, err)
	}

	b.spec.Process.ExecCPUAffinity = &specs.CPUAffinity{Initial: "1"}
	b.spec.Hooks = nil
	if got := procattrLine(t, r.mustRunContainer(b), "affinity"); got != "affinity=1" {
		t.Errorf("initial 1 only: %q", got)
	}

	b.spec.Process.Args = []string{"sleep", "1000"}
	b.spec.Process.ExecCPUAffinity = nil
	c := r.create(b)
	c.start()
	defer r.forceDelete(c.id)
	p := *b.spec.Process
	p.Args = []string{"/procattr"}
	p.ExecCPUAffinity = &specs.CPUAffinity{Initial: "0", Final: "1"}
	if got := procattrLine(t, r.mustRun("exec", "--process", writeProcess(t, &p), c.id).stdout, "affinity"); got != "affinity=1" {
		t.Errorf("exec --process, final 1: %q", got)
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
