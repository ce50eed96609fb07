package ebpf

import (
	"berth/cgroups/devices"
)

// assembler resolves forward jumps to labels.
type assembler struct {
	insns  []Insn
	labels []int // label -> instruction index, -1 until bound
	fixups []fixup
}

type fixup struct {
	at, label int
}

func (a *assembler) emit(in ...Insn) { a.insns = append(a.insns, in...) }

func (a *assembler) newLabel() int {
	a.labels = append(a.labels, -1)
	return len(a.labels) - 1
}

func (a *assembler) bind(label int) { a.labels[label] = len(a.insns) }

// jump emits a jump instruction whose target is label.
func (a *assembler) jump(in Insn, label int) {
	a.fixups = append(a.fixups, fixup{at: len(a.insns), label: label})
	a.emit(in)
}

func (a *assembler) used(label int) bool {
	for _, f := range a.fixups {
		if f.label == label {
			return true
		}
	}
	return false
}

func (a *assembler) finish() []Insn {
	for _, f := range a.fixups {
		// Offsets count from the instruction after the jump.
		a.insns[f.at].Off = int16(a.labels[f.label] - f.at - 1)
	}
	return a.insns
}

// DeviceFilter compiles rules into a device program. allowAll reports a
// list that allows every access to every device; prog is then nil and no
// program is needed.
func DeviceFilter(rules []devices.Rule) (prog []Insn, allowAll bool) {
	if devices.AllowsAll(rules) {
		return nil, true
	}
	var a assembler
	a.emit(
		ldxw(r2, r1, 0),
		mov32Reg(r3, r2), and32(r3, 0xffff),
		mov32Reg(r4, r2), rsh32(r4, 16),
		ldxw(r5, r1, 4),
		ldxw(r6, r1, 8),
	)
	type section struct {
		access devices.Access
		ctx    int32 // the request bit; 0: the section decides for all bits
	}
	sections := []section{{devices.Read, accRead}, {devices.Write, accWrite}, {devices.Mknod, accMknod}}
	if allRWM(rules) {
		// Every rule names all three bits, so the three sections would
		// be identical: one decides for the whole request.
		sections = []section{{devices.RWM, 0}}
	}
	next := a.newLabel()
	for _, b := range sections {
		a.bind(next)
		next = a.newLabel()
		if b.ctx != 0 {
			a.emit(mov32Reg(r7, r4), and32(r7, b.ctx))
			a.jump(jeqImm(r7, 0), next)
		}
		decided := false
		for i := len(rules) - 1; i >= 0 && !decided; i-- {
			r := rules[i]
			if r.Access&b.access == 0 {
				continue
			}
			skip := a.newLabel()
			conds := 0
			if r.Type != devices.All {
				t := int32(devChar)
				if r.Type == devices.Block {
					t = devBlock
				}
				a.jump(jneImm(r3, t), skip)
				conds++
			}
			if r.Major != devices.Wildcard {
				a.jump(jneImm(r5, int32(r.Major)), skip)
				conds++
			}
			if r.Minor != devices.Wildcard {
				a.jump(jneImm(r6, int32(r.Minor)), skip)
				conds++
			}
			if r.Allow {
				a.jump(ja(), next)
			} else {
				a.emit(mov64Imm(r0, 0), exit())
			}
			a.bind(skip)
			decided = conds == 0
		}
		if !decided {
			a.emit(mov64Imm(r0, 0), exit())
		}
	}
	if a.used(next) {
		// Unreferenced, this tail would be unreachable, which the
		// verifier refuses (a list that denies everything).
		a.bind(next)
		a.emit(mov64Imm(r0, 1), exit())
	}
	return a.finish(), false
}

func allRWM(rules []devices.Rule) bool {
	for _, r := range rules {
		if r.Access != devices.RWM {
			return false
		}
	}
	return true
}
