package seccomp

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// badArchRet is returned for a syscall from an ABI the config did not list.
// libseccomp defaults to killing the thread; a process issuing foreign-ABI
// syscalls is broken or probing, and killing one thread of it leaves the
// rest running in an undefined state, so berth kills the whole process.
const badArchRet = unix.SECCOMP_RET_KILL_PROCESS

// enosysRet answers syscalls newer than the profile (see the package doc).
const enosysRet = unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)

// Compile builds the classic BPF program for c on the host's architecture.
// It does not touch the kernel; Load installs the result.
func Compile(c *specs.LinuxSeccomp) ([]unix.SockFilter, error) {
	return compile(c, runtime.GOARCH)
}

// cond is one argument comparison.
type cond struct {
	arg       uint8
	op        cmpOp
	val, val2 uint64
}

// rule is one way a syscall can match: all conds hold (none: always).
type rule struct {
	ret   uint32
	conds []cond
}

// ruleRef links the rules naming one syscall (one sysnumTable row), in
// config order: next is the index+1 of the following ref, 0 at the end.
type ruleRef struct {
	rule *rule
	next int32
}

// named collects, per sysnumTable row, the rules naming that syscall.
// Rows are shared by all ABIs, so names are resolved once.
type named struct {
	refs       []ruleRef
	head, tail [len(sysnumTable)]int32 // index+1 into refs; 0: none
}

func (n *named) add(row int, r *rule) {
	n.refs = append(n.refs, ruleRef{rule: r})
	i := int32(len(n.refs))
	if n.tail[row] == 0 {
		n.head[row] = i
	} else {
		n.refs[n.tail[row]-1].next = i
	}
	n.tail[row] = i
}

func compile(c *specs.LinuxSeccomp, goarch string) ([]unix.SockFilter, error) {
	if c == nil {
		return nil, errors.New("seccomp: no config")
	}
	host, ok := hostABIs[goarch]
	if !ok {
		return nil, fmt.Errorf("seccomp: host architecture %s is not supported", goarch)
	}
	defRet, err := retValue(c.DefaultAction, c.DefaultErrnoRet)
	if err != nil {
		return nil, fmt.Errorf("linux.seccomp.defaultAction: %w", err)
	}
	if c.DefaultAction == specs.ActNotify {
		// The init must still run (and send the listener fd) after the
		// filter is in place; with every syscall waiting on a supervisor
		// that has no fd yet, it cannot.
		return nil, errors.New("linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action")
	}

	// The native ABI is always filtered; the others only when listed.
	var enabled [numABIs]bool
	enabled[host[0]] = true
	for i, a := range c.Architectures {
		if !slices.Contains(knownArchs, a) {
			return nil, fmt.Errorf("linux.seccomp.architectures[%d]: unknown architecture %q", i, a)
		}
		for _, id := range host {
			if abis[id].arch == a {
				enabled[id] = true
			}
		}
	}

	// Flags are Load's business, but a bad one is a config error best
	// reported before anything runs.
	if _, err := filterFlags(c); err != nil {
		return nil, err
	}

	rules, err := parseRules(c.Syscalls)
	if err != nil {
		return nil, err
	}

	// Resolve every name once; ABIs that lack a syscall skip it later.
	var nm named
	nm.refs = make([]ruleRef, 0, countRules(c.Syscalls, rules))
	var unknown []string
	for i, sc := range c.Syscalls {
		for _, name := range sc.Names {
			row := lookup(name)
			if row < 0 {
				unknown = append(unknown, name)
				continue
			}
			for _, r := range rules[i] {
				nm.add(row, r)
			}
		}
	}
	if len(unknown) > 0 {
		slog.Debug("seccomp: syscalls unknown on every architecture skipped", "names", unknown)
	}

	stub := wantsEnosysStub(c.DefaultAction, defRet)
	g := gen{defRet: defRet, named: &nm}
	prog := make([]unix.SockFilter, 1, 512)
	prog[0] = loadArch()
	for _, audit := range auditOrder(host, enabled) {
		block := make([]unix.SockFilter, 1, 512)
		block[0] = loadNR()
		rs := make(ranges, 0, 256)
		for _, id := range host {
			if !enabled[id] || abis[id].audit != audit || id == abiX32 {
				continue
			}
			s := g.section(id, stub)
			if id == abiX86_64 {
				// x86_64 and x32 share AUDIT_ARCH_X86_64; bit 30 of the
				// number tells them apart.
				s.fill(&rs, 0, x32BaseNR-1)
				if enabled[abiX32] {
					g.section(abiX32, stub).fill(&rs, x32BaseNR, 2*x32BaseNR-1)
				} else {
					rs.add(x32BaseNR, decision{ret: badArchRet, chain: -1})
				}
				// Above both: numbers no kernel assigns.
				s.fill(&rs, 2*x32BaseNR, 1<<32-1)
			} else {
				s.fill(&rs, 0, 1<<32-1)
			}
		}
		block = g.emitTree(block, rs, 0, len(rs)-1)
		prog = appendGuarded(prog, jmpK(unix.BPF_JEQ, audit, 0, 0), block)
	}
	prog = append(prog, retK(badArchRet))

	if len(prog) > unix.BPF_MAXINSNS {
		return nil, fmt.Errorf("seccomp: the filter needs %d BPF instructions, the kernel allows %d", len(prog), unix.BPF_MAXINSNS)
	}
	return prog, nil
}

