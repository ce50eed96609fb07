package libcontainer

import (
	"encoding/binary"
	"fmt"
	"log/slog"
	"os"
	"reflect"
	"slices"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	cghost "berth/cgroups/host"
	"berth/libcontainer/lsm"
	"berth/libcontainer/procattr"
	"berth/nsenter"
	"berth/rootfs"
)

// planSpec touches most operations of the C init's plan (no cgroup mount:
// that one depends on the host).
func planSpec() (*CreateOpts, *specs.Spec) {
	umask := uint32(0o027)
	timeout := 3
	s := &specs.Spec{
		Hostname: "h", Domainname: "d",
		Root: &specs.Root{Path: "rootfs", Readonly: true},
		Process: &specs.Process{
			Args: []string{"sh", "-c", "true"}, Env: []string{"PATH=/bin"}, Cwd: "/", Terminal: true,
			User:            specs.User{UID: 1, GID: 2, Umask: &umask},
			Rlimits:         []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 10, Hard: 20}},
			ApparmorProfile: "berth-test", SelinuxLabel: "system_u:system_r:container_t:s0",
			Scheduler:       &specs.Scheduler{Policy: specs.SchedBatch, Nice: 5},
			ExecCPUAffinity: &specs.CPUAffinity{Initial: "0", Final: "1"},
		},
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			{Destination: "/data", Type: "bind", Source: "data", Options: []string{"rbind", "ro", "rslave"}},
			{Destination: "/t", Type: "tmpfs", Options: []string{"rro", "size=1m"}},
			{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue"},
			{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"ro"}},
			{Destination: "/u", Type: "tmpfs", Options: []string{"tmpcopyup", "ro"}},
			{Destination: "/idm", Type: "bind", Source: "/srv", Options: []string{"bind", "idmap"},
				UIDMappings: []specs.LinuxIDMapping{{Size: 1}}, GIDMappings: []specs.LinuxIDMapping{{Size: 1}}},
		},
		Hooks: &specs.Hooks{
			CreateContainer: []specs.Hook{{Path: "/hook", Args: []string{"h", "a b"}, Env: []string{"A=1"}, Timeout: &timeout}},
			StartContainer:  []specs.Hook{{Path: "/s1"}, {Path: "/s2", Env: []string{}}},
		},
		Linux: &specs.Linux{
			Sysctl:        map[string]string{"net.ipv4.ip_forward": "1", "kernel.msgmax": "4321"},
			MountLabel:    "system_u:object_r:container_file_t:s0",
			MaskedPaths:   []string{"/proc/kcore"},
			ReadonlyPaths: []string{"/proc/sys"},
			Devices:       []specs.LinuxDevice{{Path: "/dev/fuse", Type: "c", Major: 10, Minor: 229}},
			Seccomp:       &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{Names: []string{"reboot"}, Action: specs.ActErrno}}},
			Personality:   &specs.LinuxPersonality{Domain: specs.PerLinux32},
		},
	}
	// The idmapped mount's detached mount, as create passes it.
	return &CreateOpts{ID: "c1", Bundle: "/b", Rootfs: "/b/rootfs", idmapFDs: map[int]int{6: 12}}, s
}

// encodedPlan is cInitPlan of planSpec, without its length word; with
// noPivot, it has this host's proc and sysfs mounts to detach; with userNS,
// the fallbacks of a user namespace.
func encodedPlan(t testing.TB, noPivot, userNS bool) ([]byte, *specs.Spec, *CreateOpts) {
	defer slog.SetDefault(slog.Default())
	slog.SetDefault(slog.New(slog.DiscardHandler))
	o, s := planSpec()
	o.NoPivot = noPivot
	// The init's pid stands for itself in the hooks' state and names the
	// mount table the --no-pivot list is read from: this process's.
	rec, err := cInitPlan(o, s, func() (initFacts, error) { return initFacts{pid: os.Getpid()}, nil }, 7, 1, 9, initNS{mount: true, net: true, user: userNS})
	if err != nil {
		t.Fatal(err)
	}
	if n := binary.NativeEndian.Uint32(rec); int(n) != len(rec)-4 {
		t.Fatalf("length word %d, body %d", n, len(rec)-4)
	}
	return rec[4:], s, o
}

