// Package procattr compiles the spec's per-process kernel attributes
// (process.scheduler, process.ioPriority, process.execCPUAffinity,
// linux.personality, linux.memoryPolicy) into the numbers of one syscall
// each, the phase of the exec it belongs to and the message of its
// failure. The executor (nsenter/cproc.c) makes the calls as given; every
// name, range and list is checked here, so a bad value fails create naming
// the field before any process exists.
package procattr

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The kinds of attribute, the phases of an exec they are made in, and the
// record's bounds: PA_*, PH_* and CX_MAX_ATTR* in nsenter/bootstrap.h
// (nsenter/parse.go checks each pair at compile time).
const (
	KindSched       = iota + 1 // sched_setattr: policy, flags, nice, priority, runtime, deadline, period
	KindIOPrio                 // ioprio_set: the value
	KindAffinity               // sched_setaffinity: the CPU mask
	KindPersonality            // personality: the persona
	KindMemPolicy              // set_mempolicy: mode|flags, maxnode, the node mask
	KindMax
)

const (
	// The initial CPU affinity has no phase: the parent forks the exec's
	// stub from a thread pinned to it (InitialAffinity).
	PhasePrepare = iota + 2 // before the user switch (CAP_SYS_NICE) and seccomp
	PhaseFinal              // just before execve
)

const (
	MaxAttrs     = 8
	MaxAttrWords = 1024
)

// Attr is one process attribute of the exec record (struct proc_attr in
// nsenter/bootstrap.h).
type Attr struct {
	Kind, Phase uint32
	Words       []uint64
	Msg         string
}