func countRules(entries []specs.LinuxSyscall, rules [][]*rule) int {
	n := 0
	for i, sc := range entries {
		n += len(sc.Names) * len(rules[i])
	}
	return n
}

// parseRules validates every syscalls[] entry and turns it into rules.
func parseRules(entries []specs.LinuxSyscall) ([][]*rule, error) {
	out := make([][]*rule, len(entries))
	for i, sc := range entries {
		if len(sc.Names) == 0 {
			return nil, fmt.Errorf("linux.seccomp.syscalls[%d].names: empty", i)
		}
		ret, err := retValue(sc.Action, sc.ErrnoRet)
		if err != nil {
			return nil, fmt.Errorf("linux.seccomp.syscalls[%d] (%s): %w", i, sc.Names[0], err)
		}
		conds := make([]cond, len(sc.Args))
		var seen [6]int
		repeated := false
		for j, a := range sc.Args {
			op, ok := ops[a.Op]
			if !ok {
				return nil, fmt.Errorf("linux.seccomp.syscalls[%d].args[%d].op: unknown operator %q", i, j, a.Op)
			}
			if a.Index >= 6 {
				return nil, fmt.Errorf("linux.seccomp.syscalls[%d].args[%d].index: %d is not an argument index (0..5)", i, j, a.Index)
			}
			seen[a.Index]++
			repeated = repeated || seen[a.Index] > 1
			conds[j] = cond{arg: uint8(a.Index), op: op, val: a.Value, val2: a.ValueTwo}
		}
		if repeated {
			// Two comparisons of the same argument in one entry are ORed,
			// one rule each, as runc does: libseccomp cannot AND them and
			// existing profiles are written for that behaviour.
			for _, cd := range conds {
				out[i] = append(out[i], &rule{ret: ret, conds: []cond{cd}})
			}
			continue
		}
		out[i] = []*rule{{ret: ret, conds: conds}}
	}
	return out, nil
}

// wantsEnosysStub reports whether syscalls newer than the profile get
// -ENOSYS instead of the default action: only when the default refuses
// (errno, kill, trap). An allowing, logging or tracing default already
// lets new syscalls through, or leaves them to the tracer.
func wantsEnosysStub(def specs.LinuxSeccompAction, defRet uint32) bool {
	switch def {
	case specs.ActAllow, specs.ActLog, specs.ActTrace, specs.ActNotify:
		return false
	}
	return defRet != enosysRet
}

// auditOrder lists the AUDIT_ARCH values to dispatch on, native first.
func auditOrder(host []int, enabled [numABIs]bool) []uint32 {
	var out []uint32
	for _, id := range host {
		if enabled[id] && !slices.Contains(out, abis[id].audit) {
			out = append(out, abis[id].audit)
		}
	}
	return out
}

// decision is what the filter does for a range of syscall numbers: return
// ret, or run chains[chain] when chain >= 0.
type decision struct {
	ret   uint32
	chain int32
}

// interval is a run of syscall numbers, from start to the next interval's
// start, sharing one decision.
type interval struct {
	start uint32
	d     decision
}

// ranges covers 0..2^32-1 in increasing order.
type ranges []interval

