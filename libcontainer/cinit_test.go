package libcontainer

import (
	"encoding/binary"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"berth/libcontainer/lsm"
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
			Args: []string{"sh", "-c", "true"}, Env: []string{"PATH=/bin"}, Cwd: "/",
			User:            specs.User{UID: 1, GID: 2, Umask: &umask},
			Rlimits:         []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 10, Hard: 20}},
			ApparmorProfile: "berth-test", SelinuxLabel: "system_u:system_r:container_t:s0",
		},
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			{Destination: "/data", Type: "bind", Source: "data", Options: []string{"rbind", "ro", "rslave"}},
			{Destination: "/t", Type: "tmpfs", Options: []string{"rro", "size=1m"}},
			{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue"},
		},
		Linux: &specs.Linux{
			Sysctl:        map[string]string{"net.ipv4.ip_forward": "1", "kernel.msgmax": "4321"},
			MountLabel:    "system_u:object_r:container_file_t:s0",
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
	rec, err := cInitPlan(o, s, func() (map[string]string, error) { return nil, nil }, 7, 1, true, false)
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
	for _, want := range []uint32{nsenter.OpSetsid, nsenter.OpPrepare, nsenter.OpMountLabel, nsenter.OpBind, nsenter.OpHooks, nsenter.OpPivot,
		nsenter.OpLoopback, nsenter.OpHostname, nsenter.OpDomainname, nsenter.OpSysctl, nsenter.OpMask, nsenter.OpReadonly,
		nsenter.OpRootReadonly, nsenter.OpKeyring} {
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
	var lsms []nsenter.LSMAttr
	for _, w := range lsm.ExecWrites(s.Process) {
		lsms = append(lsms, nsenter.LSMAttr{Dir: w.Dir, Value: w.Value, Quoted: w.Quoted, Test: w.Test,
			TestQuoted: w.TestQuoted, Missing: w.Missing, Field: w.Field})
	}
	if len(lsms) != 2 || !reflect.DeepEqual(p.Exec.LSM, lsms) {
		t.Errorf("LSM attributes: got %+v, want %+v", p.Exec.LSM, lsms)
	}
}

// TestPlanSysctl: linux.sysctl is compiled into one write each, in name
// order, after the hostname and the domainname and before the masked
// paths (the Go init's order), with its messages' field and quoted value;
// a name that could leave /proc/sys is refused with the field named before
// anything runs.
func TestPlanSysctl(t *testing.T) {
	body, _, _ := encodedPlan(t, false)
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