// TestPlanRoundTrip: what cInitPlan encodes, the C init's parser reads
// back unchanged: every operation, the header and the process; with
// --no-pivot too.
func TestPlanRoundTrip(t *testing.T) {
	t.Run("pivot", func(t *testing.T) { planRoundTrip(t, false, false) })
	t.Run("no-pivot", func(t *testing.T) { planRoundTrip(t, true, false) })
	t.Run("user namespace", func(t *testing.T) { planRoundTrip(t, false, true) })
}

func planRoundTrip(t *testing.T, noPivot, userNS bool) {
	body, s, o := encodedPlan(t, noPivot, userNS)
	p, err := nsenter.ParsePlan(body)
	if err != nil {
		t.Fatal(err)
	}
	allowed, lockable := rootfs.PlanHeader()
	if p.FifoFD != 7 || p.Lockable != lockable || !slices.Equal(p.ProcAllowed, allowed) {
		t.Errorf("header: %d %#x %v", p.FifoFD, p.Lockable, p.ProcAllowed)
	}
	hooks := hookOps("createContainer", nsenter.OpHook, s.Hooks.CreateContainer, o.Rootfs, "rootfs: ")
	starts := hookOps("startContainer", nsenter.OpStartHook, s.Hooks.StartContainer, "", "")
	all := append(append([]rootfs.PlanOp{}, hooks...), starts...)
	if err := setHookStates(all, o, s, os.Getpid()); err != nil {
		t.Fatal(err)
	}
	hooks, starts = all[:len(hooks)], all[len(hooks):]
	setup, err := rootfs.PlanSetup(&rootfs.Config{Spec: s, Rootfs: o.Rootfs, Bundle: o.Bundle, NoPivot: noPivot, UserNS: userNS, BeforePivotOps: hooks, IdmapFDs: o.idmapFDs})
	if err != nil {
		t.Fatal(err)
	}
	var codes []uint32
	for _, op := range p.Ops {
		codes = append(codes, op.Code)
	}
	for _, want := range []uint32{nsenter.OpSetsid, nsenter.OpPrepare, nsenter.OpMountLabel, nsenter.OpBind, nsenter.OpHooks, nsenter.OpPivot,
		nsenter.OpLoopback, nsenter.OpHostname, nsenter.OpDomainname, nsenter.OpSysctl, nsenter.OpMask, nsenter.OpReadonly,
		nsenter.OpRootReadonly, nsenter.OpKeyring, nsenter.OpConsole, nsenter.OpIdmapFD} {
		if !slices.Contains(codes, want) {
			t.Errorf("op %d missing from %v", want, codes)
		}
	}
	// Every host has a /proc outside /b/rootfs.
	if slices.Contains(codes, nsenter.OpDetach) != noPivot {
		t.Errorf("no-pivot %v: ops %v", noPivot, codes)
	}
	if slices.Contains(codes, nsenter.OpHostBind) != userNS {
		t.Errorf("user namespace %v: ops %v", userNS, codes)
	}
	// The setup part, op for op, and the startContainer hooks at the end.
	same := func(i int, got nsenter.PlanOp, want rootfs.PlanOp) {
		t.Helper()
		wantProp := want.Prop
		if len(wantProp) == 0 {
			wantProp = nil
		}
		var wantV [][]string
		for _, v := range want.V {
			if len(v) == 0 {
				v = nil
			}
			wantV = append(wantV, v)
		}
		if got.Code != want.Code || got.N != want.N || got.S != want.S || !reflect.DeepEqual(got.Prop, wantProp) || !reflect.DeepEqual(got.V, wantV) {
			t.Errorf("op %d: got %+v, want %+v", i, got, want)
		}
	}
	for i, want := range setup {
		same(i, p.Ops[1+i], want)
	}
	for i, want := range starts {
		same(len(p.Ops)-len(starts)+i, p.Ops[len(p.Ops)-len(starts)+i], want)
	}
	if !slices.Contains(codes, nsenter.OpHook) || slices.ContainsFunc(p.Ops[:len(p.Ops)-2], func(op nsenter.PlanOp) bool { return op.Code == nsenter.OpStartHook }) {
		t.Errorf("hooks: ops %v", codes)
	}
	if x := p.Exec; x == nil || !slices.Equal(x.Args, s.Process.Args) || x.UID != 1 || x.GID != 2 || x.Umask != 0o027 ||
		x.Flags&cxUmask == 0 || len(x.Filters) == 0 || x.Console != ^uint32(0) || x.PreserveFDs != 1 {
		t.Errorf("process: %+v", p.Exec)
	}
	var lsms []nsenter.LSMAttr
	for _, w := range lsm.ExecWrites(s.Process) {
		lsms = append(lsms, nsenter.LSMAttr{Dir: w.Dir, Value: w.Value, Quoted: w.Quoted, Test: w.Test,
			TestQuoted: w.TestQuoted, Missing: w.Missing, Field: w.Field})
	}
	if len(lsms) != 2 || !reflect.DeepEqual(p.Exec.LSM, lsms) {
		t.Errorf("LSM attributes: got %+v, want %+v", p.Exec.LSM, lsms)
	}
	// process.execCPUAffinity is for exec'd processes, not the init.
	attrs, err := procattr.Compile(s.Linux, initProcess(s.Process))
	if err != nil {
		t.Fatal(err)
	}
	var want []nsenter.ProcAttr
	for _, a := range attrs {
		want = append(want, nsenter.ProcAttr{Kind: a.Kind, Phase: a.Phase, Words: a.Words, Msg: a.Msg})
	}
	if len(want) != 2 || !reflect.DeepEqual(p.Exec.Attrs, want) {
		t.Errorf("process attributes: got %+v, want %+v", p.Exec.Attrs, want)
	}
}

