package ebpf

import (
	"fmt"
	"math/rand"
	"os"
	"strconv"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"berth/cgroups/devices"
)

// run interprets prog (the instructions DeviceFilter emits) on a device
// request, as the kernel would.
func run(t *testing.T, prog []Insn, typ devices.Type, major, minor uint32, acc devices.Access) bool {
	t.Helper()
	var ctxAccess uint32
	if acc&devices.Read != 0 {
		ctxAccess |= accRead
	}
	if acc&devices.Write != 0 {
		ctxAccess |= accWrite
	}
	if acc&devices.Mknod != 0 {
		ctxAccess |= accMknod
	}
	dt := uint32(devChar)
	if typ == devices.Block {
		dt = devBlock
	}
	ctx := [3]uint32{ctxAccess<<16 | dt, major, minor}
	var reg [11]uint64
	for pc, steps := 0, 0; ; steps++ {
		if pc < 0 || pc >= len(prog) || steps > 100000 {
			t.Fatalf("pc %d out of the program (%d instructions)", pc, len(prog))
		}
		in := prog[pc]
		dst, src := in.Regs&0xf, in.Regs>>4
		pc++
		switch in.Code {
		case classLDX | modeMEM | sizeW:
			if src != r1 || in.Off%4 != 0 || in.Off < 0 || in.Off > 8 {
				t.Fatalf("bad context load %+v", in)
			}
			reg[dst] = uint64(ctx[in.Off/4])
		case classALU | aluMOV | srcX:
			reg[dst] = uint64(uint32(reg[src]))
		case classALU | aluAND | srcK:
			reg[dst] = uint64(uint32(reg[dst]) & uint32(in.Imm))
		case classALU | aluRSH | srcK:
			reg[dst] = uint64(uint32(reg[dst]) >> uint32(in.Imm))
		case classALU64 | aluMOV | srcK:
			reg[dst] = uint64(int64(in.Imm))
		case classJMP | jmpJEQ | srcK:
			if reg[dst] == uint64(int64(in.Imm)) {
				pc += int(in.Off)
			}
		case classJMP | jmpJNE | srcK:
			if reg[dst] != uint64(int64(in.Imm)) {
				pc += int(in.Off)
			}
		case classJMP | jmpJA:
			pc += int(in.Off)
		case classJMP | jmpEXIT:
			return reg[r0] == 1
		default:
			t.Fatalf("unexpected instruction %+v", in)
		}
	}
}

// reachable checks what the verifier checks first: every instruction can
// be reached and every jump lands inside the program.
func reachable(t *testing.T, prog []Insn) {
	t.Helper()
	seen := make([]bool, len(prog))
	var walk func(pc int)
	walk = func(pc int) {
		for pc >= 0 && pc < len(prog) && !seen[pc] {
			seen[pc] = true
			in := prog[pc]
			switch in.Code {
			case classJMP | jmpEXIT:
				return
			case classJMP | jmpJA:
				pc += 1 + int(in.Off)
				continue
			case classJMP | jmpJEQ | srcK, classJMP | jmpJNE | srcK:
				walk(pc + 1 + int(in.Off))
			}
			pc++
		}
		if pc < 0 || pc >= len(prog) {
			t.Fatalf("control leaves the program at %d", pc)
		}
	}
	walk(0)
	for i, s := range seen {
		if !s {
			t.Fatalf("instruction %d (%+v) is unreachable; the verifier refuses that", i, prog[i])
		}
	}
}

func i64(v int64) *int64 { return &v }

func effective(t *testing.T, r ...specs.LinuxDeviceCgroup) []devices.Rule {
	rules, err := devices.Effective(r)
	if err != nil {
		t.Fatal(err)
	}
	return rules
}

var requests = func() (out []struct {
	t            devices.Type
	major, minor uint32
}) {
	for _, typ := range []devices.Type{devices.Char, devices.Block} {
		for _, mm := range [][2]uint32{{1, 3}, {1, 5}, {1, 11}, {5, 2}, {136, 0}, {136, 99}, {8, 0}, {8, 1}, {10, 200}, {4095, 1048575}} {
			out = append(out, struct {
				t            devices.Type
				major, minor uint32
			}{typ, mm[0], mm[1]})
		}
	}
	return out
}()

// agree checks the program against devices.Allowed on every request and
// access combination.
func agree(t *testing.T, rules []devices.Rule) {
	t.Helper()
	prog, all := DeviceFilter(rules)
	if all {
		if !devices.AllowsAll(rules) {
			t.Fatal("DeviceFilter says allow-all, the rules do not")
		}
		return
	}
	reachable(t, prog)
	for _, rq := range requests {
		for acc := devices.Access(1); acc <= devices.RWM; acc++ {
			want := devices.Allowed(rules, rq.t, int64(rq.major), int64(rq.minor), acc)
			if got := run(t, prog, rq.t, rq.major, rq.minor, acc); got != want {
				t.Fatalf("%c %d:%d %s: program says %v, rules say %v\nrules: %+v", rq.t, rq.major, rq.minor, acc, got, want, rules)
			}
		}
	}
}

