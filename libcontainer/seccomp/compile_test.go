package seccomp

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// refEval is the specification, written the slow obvious way: what the
// filter compiled from c must return for d on a goarch host.
func refEval(c *specs.LinuxSeccomp, goarch string, d seccompData) uint32 {
	host := hostABIs[goarch]
	listed := func(id int) bool { return id == host[0] || slices.Contains(c.Architectures, abis[id].arch) }
	id, nr := -1, d.nr
	for _, h := range host {
		if abis[h].audit == d.arch && listed(h) && h != abiX32 {
			id = h
		}
	}
	if id == abiX86_64 && nr >= x32BaseNR && nr < 2*x32BaseNR {
		if !listed(abiX32) {
			return unix.SECCOMP_RET_KILL_PROCESS
		}
		id, nr = abiX32, nr-x32BaseNR
	}
	if id < 0 {
		return unix.SECCOMP_RET_KILL_PROCESS
	}
	a := abis[id]
	ret := func(act specs.LinuxSeccompAction, e *uint) uint32 {
		base := map[specs.LinuxSeccompAction]uint32{
			specs.ActKill: 0, specs.ActKillThread: 0, specs.ActKillProcess: 0x80000000,
			specs.ActTrap: 0x30000, specs.ActErrno: 0x50000, specs.ActTrace: 0x7ff00000,
			specs.ActAllow: 0x7fff0000, specs.ActLog: 0x7ffc0000, specs.ActNotify: 0x7fc00000,
		}[act]
		if act == specs.ActErrno || act == specs.ActTrace {
			if e == nil {
				return base | 1
			}
			return base | uint32(*e)
		}
		return base
	}
	def := ret(c.DefaultAction, c.DefaultErrnoRet)
	private := func(n uint32) bool { return a.private[1] != 0 && n >= a.private[0] && n <= a.private[1] }

	named, known := false, false
	var maxKnown uint32
	var fallback *uint32
	for _, sc := range c.Syscalls {
		match := false
		for _, name := range sc.Names {
			nr32 := nrFor(name, a.col)
			if nr32 < 0 {
				continue
			}
			n := uint32(nr32)
			if !private(n) {
				known = true
				maxKnown = max(maxKnown, n)
			}
			match = match || n == nr
		}
		if !match {
			continue
		}
		named = true
		r := ret(sc.Action, sc.ErrnoRet)
		if len(sc.Args) == 0 {
			if fallback == nil {
				fallback = &r
			}
			continue
		}
		_ = r
	}
	if named {
		// Conditional rules first, in order; then the fallback.
		for _, sc := range c.Syscalls {
			if len(sc.Args) == 0 || !slices.ContainsFunc(sc.Names, func(name string) bool {
				n := nrFor(name, a.col)
				return n >= 0 && uint32(n) == nr
			}) {
				continue
			}
			count := map[uint]int{}
			for _, arg := range sc.Args {
				count[arg.Index]++
			}
			repeated := false
			for _, n := range count {
				repeated = repeated || n > 1
			}
			all := true
			for _, arg := range sc.Args {
				h := holds(arg, d.args[arg.Index], a.bits32)
				if repeated && h {
					return ret(sc.Action, sc.ErrnoRet)
				}
				all = all && h
			}
			if !repeated && all {
				return ret(sc.Action, sc.ErrnoRet)
			}
		}
		if fallback != nil {
			return *fallback
		}
		return def
	}
	stub := known && def != 0x50000|uint32(unix.ENOSYS)
	switch c.DefaultAction {
	case specs.ActAllow, specs.ActLog, specs.ActTrace, specs.ActNotify:
		stub = false
	}
	if stub && nr > maxKnown && !private(nr) {
		return 0x50000 | uint32(unix.ENOSYS)
	}
	return def
}

func holds(c specs.LinuxSeccompArg, arg uint64, bits32 bool) bool {
	v, v2 := c.Value, c.ValueTwo
	if bits32 {
		arg, v, v2 = uint64(uint32(arg)), uint64(uint32(v)), uint64(uint32(v2))
	}
	switch c.Op {
	case specs.OpNotEqual:
		return arg != v
	case specs.OpLessThan:
		return arg < v
	case specs.OpLessEqual:
		return arg <= v
	case specs.OpEqualTo:
		return arg == v
	case specs.OpGreaterEqual:
		return arg >= v
	case specs.OpGreaterThan:
		return arg > v
	case specs.OpMaskedEqual:
		return arg&v == v2
	}
	panic(c.Op)
}