// TestPlanSysctl: linux.sysctl is compiled into one write each, in name
// order, after the hostname and the domainname and before the masked
// paths (runc's order), with its messages' field and quoted value;
// a name that could leave /proc/sys is refused with the field named before
// anything runs.
func TestPlanSysctl(t *testing.T) {
	body, _, _ := encodedPlan(t, false, false)
	p, err := nsenter.ParsePlan(body)
	if err != nil {
		t.Fatal(err)
	}
	var got []nsenter.PlanOp
	at := map[uint32]int{}
	for i, op := range p.Ops {
		if op.Code == nsenter.OpSysctl {
			got = append(got, op)
		}
		if _, ok := at[op.Code]; !ok {
			at[op.Code] = i
		}
	}
	want := [][6]string{
		{"sys/kernel/msgmax", "4321", `"4321"`, "", `linux.sysctl "kernel.msgmax"`, ""},
		{"sys/net/ipv4/ip_forward", "1", `"1"`, "", `linux.sysctl "net.ipv4.ip_forward"`, ""},
	}
	if len(got) != len(want) {
		t.Fatalf("sysctl ops %+v", got)
	}
	for i := range want {
		if got[i].S != want[i] || got[i].N != [6]uint64{} {
			t.Errorf("sysctl op %d: %+v, want S %q", i, got[i], want[i])
		}
	}
	if !(at[nsenter.OpDomainname] < at[nsenter.OpSysctl] && at[nsenter.OpSysctl] < at[nsenter.OpMask]) {
		t.Errorf("sysctl at op %d, domainname %d, mask %d", at[nsenter.OpSysctl], at[nsenter.OpDomainname], at[nsenter.OpMask])
	}
	for _, bad := range []string{"net/ipv4/ip_forward", "net...x", "kernel..", ""} {
		if _, err := planSysctl(map[string]string{bad: "1"}); err == nil || err.Error() != fmt.Sprintf("linux.sysctl %q: invalid name", bad) {
			t.Errorf("planSysctl(%q): %v", bad, err)
		}
	}
	if ops, err := planSysctl(nil); err != nil || ops != nil {
		t.Errorf("no sysctl: %v, %v", ops, err)
	}
}