func TestDeviceFilterMatchesRules(t *testing.T) {
	cases := map[string][]devices.Rule{
		"defaults":       effective(t),
		"spec deny-all":  effective(t, specs.LinuxDeviceCgroup{Allow: false, Access: "rwm"}),
		"read-only kmsg": effective(t, specs.LinuxDeviceCgroup{Allow: true, Type: "c", Major: i64(1), Minor: i64(11), Access: "r"}),
		"all block major 8 minus a write": effective(t,
			specs.LinuxDeviceCgroup{Allow: true, Type: "b", Major: i64(8), Access: "rwm"},
			specs.LinuxDeviceCgroup{Allow: false, Type: "b", Major: i64(8), Minor: i64(1), Access: "w"}),
		"mknod anything": effective(t, specs.LinuxDeviceCgroup{Allow: true, Type: "c", Access: "m"}, specs.LinuxDeviceCgroup{Allow: true, Type: "b", Access: "m"}),
		"privileged then deny": effective(t,
			specs.LinuxDeviceCgroup{Allow: true, Access: "rwm"},
			specs.LinuxDeviceCgroup{Allow: false, Type: "c", Major: i64(10), Minor: i64(200), Access: "rwm"}),
		"empty list":  nil,
		"deny only":   {devices.DenyAll},
		"max numbers": effective(t, specs.LinuxDeviceCgroup{Allow: true, Type: "c", Major: i64(4095), Minor: i64(1048575), Access: "rw"}),
	}
	for name, rules := range cases {
		t.Run(name, func(t *testing.T) { agree(t, rules) })
	}
}

func randomRules(rnd *rand.Rand) []devices.Rule {
	n := rnd.Intn(8)
	rules := []devices.Rule{}
	if rnd.Intn(4) > 0 {
		rules = append(rules, devices.DenyAll)
	}
	pick := func(vals ...int64) int64 { return vals[rnd.Intn(len(vals))] }
	for range n {
		r := devices.Rule{
			Allow:  rnd.Intn(3) > 0,
			Type:   []devices.Type{devices.All, devices.Char, devices.Block}[rnd.Intn(3)],
			Major:  pick(devices.Wildcard, 1, 8, 136, 4095),
			Minor:  pick(devices.Wildcard, 0, 1, 3, 11, 1048575),
			Access: devices.Access(1 + rnd.Intn(7)),
		}
		rules = append(rules, r)
	}
	if rnd.Intn(2) == 0 {
		rules = append(rules, devices.Defaults...)
	}
	return rules
}

func TestDeviceFilterRandom(t *testing.T) {
	rnd := rand.New(rand.NewSource(1))
	for i := range 2000 {
		rules := randomRules(rnd)
		t.Run(strconv.Itoa(i), func(t *testing.T) { agree(t, rules) })
	}
}

// The kernel's verifier accepts every program the generator makes.
func TestDeviceFilterLoads(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	rnd := rand.New(rand.NewSource(2))
	var worst time.Duration
	for i := range 200 {
		rules := randomRules(rnd)
		if i == 0 {
			rules = effective(t)
		}
		prog, all := DeviceFilter(rules)
		if all {
			continue
		}
		t0 := time.Now()
		fd, err := LoadDeviceProgram(prog)
		d := time.Since(t0)
		if err != nil {
			t.Fatalf("rules %+v: %v", rules, err)
		}
		unix.Close(fd)
		if i == 0 {
			t.Logf("default list: %d instructions, loaded in %v", len(prog), d)
		}
		worst = max(worst, d)
	}
	t.Logf("slowest load of 200: %v", worst)
}

// cgroup2Mount finds a cgroup2 mount: /sys/fs/cgroup on a v2 host, the
// hybrid one on a v1 host.
func cgroup2Mount(t *testing.T) string {
	for _, p := range []string{"/sys/fs/cgroup", "/sys/fs/cgroup/unified"} {
		var st unix.Statfs_t
		if unix.Statfs(p, &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
			return p
		}
	}
	t.Skip("no cgroup2 mount")
	return ""
}

var testSeq int

// testCgroup makes a cgroup2 directory of the test's own, removed at the
// end.
func testCgroup(t *testing.T) string {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	testSeq++
	dir := fmt.Sprintf("%s/berth-test-%d-%d", cgroup2Mount(t), os.Getpid(), testSeq)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := unix.Rmdir(dir); err != nil {
			t.Errorf("remove test cgroup: %v", err)
		}
	})
	return dir
}

func TestReplaceDeviceFilter(t *testing.T) {
	dir := testCgroup(t)
	f, err := OpenCgroup(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fd := int(f.Fd())
	prog, _ := DeviceFilter(effective(t))
	for round := range 3 {
		if err := ReplaceDeviceFilter(fd, prog); err != nil {
			t.Fatal(err)
		}
		ids, flags, err := Attached(fd)
		if err != nil {
			t.Fatal(err)
		}
		if len(ids) != 1 || flags != unix.BPF_F_ALLOW_MULTI {
			t.Fatalf("round %d: attached %v flags %#x, want one program with ALLOW_MULTI", round, ids, flags)
		}
	}
	if err := ReplaceDeviceFilter(fd, nil); err != nil {
		t.Fatal(err)
	}
	if ids, _, err := Attached(fd); err != nil || len(ids) != 0 {
		t.Fatalf("after allow-all: attached %v, %v", ids, err)
	}
}
