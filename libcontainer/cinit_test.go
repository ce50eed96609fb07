package libcontainer

import (
	"encoding/binary"
	"log/slog"
	"reflect"
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"berth/nsenter"
	"berth/rootfs"
)

// planSpec touches most operations of the C init's plan (no cgroup mount:
// that one depends on the host).
func planSpec() (*CreateOpts, *specs.Spec) {
	umask := uint32(0o027)
	s := &specs.Spec{
		Hostname: "h", Domainname: "d",
		Root: &specs.Root{Path: "rootfs", Readonly: true},
		Process: &specs.Process{
			Args: []string{"sh", "-c", "true"}, Env: []string{"PATH=/bin"}, Cwd: "/", Terminal: true,
			User:    specs.User{UID: 1, GID: 2, Umask: &umask},
			Rlimits: []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 10, Hard: 20}},
		},
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			{Destination: "/data", Type: "bind", Source: "data", Options: []string{"rbind", "ro", "rslave"}},
			{Destination: "/t", Type: "tmpfs", Options: []string{"rro", "size=1m"}},
		},
		Linux: &specs.Linux{
			MaskedPaths:   []string{"/proc/kcore"},
			ReadonlyPaths: []string{"/proc/sys"},
			Devices:       []specs.LinuxDevice{{Path: "/dev/fuse", Type: "c", Major: 10, Minor: 229}},
			Seccomp:       &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{Names: []string{"reboot"}, Action: specs.ActErrno}}},
		},
	}
	return &CreateOpts{ID: "c1", Bundle: "/b", Rootfs: "/b/rootfs"}, s
}

// encodedPlan is cInitPlan of planSpec, without its length word; with
// noPivot, it has this host's proc and sysfs mounts to detach.
func encodedPlan(t testing.TB, noPivot bool) ([]byte, *specs.Spec, *CreateOpts) {
	defer slog.SetDefault(slog.Default())
	slog.SetDefault(slog.New(slog.DiscardHandler))
	o, s := planSpec()
	o.NoPivot = noPivot
	rec, err := cInitPlan(o, s, func() (map[string]string, error) { return nil, nil }, 7, 1, 9, true, false)
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
	t.Run("pivot", func(t *testing.T) { planRoundTrip(t, false) })
	t.Run("no-pivot", func(t *testing.T) { planRoundTrip(t, true) })
}

func planRoundTrip(t *testing.T, noPivot bool) {
	body, s, o := encodedPlan(t, noPivot)
	p, err := nsenter.ParsePlan(body)
	if err != nil {
		t.Fatal(err)
	}
	allowed, lockable := rootfs.PlanHeader()
	if p.FifoFD != 7 || p.Lockable != lockable || !slices.Equal(p.ProcAllowed, allowed) {
		t.Errorf("header: %d %#x %v", p.FifoFD, p.Lockable, p.ProcAllowed)
	}
	setup, err := rootfs.PlanSetup(&rootfs.Config{Spec: s, Rootfs: o.Rootfs, Bundle: o.Bundle, NoPivot: noPivot})
	if err != nil {
		t.Fatal(err)
	}
	var codes []uint32
	for _, op := range p.Ops {
		codes = append(codes, op.Code)
	}
	for _, want := range []uint32{nsenter.OpSetsid, nsenter.OpPrepare, nsenter.OpBind, nsenter.OpHooks, nsenter.OpPivot,
		nsenter.OpLoopback, nsenter.OpHostname, nsenter.OpDomainname, nsenter.OpMask, nsenter.OpReadonly,
		nsenter.OpRootReadonly, nsenter.OpKeyring, nsenter.OpConsole} {
		if !slices.Contains(codes, want) {
			t.Errorf("op %d missing from %v", want, codes)
		}
	}
	// Every host has a /proc outside /b/rootfs.
	if slices.Contains(codes, nsenter.OpDetach) != noPivot {
		t.Errorf("no-pivot %v: ops %v", noPivot, codes)
	}
	// The setup part, op for op.
	for i, want := range setup {
		got := p.Ops[1+i]
		wantProp := want.Prop
		if len(wantProp) == 0 {
			wantProp = nil
		}
		if got.Code != want.Code || got.N != want.N || got.S != want.S || !reflect.DeepEqual(got.Prop, wantProp) {
			t.Errorf("op %d: got %+v, want %+v", i, got, want)
		}
	}
	if x := p.Exec; x == nil || !slices.Equal(x.Args, s.Process.Args) || x.UID != 1 || x.GID != 2 || x.Umask != 0o027 ||
		x.Flags&cxUmask == 0 || len(x.Filters) == 0 || x.Console != ^uint32(0) || x.PreserveFDs != 1 {
		t.Errorf("process: %+v", p.Exec)
	}
}

// FuzzInitPlan: the C parser of the init plan never reads outside its
// buffer (a guard page follows it), whatever the bytes; a cut or extended
// valid plan is refused.
func FuzzInitPlan(f *testing.F) {
	good, _, _ := encodedPlan(f, true)
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
	got := consoleOp(proc, 9, true)
	want := rootfs.PlanOp{Code: nsenter.OpConsole, N: [6]uint64{9, 30, nsenter.BitRelay, 100, 1000, 0},
		S: [6]string{"/dev/ptmx", "/dev/console", "", "", "process.terminal", ""}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("relayed, sized:\n got %+v\nwant %+v", got, want)
	}
	got = consoleOp(&specs.Process{}, 5, false)
	want = rootfs.PlanOp{Code: nsenter.OpConsole, N: [6]uint64{5, 0, 0, 0, 0, 0},
		S: [6]string{"/dev/ptmx", "/dev/console", "", "", "process.terminal", ""}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("console socket, no size:\n got %+v\nwant %+v", got, want)
	}
}

// TestPlanTerminal: a terminal container takes the C init, and its plan
// makes the terminal where the Go init does: right after the pivot (and
// the root's propagation), before loopback, hostname and Finalize; the
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
	plan, err := planNamespaces(s.Linux)
	if err != nil {
		t.Fatal(err)
	}
	if why := cInitReason(o, plan); why != "" {
		t.Fatalf("a terminal container takes the Go init: %s", why)
	}
	o.ConsoleRelay = true
	rec, err := cInitPlan(o, s, func() (map[string]string, error) { return nil, nil }, 7, 0, 11, true, false)
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
			if want := consoleOp(s.Process, 11, true); op.N != want.N || op.S != want.S {
				t.Errorf("console op %+v, want %+v", op, want)
			}
		}
	}
	i := slices.Index(codes, nsenter.OpConsole)
	if i < 2 || codes[i-2] != nsenter.OpPivot || codes[i-1] != nsenter.OpRootPropagation || codes[i+1] != nsenter.OpLoopback {
		t.Errorf("console op at %d of %v: want it right after pivot and propagation, before loopback", i, codes)
	}
	if at < 0 || slices.Index(codes, nsenter.OpMask) < i || slices.Index(codes, nsenter.OpHostname) < i {
		t.Errorf("console op after Finalize or hostname: %v", codes)
	}
	if p.Exec.Console != ^uint32(0) || p.Exec.Flags&nsenter.ExecRelay != 0 {
		t.Errorf("the init's process record has a console: %+v", p.Exec)
	}
	s.Process.Terminal = false
	rec, err = cInitPlan(o, s, func() (map[string]string, error) { return nil, nil }, 7, 0, -1, true, false)
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
		rec, err := cExecRecord(&specs.Spec{}, proc, 0, tc.console, tc.relay)
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
