package seccomp

import (
	"encoding/binary"
	"fmt"
	"testing"

	"golang.org/x/sys/unix"
)

// seccompData mirrors struct seccomp_data.
type seccompData struct {
	nr   uint32
	arch uint32
	ip   uint64
	args [6]uint64
}

func (d *seccompData) bytes() [64]byte {
	var b [64]byte
	binary.LittleEndian.PutUint32(b[0:], d.nr)
	binary.LittleEndian.PutUint32(b[4:], d.arch)
	binary.LittleEndian.PutUint64(b[8:], d.ip)
	for i, a := range d.args {
		binary.LittleEndian.PutUint64(b[16+8*i:], a)
	}
	return b
}

// checkProgram applies the kernel's static checks that matter here: only
// the instructions seccomp accepts, aligned loads inside seccomp_data,
// every jump landing inside the program, and a return at the end.
func checkProgram(prog []unix.SockFilter) error {
	if len(prog) == 0 || len(prog) > unix.BPF_MAXINSNS {
		return fmt.Errorf("length %d", len(prog))
	}
	for pc, in := range prog {
		switch in.Code {
		case unix.BPF_LD | unix.BPF_W | unix.BPF_ABS:
			if in.K%4 != 0 || in.K >= 64 {
				return fmt.Errorf("pc %d: load at %d", pc, in.K)
			}
		case unix.BPF_ALU | unix.BPF_AND | unix.BPF_K, unix.BPF_RET | unix.BPF_K:
		case unix.BPF_JMP | unix.BPF_JA:
			if uint64(pc)+1+uint64(in.K) >= uint64(len(prog)) {
				return fmt.Errorf("pc %d: ja %d out of range", pc, in.K)
			}
		case unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, unix.BPF_JMP | unix.BPF_JGT | unix.BPF_K,
			unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K, unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K:
			if pc+1+int(max(in.Jt, in.Jf)) >= len(prog) {
				return fmt.Errorf("pc %d: jump %d/%d out of range", pc, in.Jt, in.Jf)
			}
		default:
			return fmt.Errorf("pc %d: opcode %#x not used by seccomp filters", pc, in.Code)
		}
	}
	if last := prog[len(prog)-1]; last.Code != unix.BPF_RET|unix.BPF_K {
		return fmt.Errorf("last instruction %#x is not a return", last.Code)
	}
	return nil
}

// runBPF interprets prog over d, as the kernel would, and counts the
// instructions executed.
func runBPF(prog []unix.SockFilter, d seccompData) (ret uint32, steps int, err error) {
	data := d.bytes()
	var a uint32
	for pc := 0; pc < len(prog); pc++ {
		steps++
		in := prog[pc]
		switch in.Code {
		case unix.BPF_LD | unix.BPF_W | unix.BPF_ABS:
			a = binary.LittleEndian.Uint32(data[in.K:])
		case unix.BPF_ALU | unix.BPF_AND | unix.BPF_K:
			a &= in.K
		case unix.BPF_RET | unix.BPF_K:
			return in.K, steps, nil
		case unix.BPF_JMP | unix.BPF_JA:
			pc += int(in.K)
		default:
			var taken bool
			switch in.Code {
			case unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K:
				taken = a == in.K
			case unix.BPF_JMP | unix.BPF_JGT | unix.BPF_K:
				taken = a > in.K
			case unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K:
				taken = a >= in.K
			case unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K:
				taken = a&in.K != 0
			default:
				return 0, steps, fmt.Errorf("pc %d: opcode %#x", pc, in.Code)
			}
			if taken {
				pc += int(in.Jt)
			} else {
				pc += int(in.Jf)
			}
		}
	}
	return 0, steps, fmt.Errorf("ran off the end")
}

func TestInterpreterSelfCheck(t *testing.T) {
	// The interpreter must itself be right for the other tests to mean
	// anything: a hand-written program with every instruction kind.
	prog := []unix.SockFilter{
		ldAbs(offNR),
		jmpK(unix.BPF_JEQ, 7, 0, 2),
		ldAbs(argLow(1)),
		andK(0xf0),
		jmpK(unix.BPF_JGT, 0x10, 0, 1),
		retK(1),
		jmpK(unix.BPF_JGE, 0x10, 0, 1),
		retK(2),
		ja(1),
		retK(3),
		retK(4),
	}
	if err := checkProgram(prog); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		nr   uint32
		arg1 uint64
		want uint32
	}{
		{7, 0x20, 1}, // jeq taken, load, and, jgt taken
		{7, 0x1f, 2}, // and -> 0x10, jgt not taken, jge taken
		{7, 0x0f, 4}, // jge not taken, ja over ret 3
		{8, 0x20, 4}, // jeq not taken: A stays nr, both tests fail, ja
	} {
		got, _, err := runBPF(prog, seccompData{nr: c.nr, args: [6]uint64{0, c.arg1}})
		if err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("nr %d arg1 %#x: got %d, want %d", c.nr, c.arg1, got, c.want)
		}
	}
}