func mustCompile(t testing.TB, c *specs.LinuxSeccomp, goarch string) []unix.SockFilter {
	t.Helper()
	prog, err := compile(c, goarch)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkProgram(prog); err != nil {
		t.Fatalf("invalid program: %v", err)
	}
	return prog
}

// expect runs prog on d and compares with the reference.
func expect(t *testing.T, prog []unix.SockFilter, c *specs.LinuxSeccomp, goarch string, d seccompData) {
	t.Helper()
	got, _, err := runBPF(prog, d)
	if err != nil {
		t.Fatal(err)
	}
	if want := refEval(c, goarch, d); got != want {
		t.Errorf("arch %#x nr %#x args %#x: filter returns %#x, want %#x", d.arch, d.nr, d.args, got, want)
	}
}

// nrFor is the number of a syscall on one ABI, -1 when it has none.
func nrFor(name string, id int) int32 {
	row := lookup(name)
	if row < 0 {
		return -1
	}
	return sysnumTable[row].nr[id]
}

func TestLookup(t *testing.T) {
	for _, c := range []struct {
		name string
		id   int
		nr   int32
	}{
		{"read", abiX86_64, 0}, {"getcwd", abiX86_64, 79}, {"getcwd", abiI386, 183},
		{"ioctl", abiX32, 514}, {"clone3", abiAArch64, 435}, {"set_tls", abiARM, 0x0f0005},
		{"mseal", abiX86_64, 462}, {"open", abiAArch64, -1}, {"_llseek", abiI386, 140},
	} {
		if got := nrFor(c.name, c.id); got != c.nr {
			t.Errorf("%s on ABI %d: %d, want %d", c.name, c.id, got, c.nr)
		}
	}
	if lookup("no_such_syscall") != -1 || lookup("") != -1 || lookup("zzz") != -1 {
		t.Error("unknown name found")
	}
	for i, e := range sysnumTable {
		if lookup(e.name) != i {
			t.Fatalf("lookup(%q) != %d", e.name, i)
		}
	}
	// sysnumByNR: each ABI's rows, every row with a number, in order.
	for id, rows := range sysnumByNR {
		n := 0
		for _, e := range sysnumTable {
			if e.nr[id] >= 0 {
				n++
			}
		}
		if len(rows) != n || !slices.IsSortedFunc(rows, func(a, b uint16) int {
			return int(sysnumTable[a].nr[id] - sysnumTable[b].nr[id])
		}) {
			t.Errorf("sysnumByNR[%d] is not the ABI's rows in number order", id)
		}
	}
	if !slices.IsSortedFunc(sysnumTable[:], func(a, b sysnum) int { return strings.Compare(a.name, b.name) }) {
		t.Error("sysnumTable is not sorted: regenerate it")
	}
}

