package procattr

import (
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestBitmask(t *testing.T) {
	for _, tc := range []struct {
		list string
		want []uint64
		err  string
	}{
		{"0", []uint64{1}, ""},
		{"0-3,7", []uint64{0x8f}, ""},
		{" 1 , 3", []uint64{0xa}, ""},
		{"64", []uint64{0, 1}, ""},
		{"63-65", []uint64{1 << 63, 3}, ""},
		{"", nil, `"": not a number`},
		{"a", nil, `"a": not a number`},
		{"3-1", nil, `"3-1": not a range`},
		{"-1", nil, `"-1": not a number`},
		{"8192", nil, "8192: beyond 8191"},
	} {
		got, err := bitmask(tc.list, maxCPU)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: error %v, want %q", tc.list, err, tc.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q: %#x %v, want %#x", tc.list, got, err, tc.want)
		}
	}
}

// TestCompile: the numbers, phases and messages the executor gets, in the
// order it makes them.
func TestCompile(t *testing.T) {
	l := &specs.Linux{
		Personality:  &specs.LinuxPersonality{Domain: specs.PerLinux32, Flags: []specs.LinuxPersonalityFlag{"ADDR_NO_RANDOMIZE"}},
		MemoryPolicy: &specs.LinuxMemoryPolicy{Mode: specs.MpolInterleave, Nodes: "0-1", Flags: []specs.MemoryPolicyFlagType{specs.MpolFStaticNodes}},
	}
	p := &specs.Process{
		Scheduler:       &specs.Scheduler{Policy: specs.SchedDeadline, Runtime: 10e6, Deadline: 20e6, Period: 30e6, Flags: []specs.LinuxSchedulerFlag{specs.SchedFlagResetOnFork, specs.SchedFlagReclaim}},
		IOPriority:      &specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_IDLE, Priority: 3},
		ExecCPUAffinity: &specs.CPUAffinity{Initial: "1", Final: "0,2"},
	}
	got, err := Compile(l, p)
	if err != nil {
		t.Fatal(err)
	}
	want := []Attr{
		{KindAffinity, PhaseFinal, []uint64{5}, `process.execCPUAffinity.final "0,2": sched_setaffinity`},
		{KindSched, PhasePrepare, []uint64{6, 3, 0, 0, 10e6, 20e6, 30e6}, "process.scheduler (SCHED_DEADLINE, nice 0, priority 0): sched_setattr"},
		{KindIOPrio, PhasePrepare, []uint64{3<<13 | 3}, "process.ioPriority (IOPRIO_CLASS_IDLE, priority 3): ioprio_set"},
		{KindPersonality, PhasePrepare, []uint64{0x40008}, "linux.personality (LINUX32): personality(0x40008)"},
		{KindMemPolicy, PhasePrepare, []uint64{3 | 1<<15, 65, 3}, `linux.memoryPolicy (MPOL_INTERLEAVE, nodes "0-1"): set_mempolicy`},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	// A negative nice is carried as the int32 the kernel reads back.
	got, err = Compile(nil, &specs.Process{Scheduler: &specs.Scheduler{Policy: specs.SchedOther, Nice: -5}})
	if err != nil || int32(got[0].Words[2]) != -5 {
		t.Errorf("nice -5: %+v %v", got, err)
	}
	// MPOL_PREFERRED without nodes is the local node: no mask.
	got, err = Compile(&specs.Linux{MemoryPolicy: &specs.LinuxMemoryPolicy{Mode: specs.MpolPreferred}}, nil)
	if err != nil || !reflect.DeepEqual(got[0].Words, []uint64{1, 0}) {
		t.Errorf("MPOL_PREFERRED: %+v %v", got, err)
	}
	// The initial CPUs are the parent's to set, before the cgroup.
	if mask, msg, err := InitialAffinity(p); err != nil || !reflect.DeepEqual(mask, []uint64{2}) || msg != `process.execCPUAffinity.initial "1": sched_setaffinity` {
		t.Errorf("initial: %v %q %v", mask, msg, err)
	}
	if _, err := Compile(nil, &specs.Process{ExecCPUAffinity: &specs.CPUAffinity{Initial: "x"}}); err == nil || !strings.HasPrefix(err.Error(), `process.execCPUAffinity.initial "x"`) {
		t.Errorf("initial checked by Compile: %v", err)
	}
	if got, err := Compile(nil, &specs.Process{}); err != nil || got != nil {
		t.Errorf("nothing asked: %+v %v", got, err)
	}
}

func TestCompileErrors(t *testing.T) {
	for _, tc := range []struct {
		l    *specs.Linux
		p    *specs.Process
		want string
	}{
		{nil, &specs.Process{Scheduler: &specs.Scheduler{Policy: specs.SchedOther, Runtime: 1}},
			"process.scheduler: runtime, deadline and period are for SCHED_DEADLINE, not SCHED_OTHER"},
		{nil, &specs.Process{Scheduler: &specs.Scheduler{Policy: specs.SchedBatch, Priority: 1}},
			"process.scheduler.priority 1: must be 0 for SCHED_BATCH"},
		{nil, &specs.Process{Scheduler: &specs.Scheduler{Policy: specs.SchedFIFO, Priority: 100}},
			"process.scheduler.priority 100: must be within 1..99 for SCHED_FIFO"},
		{nil, &specs.Process{Scheduler: &specs.Scheduler{Policy: specs.SchedOther, Flags: []specs.LinuxSchedulerFlag{"X"}}},
			`process.scheduler.flags[0] "X": unknown`},
		{nil, &specs.Process{ExecCPUAffinity: &specs.CPUAffinity{Initial: "0-"}},
			`process.execCPUAffinity.initial "0-": "0-": not a range low-high`},
		{&specs.Linux{MemoryPolicy: &specs.LinuxMemoryPolicy{Mode: specs.MpolDefault, Nodes: "0"}}, nil,
			`linux.memoryPolicy.nodes "0": must be empty for MPOL_DEFAULT`},
		{&specs.Linux{MemoryPolicy: &specs.LinuxMemoryPolicy{Mode: specs.MpolBind, Nodes: "1024"}}, nil,
			`linux.memoryPolicy.nodes "1024": 1024: beyond 1023`},
	} {
		_, err := Compile(tc.l, tc.p)
		if err == nil || err.Error() != tc.want {
			t.Errorf("error %v, want %q", err, tc.want)
		}
	}
}
