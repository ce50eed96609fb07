package libcontainer

import (
	"bytes"
	"encoding/binary"
	"log/slog"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"berth/libcontainer/caps"
	"berth/libcontainer/lsm"
	"berth/libcontainer/procattr"
	"berth/nsenter"
)

// nsNames and allNSFlags are the namespace types the encoder knows, in a
// fixed order so a fuzzed byte can pick one.
var nsNames, allNSFlags = func() ([]string, uint32) {
	var names []string
	var all uint32
	for _, f := range nsFlags {
		names = append(names, f.name)
		all |= uint32(f.flag)
	}
	slices.Sort(names)
	return names, all
}()

func flagOf(name string) uint32 {
	for _, f := range nsFlags {
		if f.name == name {
			return uint32(f.flag)
		}
	}
	return 0
}

// record appends one bootstrap record to b.
func record(b []byte, typ uint32, payload []byte) []byte {
	b = binary.NativeEndian.AppendUint32(b, typ)
	b = binary.NativeEndian.AppendUint32(b, uint32(len(payload)))
	return append(b, payload...)
}

// body strips and checks the encoder's length word.
func body(t *testing.T, msg []byte) []byte {
	t.Helper()
	if len(msg) < 4 || int(binary.NativeEndian.Uint32(msg)) != len(msg)-4 {
		t.Fatalf("encoder's length word does not match its %d-byte message", len(msg))
	}
	return msg[4:]
}

// errorClass maps the parser's messages to distinct branches: the C parser
// is not instrumented, so this is how the fuzzer tells its outcomes apart.
func errorClass(msg string) int {
	switch {
	case strings.HasPrefix(msg, "truncated record header"):
		return 1
	case strings.Contains(msg, "overruns the message"):
		return 2
	case strings.Contains(msg, "repeated"):
		return 3
	case strings.HasPrefix(msg, "bad clone flags record"):
		return 4
	case strings.Contains(msg, "are not namespaces"):
		return 5
	case strings.Contains(msg, "not NUL-terminated"):
		return 6
	case msg == "empty namespace entry":
		return 7
	case strings.HasPrefix(msg, "malformed namespace entry"):
		return 8
	case strings.HasPrefix(msg, "unknown namespace type"):
		return 9
	case strings.HasPrefix(msg, "empty path"):
		return 10
	case strings.Contains(msg, "joined twice"):
		return 11
	case strings.Contains(msg, "both joined and created"):
		return 12
	case strings.HasPrefix(msg, "unknown bootstrap record"):
		return 13
	case strings.Contains(msg, "too large"):
		return 14
	case msg == "too many namespaces to join":
		return 15
	case msg == "malformed exec record":
		return 16
	case msg == "bad cgroup join record":
		return 17
	case strings.HasPrefix(msg, "bad init record"):
		return 18
	case msg == "exec and init records both given":
		return 19
	case strings.HasPrefix(msg, "bad root fd"):
		return 20
	}
	return 0
}

// checkParsed asserts what the stub relies on in anything the parser accepts.
func checkParsed(t *testing.T, b *nsenter.Bootstrap) {
	t.Helper()
	if b.CloneFlags&^allNSFlags != 0 {
		t.Fatalf("accepted clone flags %#x with non-namespace bits", b.CloneFlags)
	}
	var joined uint32
	for _, j := range b.Join {
		typ, path, ok := strings.Cut(j, ":")
		f := flagOf(typ)
		if !ok || f == 0 || path == "" {
			t.Fatalf("accepted namespace entry %q", j)
		}
		if joined&f != 0 || b.CloneFlags&f != 0 {
			t.Fatalf("accepted %s namespace twice: joins %q, clone flags %#x", typ, b.Join, b.CloneFlags)
		}
		joined |= f
	}
}

// same compares what the stub parsed with the plan that was sent.
func same(b *nsenter.Bootstrap, p *nsPlan) bool {
	rootFD := -1
	if p.rootFD != 0 {
		rootFD = p.rootFD
	}
	return b.CloneFlags == p.cloneFlags && slices.Equal(b.Join, p.join) && string(b.Timens) == p.timens &&
		bytes.Equal(b.ExecRecord, p.exec) && b.RootFD == rootFD
}