func TestArchitectures(t *testing.T) {
	getcwd := []specs.LinuxSyscall{{Names: []string{"getcwd"}, Action: specs.ActErrno, ErrnoRet: uptr(uint(unix.EXDEV))}}
	errXdev := unix.SECCOMP_RET_ERRNO | uint32(unix.EXDEV)
	kill := uint32(unix.SECCOMP_RET_KILL_PROCESS)
	allow := uint32(unix.SECCOMP_RET_ALLOW)
	const x86, i386, arm64, arm = unix.AUDIT_ARCH_X86_64, unix.AUDIT_ARCH_I386, unix.AUDIT_ARCH_AARCH64, unix.AUDIT_ARCH_ARM

	cases := []struct {
		goarch string
		archs  []specs.Arch
		arch   uint32
		nr     uint32
		want   uint32
	}{
		// Native only: i386 and x32 are foreign.
		{"amd64", nil, x86, 79, errXdev},
		{"amd64", nil, x86, 39, allow},
		{"amd64", nil, i386, 183, kill},
		{"amd64", nil, x86, x32BaseNR | 79, kill},
		{"amd64", nil, arm64, 17, kill},
		// All three x86 ABIs, each with its own numbers.
		{"amd64", []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32}, i386, 183, errXdev},
		{"amd64", []specs.Arch{specs.ArchX86, specs.ArchX32}, i386, 79, allow}, // 79 is settimeofday on i386
		{"amd64", []specs.Arch{specs.ArchX86, specs.ArchX32}, x86, x32BaseNR | 79, errXdev},
		{"amd64", []specs.Arch{specs.ArchX86, specs.ArchX32}, x86, x32BaseNR | 39, allow},
		{"amd64", []specs.Arch{specs.ArchX32}, i386, 183, kill},
		// Architectures an x86 kernel never presents are ignored.
		{"amd64", []specs.Arch{specs.ArchAARCH64, specs.ArchPPC64LE}, arm64, 17, kill},
		// arm64 host: aarch64 native, arm when listed.
		{"arm64", nil, arm64, 17, errXdev},
		{"arm64", nil, arm, 183, kill},
		{"arm64", []specs.Arch{specs.ArchARM}, arm, 183, errXdev},
		{"arm64", []specs.Arch{specs.ArchARM, specs.ArchX86}, x86, 79, kill},
	}
	for _, c := range cases {
		cfg := &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Architectures: c.archs, Syscalls: getcwd}
		prog := mustCompile(t, cfg, c.goarch)
		d := seccompData{arch: c.arch, nr: c.nr}
		got, _, err := runBPF(prog, d)
		if err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("%s %v: arch %#x nr %#x: got %#x, want %#x", c.goarch, c.archs, c.arch, c.nr, got, c.want)
		}
		if ref := refEval(cfg, c.goarch, d); ref != c.want {
			t.Errorf("reference disagrees with the table: %#x", ref)
		}
	}
}

func TestEnosysStub(t *testing.T) {
	cfg := &specs.LinuxSeccomp{
		DefaultAction: specs.ActErrno,
		Architectures: []specs.Arch{specs.ArchX86, specs.ArchX32},
		Syscalls: []specs.LinuxSyscall{
			{Names: []string{"read", "write", "openat2"}, Action: specs.ActAllow}, // openat2 = 437
			{Names: []string{"ioctl"}, Action: specs.ActAllow},                    // x32: 514, private
			{Names: []string{"epoll_pwait2"}, Action: specs.ActErrno},             // 441, same as default
		},
	}
	eperm := unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)
	enosys := unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)
	allow := uint32(unix.SECCOMP_RET_ALLOW)
	prog := mustCompile(t, cfg, "amd64")
	for _, c := range []struct {
		arch, nr, want uint32
	}{
		{unix.AUDIT_ARCH_X86_64, 0, allow},
		{unix.AUDIT_ARCH_X86_64, 2, eperm},   // open: older than the profile
		{unix.AUDIT_ARCH_X86_64, 441, eperm}, // named with the default action
		{unix.AUDIT_ARCH_X86_64, 440, eperm},
		{unix.AUDIT_ARCH_X86_64, 442, enosys}, // newer than anything named
		{unix.AUDIT_ARCH_X86_64, 470, enosys},
		{unix.AUDIT_ARCH_X86_64, x32BaseNR - 1, enosys},
		{unix.AUDIT_ARCH_X86_64, 0xffffffff, enosys},
		{unix.AUDIT_ARCH_X86_64, x32BaseNR | 514, allow}, // x32 ioctl
		{unix.AUDIT_ARCH_X86_64, x32BaseNR | 515, eperm}, // x32 readv: private block, not "new"
		{unix.AUDIT_ARCH_X86_64, x32BaseNR | 442, enosys},
		{unix.AUDIT_ARCH_X86_64, x32BaseNR | 548, enosys},
		{unix.AUDIT_ARCH_I386, 437, allow},
		{unix.AUDIT_ARCH_I386, 436, eperm},
		{unix.AUDIT_ARCH_I386, 442, enosys},
	} {
		d := seccompData{arch: c.arch, nr: c.nr}
		got, _, _ := runBPF(prog, d)
		if got != c.want {
			t.Errorf("arch %#x nr %#x: got %#x, want %#x", c.arch, c.nr, got, c.want)
		}
		if ref := refEval(cfg, "amd64", d); ref != c.want {
			t.Errorf("reference disagrees at %#x: %#x", c.nr, ref)
		}
	}

	// No stub when the default lets syscalls through or is ENOSYS already.
	for _, def := range []specs.LinuxSeccompAction{specs.ActAllow, specs.ActLog, specs.ActTrace} {
		c2 := *cfg
		c2.DefaultAction = def
		want, _ := retValue(def, nil)
		if got, _, _ := runBPF(mustCompile(t, &c2, "amd64"), seccompData{arch: unix.AUDIT_ARCH_X86_64, nr: 470}); got != want {
			t.Errorf("default %s: new syscall gets %#x, want %#x", def, got, want)
		}
	}
}

