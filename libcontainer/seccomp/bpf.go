package seccomp

import "golang.org/x/sys/unix"

// Offsets into struct seccomp_data. Arguments are 64-bit; the two 32-bit
// halves are loaded separately, low word first in memory on the
// little-endian hosts berth supports (amd64, arm64).
const (
	offNR   = 0
	offArch = 4
	offArgs = 16
)

func argLow(i uint8) uint32  { return offArgs + 8*uint32(i) }
func argHigh(i uint8) uint32 { return offArgs + 8*uint32(i) + 4 }

func loadArch() unix.SockFilter { return ldAbs(offArch) }
func loadNR() unix.SockFilter   { return ldAbs(offNR) }

func ldAbs(off uint32) unix.SockFilter {
	return unix.SockFilter{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: off}
}

func jmpK(op uint16, k uint32, jt, jf uint8) unix.SockFilter {
	return unix.SockFilter{Code: unix.BPF_JMP | op | unix.BPF_K, Jt: jt, Jf: jf, K: k}
}

func ja(n uint32) unix.SockFilter { return unix.SockFilter{Code: unix.BPF_JMP | unix.BPF_JA, K: n} }

func andK(k uint32) unix.SockFilter {
	return unix.SockFilter{Code: unix.BPF_ALU | unix.BPF_AND | unix.BPF_K, K: k}
}

func retK(k uint32) unix.SockFilter { return unix.SockFilter{Code: unix.BPF_RET | unix.BPF_K, K: k} }

// Classic BPF conditional jumps reach at most 255 instructions ahead; BPF_JA
// takes a 32-bit offset. Every block this file emits is self-contained (it
// ends in returns and jumps only forward inside itself), so blocks can be
// concatenated without relocation, and a long conditional jump becomes a
// short one over a BPF_JA.
const maxShortJump = 255

// appendGuarded appends "if test then block", where test is a conditional
// jump whose true branch enters block and whose false branch skips it.
func appendGuarded(dst []unix.SockFilter, test unix.SockFilter, block []unix.SockFilter) []unix.SockFilter {
	if len(block) <= maxShortJump {
		test.Jt, test.Jf = 0, uint8(len(block))
		dst = append(dst, test)
	} else {
		test.Jt, test.Jf = 1, 0
		dst = append(dst, test, ja(uint32(len(block))))
	}
	return append(dst, block...)
}

// emitTree appends a binary search over rs[lo..hi] on the syscall number in
// A: "A >= rs[mid].start" picks the upper half. Leaves return or run a
// chain. The depth is log2 of the number of intervals, so even a profile
// naming every syscall takes about nine comparisons per syscall.
func (g *gen) emitTree(dst []unix.SockFilter, rs ranges, lo, hi int) []unix.SockFilter {
	if lo == hi {
		return g.emitLeaf(dst, rs[lo].d)
	}
	mid := (lo + hi + 1) / 2
	left := g.treeSize(rs, lo, mid-1)
	if left <= maxShortJump {
		dst = append(dst, jmpK(unix.BPF_JGE, rs[mid].start, uint8(left), 0))
	} else {
		dst = append(dst, jmpK(unix.BPF_JGE, rs[mid].start, 0, 1), ja(uint32(left)))
	}
	dst = g.emitTree(dst, rs, lo, mid-1)
	return g.emitTree(dst, rs, mid, hi)
}

func (g *gen) treeSize(rs ranges, lo, hi int) int {
	if lo == hi {
		if c := rs[lo].d.chain; c >= 0 {
			return len(g.chains[c])
		}
		return 1
	}
	mid := (lo + hi + 1) / 2
	left := g.treeSize(rs, lo, mid-1)
	n := 1 + left + g.treeSize(rs, mid, hi)
	if left > maxShortJump {
		n++
	}
	return n
}

func (g *gen) emitLeaf(dst []unix.SockFilter, d decision) []unix.SockFilter {
	if d.chain >= 0 {
		return append(dst, g.chains[d.chain]...)
	}
	return append(dst, retK(d.ret))
}