// FuzzBootstrapParse runs nsenter.c's parser (through nsenter.ParseBootstrap)
// on arbitrary bytes, and on messages the Go encoder builds from fuzzed
// plans. Arbitrary bytes must be parsed or refused without a crash or an
// over-read (the buffer ends at a guard page); whatever is accepted must be
// well-formed and survive re-encoding; every plan the encoder can send must
// come back unchanged.
func FuzzBootstrapParse(f *testing.F) {
	ne := func(s ...string) []byte {
		var b []byte
		for _, x := range s {
			b = append(append(b, x...), 0)
		}
		return b
	}
	u32 := func(v uint32) []byte { return binary.NativeEndian.AppendUint32(nil, v) }
	hostNs := "/proc/1/ns/"
	for _, raw := range [][]byte{
		nil,
		record(nil, nsenter.BootstrapCloneFlags, u32(0x7e020000|0x80)),
		record(record(nil, nsenter.BootstrapCloneFlags, u32(0)), nsenter.BootstrapNsPaths,
			ne("user:"+hostNs+"user", "network:"+hostNs+"net")),
		record(record(nil, nsenter.BootstrapCloneFlags, u32(0x80)), nsenter.BootstrapTimens, []byte("monotonic 1 0\n")),
		record(nil, nsenter.BootstrapNsPaths, []byte("mount:/x")), // last entry unterminated
		record(nil, nsenter.BootstrapNsPaths, ne("mount:/x", "", "pid:/y")),
		record(nil, nsenter.BootstrapNsPaths, ne("mount:/x", "mount:/y")),
		record(nil, nsenter.BootstrapNsPaths, ne("bogus:/x")),
		record(nil, nsenter.BootstrapNsPaths, ne("pid:")),
		append(record(nil, nsenter.BootstrapCloneFlags, u32(0)), 1, 2, 3),
		record(nil, nsenter.BootstrapCloneFlags, u32(0x100)), // CLONE_VM
		record(nil, 99, nil),
		{1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff},
	} {
		f.Add(raw, uint32(0), "", "")
	}
	// Plans the way create and exec make them.
	create, err := planNamespaces(&specs.Linux{
		Namespaces: []specs.LinuxNamespace{
			{Type: specs.PIDNamespace}, {Type: specs.MountNamespace}, {Type: specs.TimeNamespace},
			{Type: specs.NetworkNamespace, Path: "/var/run/netns/x"}, {Type: specs.UserNamespace, Path: "/proc/7/ns/user"},
		},
		TimeOffsets: map[string]specs.LinuxTimeOffset{"monotonic": {Secs: -5}, "boottime": {Secs: 7, Nanosecs: 9}},
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(create.encode()[4:], create.cloneFlags, "\x03/var/run/netns/x\n\x06/proc/7/ns/user", create.timens)
	f.Add([]byte(nil), uint32(0), "\x00/proc/9/ns/cgroup\n\x01/proc/9/ns/ipc\n\x02/proc/9/ns/mnt\n\x04/proc/9/ns/pid", "")
	noMount := &nsPlan{join: []string{"pid:/proc/9/ns/pid", "uts:/proc/9/ns/uts"}, rootFD: 5}
	f.Add(noMount.encode()[4:], uint32(0), "", "")

	f.Fuzz(func(t *testing.T, raw []byte, flags uint32, joins, timens string) {
		// Arbitrary bytes.
		b, err := nsenter.ParseBootstrap(raw)
		if err != nil {
			if errorClass(err.Error()) == 0 {
				t.Fatalf("unexpected parser error %q", err)
			}
		} else {
			checkParsed(t, b)
			again := &nsPlan{cloneFlags: b.CloneFlags, join: b.Join, timens: string(b.Timens), exec: b.ExecRecord}
			if b.RootFD >= 0 {
				again.rootFD = b.RootFD
			}
			b2, err := nsenter.ParseBootstrap(body(t, again.encode()))
			if err != nil || !same(b2, again) {
				t.Fatalf("accepted %x as %+v, but its re-encoding parses as %+v, %v", raw, b, b2, err)
			}
		}

		// A plan as planNamespaces can produce: namespace flags only, each
		// type once, joined paths non-empty and without NUL.
		p := &nsPlan{cloneFlags: flags & allNSFlags, timens: timens}
		used := p.cloneFlags
		for _, line := range strings.Split(joins, "\n") {
			if len(line) < 2 {
				continue
			}
			name := nsNames[int(line[0])%len(nsNames)]
			path := strings.ReplaceAll(line[1:], "\x00", "")
			if path == "" || used&flagOf(name) != 0 {
				continue
			}
			used |= flagOf(name)
			p.join = append(p.join, name+":"+path)
		}
		msg := p.encode()
		if len(msg)-4 > nsenter.MaxBootstrap {
			return
		}
		b, err = nsenter.ParseBootstrap(body(t, msg))
		if err != nil {
			t.Fatalf("stub refuses the encoder's message for %+v: %v", p, err)
		}
		if !same(b, p) {
			t.Fatalf("sent %+v, stub parsed %+v", p, b)
		}
	})
}

// TestBootstrapParseRejects pins the parser's answer to the malformed
// messages the stub must refuse (before, several were silently accepted).
func TestBootstrapParseRejects(t *testing.T) {
	u32 := func(v uint32) []byte { return binary.NativeEndian.AppendUint32(nil, v) }
	for _, tc := range []struct {
		name string
		raw  []byte
		want string
	}{
		{"trailing bytes", append(record(nil, nsenter.BootstrapCloneFlags, u32(0)), 1, 2, 3), "truncated record header at byte 12"},
		{"overrun", []byte{1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}, "bootstrap record 1 overruns the message"},
		{"unterminated", record(nil, nsenter.BootstrapNsPaths, []byte("mount:/x")), "namespace entry at byte 0 is not NUL-terminated"},
		{"empty entry", record(nil, nsenter.BootstrapNsPaths, []byte("mount:/x\x00\x00pid:/y\x00")), "empty namespace entry"},
		{"no colon", record(nil, nsenter.BootstrapNsPaths, []byte("mount\x00")), "malformed namespace entry mount (want type:path)"},
		{"empty path", record(nil, nsenter.BootstrapNsPaths, []byte("pid:\x00")), "empty path for pid namespace"},
		{"twice", record(nil, nsenter.BootstrapNsPaths, []byte("pid:/a\x00pid:/b\x00")), "pid namespace joined twice"},
		{"join and create", record(record(nil, nsenter.BootstrapNsPaths, []byte("pid:/a\x00")), nsenter.BootstrapCloneFlags, u32(0x20000000)),
			"pid namespace both joined and created"},
		{"not a namespace flag", record(nil, nsenter.BootstrapCloneFlags, u32(0x100)), "clone flags 0x100 are not namespaces"},
		{"repeated record", bytes.Repeat(record(nil, nsenter.BootstrapCloneFlags, u32(0)), 2), "bootstrap record 1 repeated"},
		{"unknown record", record(nil, 99, nil), "unknown bootstrap record 99"},
		{"root fd size", record(nil, nsenter.BootstrapRootFD, []byte{5}), "bad root fd record of 1 bytes"},
		{"root fd stdio", record(nil, nsenter.BootstrapRootFD, u32(0)), "bad root fd 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := nsenter.ParseBootstrap(tc.raw)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("ParseBootstrap = %+v, %v; want error %q", b, err, tc.want)
			}
		})
	}
}

