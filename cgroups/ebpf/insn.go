// Package ebpf builds the cgroup v2 device filter: a
// BPF_PROG_TYPE_CGROUP_DEVICE program compiled from a device rule list
// (package devices), loaded with bpf(2) and attached to the container's
// cgroup with BPF_F_ALLOW_MULTI.
//
// # The program
//
// The kernel calls it with a struct bpf_cgroup_dev_ctx (access_type at
// offset 0: access bits << 16 | device type; major at 4; minor at 8) and
// allows the access when it returns 1. It has one block per access bit
// (read, write, mknod):
//
//	r2 = ctx->access_type; r3 = r2 & 0xffff (type); r4 = r2 >> 16 (access)
//	r5 = ctx->major; r6 = ctx->minor
//	read:  if !(r4 & READ) goto write
//	       for each rule naming read, last rule first:
//	           if type/major/minor differ goto next rule
//	           allow: goto write   deny: return 0
//	       return 0
//	write: ... mknod: ...
//	allow: return 1
//
// so a request is allowed when, for every bit it asks for, the last rule
// that names the bit and matches the device allows it (devices.Allowed).
// When every rule names all three bits (the usual list: deny all, then
// rwm allows) the blocks would be the same, and one block decides for
// the whole request: the default list is 46 instructions instead of 129,
// which loads in about a third of the time. Rules shadowed by an
// earlier-checked wildcard, and an allow tail nothing jumps to, are not
// emitted: the verifier refuses unreachable instructions. A list that
// allows everything compiles to no program at all.
package ebpf

// Insn is one eBPF instruction, laid out as the kernel's struct bpf_insn
// (code, dst_reg:4 | src_reg:4, off, imm) on a little-endian machine.
type Insn struct {
	Code uint8
	Regs uint8 // dst in the low nibble, src in the high nibble
	Off  int16
	Imm  int32
}

// Registers.
const (
	r0 uint8 = iota
	r1
	r2
	r3
	r4
	r5
	r6
	r7
)

// Opcode parts (include/uapi/linux/bpf.h, bpf_common.h).
const (
	classLDX   = 0x01
	classALU   = 0x04
	classJMP   = 0x05
	classALU64 = 0x07

	sizeW   = 0x00
	modeMEM = 0x60

	srcK = 0x00
	srcX = 0x08

	aluAND = 0x50
	aluRSH = 0x70
	aluMOV = 0xb0

	jmpJA   = 0x00
	jmpJEQ  = 0x10
	jmpJNE  = 0x50
	jmpEXIT = 0x90
)

// The bpf_cgroup_dev_ctx encoding (include/uapi/linux/bpf.h).
const (
	devBlock = 1
	devChar  = 2

	accMknod = 1
	accRead  = 2
	accWrite = 4
)

func ldxw(dst, src uint8, off int16) Insn {
	return Insn{Code: classLDX | modeMEM | sizeW, Regs: dst | src<<4, Off: off}
}

func mov32Reg(dst, src uint8) Insn {
	return Insn{Code: classALU | aluMOV | srcX, Regs: dst | src<<4}
}

func and32(dst uint8, imm int32) Insn {
	return Insn{Code: classALU | aluAND | srcK, Regs: dst, Imm: imm}
}

func rsh32(dst uint8, imm int32) Insn {
	return Insn{Code: classALU | aluRSH | srcK, Regs: dst, Imm: imm}
}

func mov64Imm(dst uint8, imm int32) Insn {
	return Insn{Code: classALU64 | aluMOV | srcK, Regs: dst, Imm: imm}
}

func jeqImm(dst uint8, imm int32) Insn {
	return Insn{Code: classJMP | jmpJEQ | srcK, Regs: dst, Imm: imm}
}

func jneImm(dst uint8, imm int32) Insn {
	return Insn{Code: classJMP | jmpJNE | srcK, Regs: dst, Imm: imm}
}

func ja() Insn { return Insn{Code: classJMP | jmpJA} }

func exit() Insn { return Insn{Code: classJMP | jmpEXIT} }