// FuzzInitPlan: the C parser of the init plan never reads outside its
// buffer (a guard page follows it), whatever the bytes; a cut or extended
// valid plan is refused.
func FuzzInitPlan(f *testing.F) {
	good, _, _ := encodedPlan(f, true, true)
	f.Add(good, uint16(0), uint8(0))
	f.Add([]byte{}, uint16(0), uint8(0))
	f.Add(good[:len(good)/2], uint16(3), uint8(0xff))
	f.Fuzz(func(t *testing.T, raw []byte, at uint16, b uint8) {
		nsenter.ParsePlan(raw) // must not crash
		if len(good) > 0 {
			m := append([]byte{}, good...)
			m[int(at)%len(m)] ^= b
			nsenter.ParsePlan(m)
		}
		if cut := int(at) % len(good); cut > 0 {
			if _, err := nsenter.ParsePlan(good[:cut]); err == nil {
				t.Fatalf("a plan cut at %d of %d was accepted", cut, len(good))
			}
		}
		if _, err := nsenter.ParsePlan(append(append([]byte{}, good...), b)); err == nil {
			t.Fatalf("a plan with a byte after it was accepted")
		}
	})
}

// TestConsoleOp: the terminal's op carries the console socket, the size,
// the owner and the relay bit, and names the paths the C init opens.
func TestConsoleOp(t *testing.T) {
	proc := &specs.Process{User: specs.User{UID: 1000, GID: 1000}, ConsoleSize: &specs.Box{Height: 30, Width: 100}}
	got := consoleOp(proc, 9, true, true)
	want := rootfs.PlanOp{Code: nsenter.OpConsole, N: [6]uint64{9, 30, nsenter.BitRelay, 100, 1000, 0},
		S: [6]string{"/dev/ptmx", "/dev/console", "", "", "process.terminal", ""}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("relayed, sized:\n got %+v\nwant %+v", got, want)
	}
	got = consoleOp(&specs.Process{}, 5, false, true)
	want = rootfs.PlanOp{Code: nsenter.OpConsole, N: [6]uint64{5, 0, 0, 0, 0, 0},
		S: [6]string{"/dev/ptmx", "/dev/console", "", "", "process.terminal", ""}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("console socket, no size:\n got %+v\nwant %+v", got, want)
	}
	// Without a mount namespace nothing is bound over /dev/console.
	got = consoleOp(&specs.Process{}, 5, false, false)
	want = rootfs.PlanOp{Code: nsenter.OpConsole, N: [6]uint64{5, 0, 0, 0, 0, 0},
		S: [6]string{"/dev/ptmx", "", "", "", "process.terminal", ""}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("no mount namespace:\n got %+v\nwant %+v", got, want)
	}
}