func (r *ranges) add(start uint32, d decision) {
	if n := len(*r); n > 0 && (*r)[n-1].d == d {
		return
	}
	*r = append(*r, interval{start, d})
}

// gen holds the code shared by all sections of one program.
type gen struct {
	defRet  uint32
	named   *named
	chains  [][]unix.SockFilter
	scratch []*rule
}

// section is one ABI's view: explicit decisions for the syscalls the
// profile names, and the gap rule for the rest.
type section struct {
	a        *abi
	defRet   uint32
	stub     bool
	maxKnown uint32 // highest named number outside a.private, relative to a.base
	explicit []interval
}

func (g *gen) section(id int, stub bool) *section {
	a := &abis[id]
	s := &section{a: a, defRet: g.defRet}
	known := false
	for _, row := range sysnumByNR[id] {
		head := g.named.head[row]
		if head == 0 {
			continue
		}
		nr := uint32(sysnumTable[row].nr[a.col])
		if !s.isPrivate(nr) {
			s.maxKnown = max(s.maxKnown, nr)
			known = true
		}
		s.explicit = append(s.explicit, interval{start: a.base + nr, d: g.decide(head, a.bits32)})
	}
	// Without a single known syscall there is no telling what is new.
	s.stub = stub && known
	return s
}

func (s *section) isPrivate(nr uint32) bool {
	return s.a.private[1] != 0 && nr >= s.a.private[0] && nr <= s.a.private[1]
}

// gapRet is the decision for a number the profile does not name.
func (s *section) gapRet(abs uint32) uint32 {
	nr := abs - s.a.base
	if s.stub && nr > s.maxKnown && !s.isPrivate(nr) {
		return enosysRet
	}
	return s.defRet
}

// fill appends the decisions for lo..hi (absolute numbers, inclusive).
func (s *section) fill(r *ranges, lo, hi uint64) {
	next := lo
	for _, e := range s.explicit {
		at := uint64(e.start)
		if at < lo || at > hi {
			continue
		}
		if at > next {
			s.fillGap(r, next, at-1)
		}
		r.add(e.start, e.d)
		next = at + 1
	}
	if next <= hi {
		s.fillGap(r, next, hi)
	}
}

// fillGap splits lo..hi where gapRet can change: past the highest known
// number and at the edges of the private block.
func (s *section) fillGap(r *ranges, lo, hi uint64) {
	base := uint64(s.a.base)
	cuts := [4]uint64{lo, base + uint64(s.maxKnown) + 1, base + uint64(s.a.private[0]), base + uint64(s.a.private[1]) + 1}
	slices.Sort(cuts[1:])
	for i, c := range cuts {
		if i > 0 && (c <= lo || c > hi) {
			continue
		}
		r.add(uint32(c), decision{ret: s.gapRet(uint32(c)), chain: -1})
	}
}

// decide turns the rules naming one syscall into a decision.
//
// Conditional rules are tried first, in config order, the first match
// winning; then the first unconditional rule, if any, is the syscall's
// fallback; otherwise the default action. Putting unconditional rules last
// means an entry such as "allow personality(0xffffffff)" still applies
// when another entry refuses personality outright, whatever their order,
// which is how libseccomp resolves the same overlap. Rules at the end of
// the list that return the default action are dropped; ones in front of a
// different action are kept, since removing them would change which rule
// matches first.
func (g *gen) decide(head int32, bits32 bool) decision {
	ordered := g.scratch[:0]
	var fallback *rule
	for i := head; i != 0; i = g.named.refs[i-1].next {
		r := g.named.refs[i-1].rule
		switch {
		case len(r.conds) > 0:
			ordered = append(ordered, r)
		case fallback == nil:
			fallback = r
		}
	}
	if fallback != nil {
		ordered = append(ordered, fallback)
	}
	g.scratch = ordered
	for len(ordered) > 0 && ordered[len(ordered)-1].ret == g.defRet {
		ordered = ordered[:len(ordered)-1]
	}
	switch {
	case len(ordered) == 0:
		return decision{ret: g.defRet, chain: -1}
	case len(ordered) == 1 && len(ordered[0].conds) == 0:
		return decision{ret: ordered[0].ret, chain: -1}
	}
	g.chains = append(g.chains, emitChain(nil, ordered, g.defRet, bits32))
	return decision{chain: int32(len(g.chains) - 1)}
}