func TestRuleOrder(t *testing.T) {
	const ffff = 0xffffffff
	eacces := unix.SECCOMP_RET_ERRNO | uint32(unix.EACCES)
	allow := uint32(unix.SECCOMP_RET_ALLOW)
	for _, order := range []string{"refuse-first", "allow-first"} {
		refuse := specs.LinuxSyscall{Names: []string{"personality"}, Action: specs.ActErrno, ErrnoRet: uptr(uint(unix.EACCES))}
		permit := specs.LinuxSyscall{Names: []string{"personality"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: 0, Value: ffff, Op: specs.OpEqualTo}}}
		scs := []specs.LinuxSyscall{permit, refuse}
		if order == "refuse-first" {
			scs = []specs.LinuxSyscall{refuse, permit}
		}
		cfg := &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: scs}
		prog := mustCompile(t, cfg, "amd64")
		for _, c := range []struct {
			arg  uint64
			want uint32
		}{{ffff, allow}, {0, eacces}, {1<<32 | ffff, eacces}, {ffff << 32, eacces}} {
			d := seccompData{arch: unix.AUDIT_ARCH_X86_64, nr: 135, args: [6]uint64{c.arg}}
			if got, _, _ := runBPF(prog, d); got != c.want {
				t.Errorf("%s: personality(%#x) -> %#x, want %#x", order, c.arg, got, c.want)
			}
		}
	}
}

func TestErrors(t *testing.T) {
	ok := specs.LinuxSyscall{Names: []string{"getcwd"}, Action: specs.ActAllow}
	for _, c := range []struct {
		cfg  *specs.LinuxSeccomp
		want string
	}{
		{nil, "no config"},
		{&specs.LinuxSeccomp{DefaultAction: "SCMP_ACT_NOPE"}, `defaultAction: unknown action "SCMP_ACT_NOPE"`},
		{&specs.LinuxSeccomp{DefaultAction: specs.ActNotify}, "cannot be the default"},
		{&specs.LinuxSeccomp{DefaultAction: specs.ActAllow, DefaultErrnoRet: uptr(1)}, "defaultAction: errnoRet 1 is set but SCMP_ACT_ALLOW takes no errno"},
		{&specs.LinuxSeccomp{DefaultAction: specs.ActErrno, DefaultErrnoRet: uptr(70000)}, "does not fit in 16 bits"},
		{&specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Architectures: []specs.Arch{"SCMP_ARCH_Z80"}}, `architectures[0]: unknown architecture "SCMP_ARCH_Z80"`},
		{&specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{ok, {Action: specs.ActAllow}}}, "syscalls[1].names: empty"},
		{&specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Flags: []specs.LinuxSeccompFlag{"SECCOMP_FILTER_FLAG_NOPE"}}, `linux.seccomp.flags[0]: unknown flag "SECCOMP_FILTER_FLAG_NOPE"`},
		{&specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{{Names: []string{"read"}, Action: specs.ActKill, ErrnoRet: uptr(5)}}}, "syscalls[0] (read): errnoRet 5 is set but SCMP_ACT_KILL takes no errno"},
		{&specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{{Names: []string{"read"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: 6, Op: specs.OpEqualTo}}}}}, "syscalls[0].args[0].index: 6 is not an argument index"},
		{&specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{{Names: []string{"read"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Op: "SCMP_CMP_XOR"}}}}}, `syscalls[0].args[0].op: unknown operator "SCMP_CMP_XOR"`},
	} {
		_, err := compile(c.cfg, "amd64")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got %v, want an error containing %q", err, c.want)
		}
	}
	if _, err := compile(&specs.LinuxSeccomp{DefaultAction: specs.ActAllow}, "riscv64"); err == nil {
		t.Error("riscv64 host accepted")
	}
}