// TestPlanTerminal: a terminal container takes the C init, and its plan
// makes the terminal right after the pivot (and the root's propagation),
// before loopback, hostname and the masked paths; the
// process record then has no console of its own. It survives the round
// trip through the C parser.
func TestPlanTerminal(t *testing.T) {
	defer slog.SetDefault(slog.Default())
	slog.SetDefault(slog.New(slog.DiscardHandler))
	o, s := planSpec()
	s.Process.Terminal = true
	s.Process.ConsoleSize = &specs.Box{Height: 24, Width: 80}
	s.Linux.RootfsPropagation = "rslave"
	s.Linux.Namespaces = []specs.LinuxNamespace{{Type: specs.MountNamespace}, {Type: specs.NetworkNamespace}}
	o.Spec = s
	o.ConsoleRelay = true
	rec, err := cInitPlan(o, s, func() (initFacts, error) { return initFacts{pid: 4242}, nil }, 7, 0, 11, initNS{mount: true, net: true})
	if err != nil {
		t.Fatal(err)
	}
	p, err := nsenter.ParsePlan(rec[4:])
	if err != nil {
		t.Fatal(err)
	}
	var codes []uint32
	at := -1
	for i, op := range p.Ops {
		if op.Code == nsenter.OpMark {
			continue
		}
		codes = append(codes, op.Code)
		if op.Code == nsenter.OpConsole {
			at = i
			if want := consoleOp(s.Process, 11, true, true); op.N != want.N || op.S != want.S {
				t.Errorf("console op %+v, want %+v", op, want)
			}
		}
	}
	i := slices.Index(codes, nsenter.OpConsole)
	if i < 2 || codes[i-2] != nsenter.OpPivot || codes[i-1] != nsenter.OpRootPropagation || codes[i+1] != nsenter.OpLoopback {
		t.Errorf("console op at %d of %v: want it right after pivot and propagation, before loopback", i, codes)
	}
	if at < 0 || slices.Index(codes, nsenter.OpMask) < i || slices.Index(codes, nsenter.OpHostname) < i {
		t.Errorf("console op after the masked paths or hostname: %v", codes)
	}
	if p.Exec.Console != ^uint32(0) || p.Exec.Flags&nsenter.ExecRelay != 0 {
		t.Errorf("the init's process record has a console: %+v", p.Exec)
	}
	s.Process.Terminal = false
	rec, err = cInitPlan(o, s, func() (initFacts, error) { return initFacts{pid: 4242}, nil }, 7, 0, -1, initNS{mount: true, net: true})
	if err != nil {
		t.Fatal(err)
	}
	if p, err = nsenter.ParsePlan(rec[4:]); err != nil {
		t.Fatal(err)
	}
	for _, op := range p.Ops {
		if op.Code == nsenter.OpConsole {
			t.Errorf("a console op without a console socket: %+v", op)
		}
	}
}

// TestExecRecordRelay: the exec record asks the C exec to turn ONLCR off
// only when berth relays a terminal.
func TestExecRecordRelay(t *testing.T) {
	defer slog.SetDefault(slog.Default())
	slog.SetDefault(slog.New(slog.DiscardHandler))
	proc := &specs.Process{Args: []string{"sh"}, Cwd: "/", Terminal: true}
	for _, tc := range []struct {
		console int
		relay   bool
		want    bool
	}{{5, true, true}, {5, false, false}, {-1, true, false}} {
		rec, err := cExecRecord(&specs.Spec{}, proc, 0, tc.console, tc.relay, false)
		if err != nil {
			t.Fatal(err)
		}
		b := binary.NativeEndian.AppendUint32(nil, nsenter.BootstrapExec)
		b = binary.NativeEndian.AppendUint32(b, uint32(len(rec)))
		b = append(b, rec...)
		bs, err := nsenter.ParseBootstrap(b)
		if err != nil {
			t.Fatal(err)
		}
		if got := bs.Exec.Flags&nsenter.ExecRelay != 0; got != tc.want || bs.Exec.Console != uint32(int32(tc.console)) {
			t.Errorf("console %d relay %v: flags %#x console %d", tc.console, tc.relay, bs.Exec.Flags, int32(bs.Exec.Console))
		}
	}
}