// Compile returns the attributes of proc in a container of spec l (nil:
// none of the container-wide ones), in the order they are made within
// each phase. process.execCPUAffinity is for exec'd processes only (the
// spec: not the container's init; the caller leaves it out there): its
// final CPUs are an attribute, its initial ones InitialAffinity's; both
// lists are checked here.
func Compile(l *specs.Linux, proc *specs.Process) ([]Attr, error) {
	var out []Attr
	if proc != nil && proc.ExecCPUAffinity != nil {
		if _, _, err := InitialAffinity(proc); err != nil {
			return nil, err
		}
		if list := proc.ExecCPUAffinity.Final; list != "" {
			field := "process.execCPUAffinity.final"
			mask, err := bitmask(list, maxCPU)
			if err != nil {
				return nil, fmt.Errorf("%s %q: %w", field, list, err)
			}
			out = append(out, Attr{KindAffinity, PhaseFinal, mask, fmt.Sprintf("%s %q: sched_setaffinity", field, list)})
		}
	}
	if proc != nil && proc.Scheduler != nil {
		a, err := scheduler(proc.Scheduler)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	if proc != nil && proc.IOPriority != nil {
		a, err := ioPriority(proc.IOPriority)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	if l != nil && l.Personality != nil {
		a, err := personality(l.Personality)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	if l != nil && l.MemoryPolicy != nil {
		a, err := memoryPolicy(l.MemoryPolicy)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	if len(out) > MaxAttrs {
		return nil, fmt.Errorf("%d process attributes, the exec record holds %d", len(out), MaxAttrs)
	}
	return out, nil
}

// InitialAffinity returns the CPU mask of process.execCPUAffinity.initial
// (nil when none) and the message of its failure. The spec has it hold
// before the process moves to the container's cgroup: the parent forks
// the exec's stub from a thread pinned to it, and joining the cgroup
// (or being born in it) gives the process the cgroup's CPUs from there.
func InitialAffinity(proc *specs.Process) ([]uint64, string, error) {
	if proc == nil || proc.ExecCPUAffinity == nil || proc.ExecCPUAffinity.Initial == "" {
		return nil, "", nil
	}
	field, list := "process.execCPUAffinity.initial", proc.ExecCPUAffinity.Initial
	mask, err := bitmask(list, maxCPU)
	if err != nil {
		return nil, "", fmt.Errorf("%s %q: %w", field, list, err)
	}
	return mask, fmt.Sprintf("%s %q: sched_setaffinity", field, list), nil
}

// maxCPU and maxNode bound the lists: the record carries at most
// nsenter.MaxAttrWords words of mask.
const (
	maxCPU  = 8192
	maxNode = 1024
)

// bitmask parses a Linux list ("0-3,7") into a mask of 64-bit words.
func bitmask(list string, limit int) ([]uint64, error) {
	var words []uint64
	for _, part := range strings.Split(list, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		first, err := strconv.Atoi(lo)
		if err != nil || first < 0 {
			return nil, fmt.Errorf("%q: not a number or a range", part)
		}
		last := first
		if isRange {
			if last, err = strconv.Atoi(hi); err != nil || last < first {
				return nil, fmt.Errorf("%q: not a range low-high", part)
			}
		}
		if last >= limit {
			return nil, fmt.Errorf("%d: beyond %d", last, limit-1)
		}
		for len(words) <= last/64 {
			words = append(words, 0)
		}
		for i := first; i <= last; i++ {
			words[i/64] |= 1 << (i % 64)
		}
	}
	return words, nil
}

// Scheduling policies and flags of sched_setattr(2) (linux/sched.h).
var (
	schedPolicies = map[specs.LinuxSchedulerPolicy]uint64{
		specs.SchedOther: 0, specs.SchedFIFO: 1, specs.SchedRR: 2, specs.SchedBatch: 3,
		specs.SchedIdle: 5, specs.SchedDeadline: 6,
	}
	schedFlags = map[specs.LinuxSchedulerFlag]uint64{
		specs.SchedFlagResetOnFork: 0x01, specs.SchedFlagReclaim: 0x02, specs.SchedFlagDLOverrun: 0x04,
		specs.SchedFlagKeepPolicy: 0x08, specs.SchedFlagKeepParams: 0x10,
		specs.SchedFlagUtilClampMin: 0x20, specs.SchedFlagUtilClampMax: 0x40,
	}
)

func scheduler(s *specs.Scheduler) (Attr, error) {
	policy, ok := schedPolicies[s.Policy]
	if !ok {
		return Attr{}, fmt.Errorf("process.scheduler.policy %q: unknown (want SCHED_OTHER, SCHED_FIFO, SCHED_RR, SCHED_BATCH, SCHED_IDLE or SCHED_DEADLINE)", s.Policy)
	}
	if s.Nice < -20 || s.Nice > 19 {
		return Attr{}, fmt.Errorf("process.scheduler.nice %d: must be within -20..19", s.Nice)
	}
	rt := s.Policy == specs.SchedFIFO || s.Policy == specs.SchedRR
	switch {
	case rt && (s.Priority < 1 || s.Priority > 99):
		return Attr{}, fmt.Errorf("process.scheduler.priority %d: must be within 1..99 for %s", s.Priority, s.Policy)
	case !rt && s.Priority != 0:
		return Attr{}, fmt.Errorf("process.scheduler.priority %d: must be 0 for %s", s.Priority, s.Policy)
	}
	if s.Policy != specs.SchedDeadline && (s.Runtime != 0 || s.Deadline != 0 || s.Period != 0) {
		return Attr{}, fmt.Errorf("process.scheduler: runtime, deadline and period are for SCHED_DEADLINE, not %s", s.Policy)
	}
	var flags uint64
	for i, f := range s.Flags {
		bit, ok := schedFlags[f]
		if !ok {
			return Attr{}, fmt.Errorf("process.scheduler.flags[%d] %q: unknown", i, f)
		}
		flags |= bit
	}
	return Attr{
		Kind:  KindSched,
		Phase: PhasePrepare,
		Words: []uint64{policy, flags, uint64(int64(s.Nice)), uint64(s.Priority), s.Runtime, s.Deadline, s.Period},
		Msg:   fmt.Sprintf("process.scheduler (%s, nice %d, priority %d): sched_setattr", s.Policy, s.Nice, s.Priority),
	}, nil
}

// I/O scheduling classes of ioprio_set(2).
var ioClasses = map[specs.IOPriorityClass]uint64{
	specs.IOPRIO_CLASS_RT: 1, specs.IOPRIO_CLASS_BE: 2, specs.IOPRIO_CLASS_IDLE: 3,
}

func ioPriority(p *specs.LinuxIOPriority) (Attr, error) {
	class, ok := ioClasses[p.Class]
	if !ok {
		return Attr{}, fmt.Errorf("process.ioPriority.class %q: unknown (want IOPRIO_CLASS_RT, IOPRIO_CLASS_BE or IOPRIO_CLASS_IDLE)", p.Class)
	}
	if p.Priority < 0 || p.Priority > 7 {
		return Attr{}, fmt.Errorf("process.ioPriority.priority %d: must be within 0..7", p.Priority)
	}
	return Attr{
		Kind:  KindIOPrio,
		Phase: PhasePrepare,
		Words: []uint64{class<<13 | uint64(p.Priority)},
		Msg:   fmt.Sprintf("process.ioPriority (%s, priority %d): ioprio_set", p.Class, p.Priority),
	}, nil
}

// Execution domains and personality flags (linux/personality.h).
var (
	domains = map[specs.LinuxPersonalityDomain]uint64{specs.PerLinux: 0x0000, specs.PerLinux32: 0x0008}
	// The flags have no constants in runtime-spec; these are the kernel's names.
	personalityFlags = map[specs.LinuxPersonalityFlag]uint64{
		"UNAME26": 0x0020000, "ADDR_NO_RANDOMIZE": 0x0040000, "FDPIC_FUNCPTRS": 0x0080000,
		"MMAP_PAGE_ZERO": 0x0100000, "ADDR_COMPAT_LAYOUT": 0x0200000, "READ_IMPLIES_EXEC": 0x0400000,
		"ADDR_LIMIT_32BIT": 0x0800000, "SHORT_INODE": 0x1000000, "WHOLE_SECONDS": 0x2000000,
		"STICKY_TIMEOUTS": 0x4000000, "ADDR_LIMIT_3GB": 0x8000000,
	}
)

func personality(p *specs.LinuxPersonality) (Attr, error) {
	persona, ok := domains[p.Domain]
	if !ok {
		return Attr{}, fmt.Errorf("linux.personality.domain %q: unknown (want LINUX or LINUX32)", p.Domain)
	}
	for i, f := range p.Flags {
		bit, ok := personalityFlags[f]
		if !ok {
			return Attr{}, fmt.Errorf("linux.personality.flags[%d] %q: unknown", i, f)
		}
		persona |= bit
	}
	return Attr{
		Kind:  KindPersonality,
		Phase: PhasePrepare,
		Words: []uint64{persona},
		Msg:   fmt.Sprintf("linux.personality (%s): personality(%#x)", p.Domain, persona),
	}, nil
}

// Memory policy modes and mode flags of set_mempolicy(2) (linux/mempolicy.h).
var (
	mpolModes = map[specs.MemoryPolicyModeType]uint64{
		specs.MpolDefault: 0, specs.MpolPreferred: 1, specs.MpolBind: 2, specs.MpolInterleave: 3,
		specs.MpolLocal: 4, specs.MpolPreferredMany: 5, specs.MpolWeightedInterleave: 6,
	}
	mpolFlags = map[specs.MemoryPolicyFlagType]uint64{
		specs.MpolFNumaBalancing: 1 << 13, specs.MpolFRelativeNodes: 1 << 14, specs.MpolFStaticNodes: 1 << 15,
	}
)

func memoryPolicy(m *specs.LinuxMemoryPolicy) (Attr, error) {
	mode, ok := mpolModes[m.Mode]
	if !ok {
		return Attr{}, fmt.Errorf("linux.memoryPolicy.mode %q: unknown", m.Mode)
	}
	for i, f := range m.Flags {
		bit, ok := mpolFlags[f]
		if !ok {
			return Attr{}, fmt.Errorf("linux.memoryPolicy.flags[%d] %q: unknown", i, f)
		}
		mode |= bit
	}
	// The spec: no nodes for MPOL_DEFAULT and MPOL_LOCAL, nodes for the
	// modes that place memory on them (MPOL_PREFERRED without is local).
	noNodes := m.Mode == specs.MpolDefault || m.Mode == specs.MpolLocal
	switch {
	case noNodes && m.Nodes != "":
		return Attr{}, fmt.Errorf("linux.memoryPolicy.nodes %q: must be empty for %s", m.Nodes, m.Mode)
	case !noNodes && m.Mode != specs.MpolPreferred && m.Nodes == "":
		return Attr{}, fmt.Errorf("linux.memoryPolicy.nodes: required for %s", m.Mode)
	}
	words := []uint64{mode, 0}
	if m.Nodes != "" {
		mask, err := bitmask(m.Nodes, maxNode)
		if err != nil {
			return Attr{}, fmt.Errorf("linux.memoryPolicy.nodes %q: %w", m.Nodes, err)
		}
		// maxnode counts the mask's bits plus one (the kernel drops one).
		words[1] = uint64(len(mask)*64 + 1)
		words = append(words, mask...)
	}
	return Attr{
		Kind:  KindMemPolicy,
		Phase: PhasePrepare,
		Words: words,
		Msg:   fmt.Sprintf("linux.memoryPolicy (%s, nodes %q): set_mempolicy", m.Mode, m.Nodes),
	}, nil
}

// MemoryPolicyModes and MemoryPolicyFlags list the linux.memoryPolicy
// names berth knows, sorted (`berth features`).
func MemoryPolicyModes() []string { return sortedNames(mpolModes) }

func MemoryPolicyFlags() []string { return sortedNames(mpolFlags) }

func sortedNames[K ~string, V any](m map[K]V) []string {
	var out []string
	for k := range m {
		out = append(out, string(k))
	}
	slices.Sort(out)
	return out
}