// emitChain appends the argument checks of one syscall: each rule's
// comparisons in turn, any failure moving on to the next rule, and
// fallthroughRet when none matches. A rule has at most six comparisons of
// at most six instructions, so every jump is short.
func emitChain(dst []unix.SockFilter, rules []*rule, fallthroughRet uint32, bits32 bool) []unix.SockFilter {
	var fails []fixup
	for _, r := range rules {
		fails = fails[:0]
		for _, c := range r.conds {
			dst, fails = emitCond(dst, fails, c, bits32)
		}
		dst = append(dst, retK(r.ret))
		next := len(dst) // the next rule, or the fallthrough return
		for _, f := range fails {
			off := uint8(next - f.at - 1)
			if f.onTrue {
				dst[f.at].Jt = off
			} else {
				dst[f.at].Jf = off
			}
		}
	}
	return append(dst, retK(fallthroughRet))
}

// fixup marks a jump, by index, taken when a comparison fails: it must
// land past the rule's return.
type fixup struct {
	at     int
	onTrue bool
}

// emitCond appends one comparison. It falls through when the comparison
// holds and records in fails the jumps taken when it does not.
//
// A 64-bit comparison decides on the high words unless they are equal,
// then on the low words. On 32-bit ABIs the kernel zero-extends the
// registers, and the value is compared on its low word only, as
// libseccomp does.
func emitCond(dst []unix.SockFilter, fails []fixup, c cond, bits32 bool) ([]unix.SockFilter, []fixup) {
	// failIf appends a test that fails the rule on its true branch (or on
	// its false branch) and otherwise falls through.
	failIf := func(op uint16, k uint32, onTrue bool) {
		fails = append(fails, fixup{len(dst), onTrue})
		dst = append(dst, jmpK(op, k, 0, 0))
	}
	hi, lo := uint32(c.val>>32), uint32(c.val)

	if c.op == opMaskedEQ {
		mhi, mlo := hi, lo
		dhi, dlo := uint32(c.val2>>32), uint32(c.val2)
		if !bits32 && (mhi != 0 || dhi != 0) {
			dst = append(dst, ldAbs(argHigh(c.arg)), andK(mhi))
			failIf(unix.BPF_JEQ, dhi, false)
		}
		dst = append(dst, ldAbs(argLow(c.arg)))
		if mlo != 0xffffffff {
			dst = append(dst, andK(mlo))
		}
		failIf(unix.BPF_JEQ, dlo, false)
		return dst, fails
	}

	if !bits32 {
		dst = append(dst, ldAbs(argHigh(c.arg)))
		switch c.op {
		case opEQ:
			failIf(unix.BPF_JEQ, hi, false)
		case opNE:
			// Different high words: holds, skip the low-word test.
			dst = append(dst, jmpK(unix.BPF_JEQ, hi, 0, 2))
		case opGT, opGE:
			// Greater high word: holds (skip jeq, load, test).
			dst = append(dst, jmpK(unix.BPF_JGT, hi, 3, 0))
			failIf(unix.BPF_JEQ, hi, false)
		case opLT, opLE:
			failIf(unix.BPF_JGT, hi, true)
			// Smaller high word: holds (skip load, test).
			dst = append(dst, jmpK(unix.BPF_JEQ, hi, 0, 2))
		}
	}
	dst = append(dst, ldAbs(argLow(c.arg)))
	switch c.op {
	case opEQ:
		failIf(unix.BPF_JEQ, lo, false)
	case opNE:
		failIf(unix.BPF_JEQ, lo, true)
	case opGT:
		failIf(unix.BPF_JGT, lo, false)
	case opGE:
		failIf(unix.BPF_JGE, lo, false)
	case opLT:
		failIf(unix.BPF_JGE, lo, true)
	case opLE:
		failIf(unix.BPF_JGT, lo, true)
	}
	return dst, fails
}