// TestPlanHostBindPairs: the C parser takes an OP_HOSTBIND only right after
// the OP_FRESH whose fallback it is (B_HOSTBIND), and such an OP_FRESH only
// with its OP_HOSTBIND after it.
func TestPlanHostBindPairs(t *testing.T) {
	fresh := rootfs.PlanOp{Code: nsenter.OpFresh, N: [6]uint64{2: nsenter.BitHostBind}, S: [6]string{"/sys", "sysfs"}}
	plain := rootfs.PlanOp{Code: nsenter.OpFresh, S: [6]string{"/sys", "sysfs"}}
	host := rootfs.PlanOp{Code: nsenter.OpHostBind, S: [6]string{"/sys"}}
	mark := rootfs.PlanOp{Code: nsenter.OpMark, S: [6]string{"m"}}
	// Another op's n[2] may have the same bit: a device's minor number.
	dev := rootfs.PlanOp{Code: nsenter.OpDevice, N: [6]uint64{2: nsenter.BitHostBind}, S: [6]string{"/dev/x"}}
	for _, tc := range []struct {
		ops []rootfs.PlanOp
		ok  bool
	}{
		{[]rootfs.PlanOp{fresh, host}, true},
		{[]rootfs.PlanOp{mark, fresh, host, mark}, true},
		{[]rootfs.PlanOp{dev, mark}, true},
		{[]rootfs.PlanOp{fresh}, false},
		{[]rootfs.PlanOp{fresh, mark, host}, false},
		{[]rootfs.PlanOp{host}, false},
		{[]rootfs.PlanOp{plain, host}, false},
		{[]rootfs.PlanOp{dev, host}, false},
		{[]rootfs.PlanOp{fresh, host, host}, false},
	} {
		x := &recordWriter{}
		if err := x.process(nil, &specs.Process{Args: []string{"true"}, Cwd: "/"}, 0, -1, false); err != nil {
			t.Fatal(err)
		}
		rec, err := encodePlan(7, tc.ops, x.b)
		if err != nil {
			t.Fatal(err)
		}
		_, err = nsenter.ParsePlan(rec[4:])
		var codes []uint32
		for _, op := range tc.ops {
			codes = append(codes, op.Code)
		}
		if got := err == nil; got != tc.ok {
			t.Errorf("ops %v: parsed %v, want %v", codes, got, tc.ok)
		}
	}
}