// TestTooLarge: every syscall with six 64-bit comparisons cannot fit, and
// the error says so instead of handing the kernel a program it refuses.
func TestTooLarge(t *testing.T) {
	var args []specs.LinuxSeccompArg
	for i := range uint(6) {
		args = append(args, specs.LinuxSeccompArg{Index: i, Value: 1 << 40, Op: specs.OpLessThan})
	}
	var scs []specs.LinuxSyscall
	for _, e := range sysnumTable {
		scs = append(scs, specs.LinuxSyscall{Names: []string{e.name}, Action: specs.ActAllow, Args: args})
	}
	_, err := compile(&specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: scs}, "amd64")
	if err == nil || !strings.Contains(err.Error(), "the kernel allows 4096") {
		t.Fatalf("got %v", err)
	}
}

// TestLongJumps builds a profile whose argument checks push subtrees past
// the 255-instruction reach of a conditional jump, and checks every
// syscall number against the reference.
func TestLongJumps(t *testing.T) {
	var scs []specs.LinuxSyscall
	for i, e := range sysnumTable {
		if e.nr[abiX86_64] < 0 || i%4 != 0 {
			continue
		}
		scs = append(scs, specs.LinuxSyscall{
			Names: []string{e.name}, Action: specs.ActAllow,
			Args: []specs.LinuxSeccompArg{
				{Index: 0, Value: uint64(i), Op: specs.OpEqualTo},
				{Index: 1, Value: 1 << 33, Op: specs.OpLessThan},
				{Index: 2, Value: 0xf0, ValueTwo: 0x10, Op: specs.OpMaskedEqual},
			},
		})
	}
	cfg := &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Architectures: []specs.Arch{specs.ArchX86}, Syscalls: scs}
	prog := mustCompile(t, cfg, "amd64")
	jas := 0
	for _, in := range prog {
		if in.Code == unix.BPF_JMP|unix.BPF_JA {
			jas++
		}
	}
	if jas == 0 {
		t.Fatalf("%d instructions and no long jump: the test does not exercise them", len(prog))
	}
	t.Logf("%d syscalls with 3 comparisons: %d instructions, %d long jumps", len(scs), len(prog), jas)
	for _, sc := range scs {
		for _, id := range []int{abiX86_64, abiI386} {
			n := nrFor(sc.Names[0], id)
			if n < 0 {
				continue
			}
			for _, args := range [][6]uint64{
				{sc.Args[0].Value, 5, 0x13},
				{sc.Args[0].Value, 1 << 33, 0x13},
				{sc.Args[0].Value + 1, 5, 0x13},
				{sc.Args[0].Value, 5, 0x23},
			} {
				expect(t, prog, cfg, "amd64", seccompData{arch: abis[id].audit, nr: uint32(n), args: args})
			}
		}
	}
}