// encodeExecPlan writes a parsed exec record back in the layout of
// cexec.c. Every byte of a record is accounted for, so a record the
// parser accepted must come back byte for byte.
func encodeExecPlan(e *nsenter.ExecPlan) []byte {
	w := &recordWriter{}
	u32, strs := w.u32, w.strs
	for _, v := range []uint32{e.Flags, e.UID, e.GID, e.Umask, e.PreserveFDs, e.LastCap, uint32(len(e.Groups))} {
		u32(v)
	}
	for _, g := range e.Groups {
		u32(g)
	}
	for _, c := range e.Caps {
		w.u64(c)
	}
	u32(uint32(len(e.Rlimits) / 24))
	w.b = append(w.b, e.Rlimits...)
	u32(e.SeccompFlags)
	u32(uint32(len(e.Filters) / 8))
	w.b = append(w.b, e.Filters...)
	strs([]string{e.Cwd}, false)
	strs([]string{e.Path}, false)
	strs(e.Args, true)
	strs(e.Env, true)
	u32(e.Console)
	u32(e.Rows)
	u32(e.Cols)
	u32(uint32(len(e.LSM)))
	for _, a := range e.LSM {
		for _, s := range []string{a.Dir, a.Value, a.Quoted, a.Test, a.TestQuoted, a.Missing, a.Field} {
			strs([]string{s}, false)
		}
	}
	u32(uint32(len(e.Attrs)))
	for _, a := range e.Attrs {
		u32(a.Kind)
		u32(a.Phase)
		u32(uint32(len(a.Words)))
		for _, v := range a.Words {
			w.u64(v)
		}
		strs([]string{a.Msg}, false)
	}
	return w.b
}

// fuzzCapNames are the capabilities a fuzzed byte picks from, one bit each.
var fuzzCapNames = []string{"CAP_CHOWN", "CAP_KILL", "CAP_SETUID", "CAP_NET_RAW", "CAP_SYS_ADMIN",
	"CAP_SYS_PTRACE", "CAP_AUDIT_WRITE", "CAP_NET_BIND_SERVICE"}