// TestCInitPlanAnsweredOnce: the parent answers the plan compiler once
// (initFactsOnce), and a spec with two "cgroup" mounts and hooks, which
// ask three times, still gets its plan (a second receive waited forever).
func TestCInitPlanAnsweredOnce(t *testing.T) {
	defer slog.SetDefault(slog.Default())
	slog.SetDefault(slog.New(slog.DiscardHandler))
	own, err := cghost.HierarchyCgroupsOf(os.Getpid())
	if err != nil {
		t.Skip(err)
	}
	o, s := planSpec()
	s.Mounts = append(s.Mounts,
		specs.Mount{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup"},
		specs.Mount{Destination: "/cg", Type: "cgroup", Source: "cgroup"})
	ch := make(chan initFactsResult, 1)
	ch <- initFactsResult{facts: initFacts{pid: 4242, own: own}}
	done := make(chan error, 1)
	go func() {
		_, err := cInitPlan(o, s, initFactsOnce(ch), 7, 1, -1, initNS{mount: true, net: true})
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("cInitPlan waits for a second answer")
	}
}

// TestInitNSOf: a mount namespace given by path is a joined one, built as
// a new one is (the plan reads its mount facts through the init).
func TestInitNSOf(t *testing.T) {
	l := &specs.Linux{Namespaces: []specs.LinuxNamespace{
		{Type: specs.MountNamespace, Path: "/run/mntns/x"}, {Type: specs.NetworkNamespace}, {Type: specs.UserNamespace, Path: "/proc/1/ns/user"},
	}}
	p, err := planNamespaces(l)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := initNSOf(p), (initNS{joinedMount: true, net: true, user: true}); got != want {
		t.Errorf("joined mount: %+v, want %+v", got, want)
	}
	l.Namespaces[0].Path = ""
	if p, err = planNamespaces(l); err != nil {
		t.Fatal(err)
	}
	if got, want := initNSOf(p), (initNS{mount: true, net: true, user: true}); got != want {
		t.Errorf("new mount: %+v, want %+v", got, want)
	}
}

// TestPlanSeccompListener: a rule with SCMP_ACT_NOTIFY gives the process
// record the listener flag (the executor then sends the listener to the
// parent, SYNC_SECCOMP), on the init's plan and on exec's record, with
// the spec's own flags; without one, no listener. The program returns
// SECCOMP_RET_USER_NOTIF for the notified syscall.
func TestPlanSeccompListener(t *testing.T) {
	defer slog.SetDefault(slog.Default())
	slog.SetDefault(slog.New(slog.DiscardHandler))
	const newListener, logFlag = 1 << 3, 1 << 1 // SECCOMP_FILTER_FLAG_*
	o, s := planSpec()
	s.Linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, ListenerPath: "/run/agent.sock",
		Flags:    []specs.LinuxSeccompFlag{"SECCOMP_FILTER_FLAG_LOG"},
		Syscalls: []specs.LinuxSyscall{{Names: []string{"mkdir"}, Action: specs.ActNotify}}}
	rec, err := cInitPlan(o, s, func() (initFacts, error) { return initFacts{pid: 4242}, nil }, 7, 0, -1, initNS{mount: true})
	if err != nil {
		t.Fatal(err)
	}
	p, err := nsenter.ParsePlan(rec[4:])
	if err != nil {
		t.Fatal(err)
	}
	if p.Exec.SeccompFlags != newListener|logFlag || len(p.Exec.Filters) == 0 {
		t.Errorf("init: seccomp flags %#x (%d bytes of program), want the listener and LOG", p.Exec.SeccompFlags, len(p.Exec.Filters))
	}
	// SECCOMP_RET_USER_NOTIF (0x7fc00000) is in the program, as the k of
	// a return.
	notif := binary.NativeEndian.AppendUint32(binary.NativeEndian.AppendUint16(nil, 0x06), 0) // BPF_RET|BPF_K, jt, jf
	notif = binary.NativeEndian.AppendUint32(notif[:4], 0x7fc00000)
	if !slices.ContainsFunc(chunks(p.Exec.Filters, 8), func(f []byte) bool { return slices.Equal(f, notif) }) {
		t.Errorf("no SECCOMP_RET_USER_NOTIF return in the program")
	}
	x, err := cExecRecord(&specs.Spec{Linux: &specs.Linux{Seccomp: s.Linux.Seccomp}}, s.Process, 0, -1, false, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := binary.NativeEndian.Uint32(x[execSeccompAt(s.Process):]); got != newListener|logFlag {
		t.Errorf("exec: seccomp flags %#x, want the listener and LOG", got)
	}
	s.Linux.Seccomp.Syscalls[0].Action = specs.ActErrno
	if rec, err = cInitPlan(o, s, func() (initFacts, error) { return initFacts{pid: 4242}, nil }, 7, 0, -1, initNS{mount: true}); err != nil {
		t.Fatal(err)
	}
	if p, err = nsenter.ParsePlan(rec[4:]); err != nil {
		t.Fatal(err)
	}
	if p.Exec.SeccompFlags != logFlag {
		t.Errorf("no notify rule: seccomp flags %#x, want LOG alone", p.Exec.SeccompFlags)
	}
}

// chunks cuts b into pieces of n bytes.
func chunks(b []byte, n int) [][]byte {
	var out [][]byte
	for len(b) >= n {
		out, b = append(out, b[:n]), b[n:]
	}
	return out
}

// execSeccompAt is where the seccomp flags sit in proc's exec record: after
// seven u32 (flags, uid, gid, umask, preserve, last cap, group count), the
// groups, five u64 masks and the rlimits (count, 24 bytes each).
func execSeccompAt(proc *specs.Process) int {
	return 7*4 + 4*len(proc.User.AdditionalGids) + 5*8 + 4 + 24*len(proc.Rlimits)
}