// TestRandomProfiles compares the compiled filter with the reference on
// random profiles and random syscalls.
func TestRandomProfiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	values := []uint64{0, 1, 2, 0x10, 0x7fffffff, 0xffffffff, 1 << 32, 1<<32 | 1, 0xffffffff_ffffffff, 0x8000_0000_0000_0000}
	pool := []string{"read", "write", "getcwd", "personality", "clone", "socket", "ioctl", "readv",
		"openat", "mkdirat", "getpriority", "mseal", "set_tls", "listns", "_llseek", "no_such_call"}
	actions := KnownActions()
	opNames := KnownOperators()
	hostArchs := map[string][]specs.Arch{
		"amd64": {specs.ArchX86_64, specs.ArchX86, specs.ArchX32, specs.ArchAARCH64},
		"arm64": {specs.ArchAARCH64, specs.ArchARM, specs.ArchX86},
	}
	pick := func(n int) int { return rng.IntN(n) }
	for iter := range 400 {
		goarch := []string{"amd64", "arm64"}[iter%2]
		cfg := &specs.LinuxSeccomp{}
		for _, a := range hostArchs[goarch] {
			if pick(2) == 0 {
				cfg.Architectures = append(cfg.Architectures, a)
			}
		}
		for {
			cfg.DefaultAction = specs.LinuxSeccompAction(actions[pick(len(actions))])
			if cfg.DefaultAction != specs.ActNotify {
				break
			}
		}
		if cfg.DefaultAction == specs.ActErrno && pick(2) == 0 {
			cfg.DefaultErrnoRet = uptr(uint(pick(3) + 37)) // 37, 38 (ENOSYS), 39
		}
		for range pick(12) + 1 {
			sc := specs.LinuxSyscall{Action: specs.LinuxSeccompAction(actions[pick(len(actions))])}
			for range pick(3) + 1 {
				if pick(3) == 0 {
					sc.Names = append(sc.Names, sysnumTable[pick(len(sysnumTable))].name)
				} else {
					sc.Names = append(sc.Names, pool[pick(len(pool))])
				}
			}
			if (sc.Action == specs.ActErrno || sc.Action == specs.ActTrace) && pick(2) == 0 {
				sc.ErrnoRet = uptr(uint(pick(100)))
			}
			for range pick(5) {
				sc.Args = append(sc.Args, specs.LinuxSeccompArg{
					Index:    uint(pick(3)),
					Op:       specs.LinuxSeccompOperator(opNames[pick(len(opNames))]),
					Value:    values[pick(len(values))],
					ValueTwo: values[pick(len(values))],
				})
			}
			cfg.Syscalls = append(cfg.Syscalls, sc)
		}
		prog := mustCompile(t, cfg, goarch)

		// Probe the named numbers, their neighbours, and the far ranges.
		var nrs []uint32
		for _, sc := range cfg.Syscalls {
			for _, name := range sc.Names {
				if row := lookup(name); row >= 0 {
					for _, n := range sysnumTable[row].nr {
						if n >= 0 {
							nrs = append(nrs, uint32(n), uint32(n)+1, uint32(n)-1)
						}
					}
				}
			}
		}
		nrs = append(nrs, 0, 600, 0x0f0005, 0x3fffffff, 0xffffffff, 0x80000000)
		for _, nr := range nrs {
			for _, id := range hostABIs[goarch] {
				for range 3 {
					var args [6]uint64
					for i := range 3 {
						args[i] = values[pick(len(values))]
						if abis[id].bits32 {
							args[i] = uint64(uint32(args[i]))
						}
					}
					n := nr
					if id == abiX32 {
						n |= x32BaseNR
					}
					expect(t, prog, cfg, goarch, seccompData{arch: abis[id].audit, nr: n, args: args})
				}
			}
			expect(t, prog, cfg, goarch, seccompData{arch: unix.AUDIT_ARCH_PPC64LE, nr: nr})
		}
		if t.Failed() {
			t.Fatalf("iteration %d: %+v", iter, cfg)
		}
	}
}

func TestDockerLikeProfile(t *testing.T) {
	cfg := dockerLikeProfile()
	if n := countNames(cfg); n < 350 {
		t.Fatalf("profile has %d names, want at least 350", n)
	}
	prog := mustCompile(t, cfg, "amd64")
	worst := 0
	for _, id := range hostABIs["amd64"] {
		for nr := range uint32(600) {
			d := seccompData{arch: abis[id].audit, nr: nr + abis[id].base, args: [6]uint64{unix.AF_INET}}
			expect(t, prog, cfg, "amd64", d)
			_, steps, _ := runBPF(prog, d)
			worst = max(worst, steps)
		}
	}
	start := time.Now()
	const rounds = 200
	for range rounds {
		if _, err := Compile(cfg); err != nil {
			t.Fatal(err)
		}
	}
	per := time.Since(start) / rounds
	t.Logf("%d names, 3 ABIs: %d instructions, at most %d executed per syscall, Compile %v", countNames(cfg), len(prog), worst, per)
	if per > time.Millisecond {
		t.Errorf("Compile takes %v, want well under 1ms", per)
	}
}

func BenchmarkCompileDockerLike(b *testing.B) {
	cfg := dockerLikeProfile()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile(cfg); err != nil {
			b.Fatal(err)
		}
	}
}