func capNames(bits uint8) []string {
	var l []string
	for i, n := range fuzzCapNames {
		if bits&(1<<i) != 0 {
			l = append(l, n)
		}
	}
	return l
}

// FuzzExecRecord covers the BT_EXEC record `berth exec` sends so the stub
// can exec without the Go runtime (berth_parse_exec in cexec.c). raw is any
// payload: it must be refused, or accepted and re-encode to the same bytes.
// The other arguments make a process for the Go encoder (cExecRecord):
// whatever it sends must parse back to the same process, except that a
// string with a NUL in it must be refused rather than cut short.
func FuzzExecRecord(f *testing.F) {
	// cExecRecord logs what it drops from the ambient set.
	defer slog.SetDefault(slog.Default())
	slog.SetDefault(slog.New(slog.DiscardHandler))
	umask := uint32(0o027)
	good, err := cExecRecord(&specs.Spec{}, &specs.Process{
		Args: []string{"sh", "-c", "true"}, Env: []string{"PATH=/bin", "A=b"}, Cwd: "/",
		User:    specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{5, 10}, Umask: &umask},
		Rlimits: []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 10, Hard: 20}},
		Capabilities: &specs.LinuxCapabilities{Bounding: []string{"CAP_KILL"}, Permitted: []string{"CAP_KILL"},
			Inheritable: []string{"CAP_KILL"}, Ambient: []string{"CAP_KILL"}},
		NoNewPrivileges: true,
		ApparmorProfile: "berth-test", SelinuxLabel: "system_u:system_r:container_t:s0",
		Terminal: true, ConsoleSize: &specs.Box{Height: 24, Width: 80},
		Scheduler:       &specs.Scheduler{Policy: specs.SchedIdle},
		ExecCPUAffinity: &specs.CPUAffinity{Initial: "0-3", Final: "70"},
	}, 2, 5, true)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good, uint8(7), uint32(1000), uint32(1000), uint16(0o22), []byte{5, 0, 0, 0}, uint64(0x0102), uint8(2),
		"sh\n-c\ntrue", "PATH=/bin\nHOME=/root", "/")
	f.Add([]byte{}, uint8(0), uint32(0), uint32(0), uint16(0), []byte(nil), uint64(0), uint8(0), "", "", "")
	f.Add(good[:len(good)-3], uint8(0), uint32(0), uint32(0), uint16(0), []byte(nil), uint64(0), uint8(0),
		"a", "", "/a\x00b")
	f.Add(append(good, 0), uint8(0), uint32(0), uint32(0), uint16(0), []byte(nil), uint64(0), uint8(0),
		"a\x00b", "PATH=/x\x00", "/")

	var rlimitNames []string
	for n := range rlimitResources {
		rlimitNames = append(rlimitNames, n)
	}
	slices.Sort(rlimitNames)

	f.Fuzz(func(t *testing.T, raw []byte, flags uint8, uid, gid uint32, umask uint16, groups []byte,
		capBits uint64, nrlimits uint8, args, env, cwd string) {
		// Arbitrary payload.
		b, err := nsenter.ParseBootstrap(record(nil, nsenter.BootstrapExec, raw))
		if err == nil {
			if b.Exec == nil || !bytes.Equal(b.ExecRecord, raw) {
				t.Fatalf("exec record %x accepted but not returned: %+v", raw, b)
			}
			if len(b.Exec.Args) == 0 {
				t.Fatalf("exec record %x accepted without args[0]", raw)
			}
			if again := encodeExecPlan(b.Exec); !bytes.Equal(again, raw) {
				t.Fatalf("exec record %x parsed as %+v, which encodes as %x", raw, b.Exec, again)
			}
		}

		// A process through the Go encoder.
		p := &specs.Process{
			Args:            strings.Split(args, "\n"),
			Cwd:             cwd,
			User:            specs.User{UID: uid, GID: gid},
			NoNewPrivileges: flags&1 != 0,
		}
		if env != "" {
			p.Env = strings.Split(env, "\n")
		}
		if flags&2 != 0 {
			u := uint32(umask)
			p.User.Umask = &u
		}
		if flags&4 != 0 {
			// Effective within permitted and inheritable within bounding,
			// as caps.FromSpec requires; ambient is anything (FromSpec
			// drops what cannot be raised).
			c := func(i int) uint8 { return uint8(capBits >> (8 * i)) }
			p.Capabilities = &specs.LinuxCapabilities{
				Bounding: capNames(c(0)), Effective: capNames(c(1) & c(2)), Permitted: capNames(c(2)),
				Inheritable: capNames(c(3) & c(0)), Ambient: capNames(c(4)),
			}
		}
		if flags&8 != 0 {
			p.ApparmorProfile, p.SelinuxLabel = "prof-"+cwd, "u:r:t:"+cwd
			p.Scheduler = &specs.Scheduler{Policy: specs.SchedOther, Nice: int32(uid%40) - 20}
			p.ExecCPUAffinity = &specs.CPUAffinity{Final: strconv.Itoa(int(gid % 8192))}
		}
		for i := 0; i+4 <= len(groups) && i < 4*64; i += 4 {
			p.User.AdditionalGids = append(p.User.AdditionalGids, binary.NativeEndian.Uint32(groups[i:]))
		}
		for i := 0; i < int(nrlimits%4); i++ {
			p.Rlimits = append(p.Rlimits, specs.POSIXRlimit{
				Type: rlimitNames[(int(nrlimits)/4+i)%len(rlimitNames)], Soft: uint64(uid), Hard: uint64(gid) << 3,
			})
		}
		preserve, console := int(flags>>5), -1
		if flags&16 != 0 {
			// A terminal berth relays: the console socket after the
			// preserved fds, ONLCR off (the relay flag), a console size.
			console = 3 + preserve
			p.Terminal, p.ConsoleSize = true, &specs.Box{Height: uint(uid % 1000), Width: uint(gid % 1000)}
		}
		nul := strings.ContainsRune(cwd, 0) || strings.ContainsRune(searchPath(p.Env), 0) ||
			slices.ContainsFunc(p.Args, func(s string) bool { return strings.ContainsRune(s, 0) }) ||
			slices.ContainsFunc(p.Env, func(s string) bool { return strings.ContainsRune(s, 0) })
		rec, err := cExecRecord(&specs.Spec{}, p, preserve, console, console >= 0)
		if nul {
			// Refused with the field named before the stub sees it (the
			// stub's own parser refuses such records too: FuzzBootstrapParse).
			if err == nil || !strings.Contains(err.Error(), "NUL") {
				t.Fatalf("a string with a NUL: cExecRecord = %v, want a NUL error", err)
			}
			return
		}
		if err != nil {
			t.Fatalf("cExecRecord: %v", err)
		}
		msg := (&nsPlan{exec: rec}).encode()
		if len(msg)-4 > nsenter.MaxBootstrap {
			return
		}
		b, err = nsenter.ParseBootstrap(body(t, msg))
		if err != nil {
			t.Fatalf("stub refuses the encoder's exec record for %+v: %v", p, err)
		}
		sets, _, _ := caps.FromSpec(p.Capabilities)
		want := nsenter.ExecPlan{
			Flags: cxCaps, UID: uid, GID: gid, PreserveFDs: uint32(preserve), LastCap: uint32(caps.LastCap()),
			Groups: p.User.AdditionalGids,
			Caps:   [5]uint64{sets.Bounding, sets.Effective, sets.Permitted, sets.Inheritable, sets.Ambient},
			Cwd:    cwd, Path: searchPath(p.Env), Args: p.Args, Env: p.Env,
			Console: ^uint32(0),
		}
		if p.NoNewPrivileges {
			want.Flags |= cxNNP
		}
		if console >= 0 {
			want.Flags |= cxRelay
			want.Console, want.Rows, want.Cols = uint32(console), uint32(p.ConsoleSize.Height), uint32(p.ConsoleSize.Width)
		}
		if p.User.Umask != nil {
			want.Flags |= cxUmask
			want.Umask = *p.User.Umask
		}
		for _, w := range lsm.ExecWrites(p) {
			want.LSM = append(want.LSM, nsenter.LSMAttr{Dir: w.Dir, Value: w.Value, Quoted: w.Quoted, Test: w.Test,
				TestQuoted: w.TestQuoted, Missing: w.Missing, Field: w.Field})
		}
		attrs, err := procattr.Compile(nil, p)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range attrs {
			want.Attrs = append(want.Attrs, nsenter.ProcAttr{Kind: a.Kind, Phase: a.Phase, Words: a.Words, Msg: a.Msg})
		}
		got := *b.Exec
		if len(got.Rlimits) != 24*len(p.Rlimits) {
			t.Fatalf("%d rlimits sent, %d bytes of them parsed", len(p.Rlimits), len(got.Rlimits))
		}
		got.Rlimits = nil
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("sent %+v\nstub parsed %+v", want, got)
		}
	})
}
