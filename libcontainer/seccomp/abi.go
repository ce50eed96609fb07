package seccomp

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Syscall ABIs, in the column order of sysnumTable.
const (
	abiX86_64 = iota
	abiX32
	abiI386
	abiAArch64
	abiARM
	numABIs
)

// x32BaseNR is __X32_SYSCALL_BIT: x32 tasks present AUDIT_ARCH_X86_64 and
// tell themselves apart by this bit of the syscall number.
const x32BaseNR = 0x40000000

// abi describes how one syscall ABI looks to a filter.
type abi struct {
	arch   specs.Arch // the config's name for it
	col    int        // column in sysnumTable
	audit  uint32     // seccomp_data.arch
	base   uint32     // added to table numbers (x32 only)
	bits32 bool       // 32-bit registers: only the low word of an argument exists
	// private is a block of ABI-specific numbers far above the regular
	// table (x32's legacy 512..547, ARM's __ARM_NR_BASE calls). It does not
	// count towards the highest known syscall, so naming one of them in a
	// profile does not switch off the -ENOSYS stub for new syscalls.
	private [2]uint32
}

var abis = [numABIs]abi{
	abiX86_64:  {arch: specs.ArchX86_64, col: abiX86_64, audit: unix.AUDIT_ARCH_X86_64},
	abiX32:     {arch: specs.ArchX32, col: abiX32, audit: unix.AUDIT_ARCH_X86_64, base: x32BaseNR, private: [2]uint32{512, 547}},
	abiI386:    {arch: specs.ArchX86, col: abiI386, audit: unix.AUDIT_ARCH_I386, bits32: true},
	abiAArch64: {arch: specs.ArchAARCH64, col: abiAArch64, audit: unix.AUDIT_ARCH_AARCH64},
	abiARM:     {arch: specs.ArchARM, col: abiARM, audit: unix.AUDIT_ARCH_ARM, bits32: true, private: [2]uint32{0x0f0000, 0x0fffff}},
}

// hostABIs lists, per GOARCH, the ABIs a kernel of that architecture can
// present to a filter: the native one first, then those a config must ask
// for. Anything else in config.architectures is an architecture this kernel
// never runs, and is ignored.
var hostABIs = map[string][]int{
	"amd64": {abiX86_64, abiX32, abiI386},
	"arm64": {abiAArch64, abiARM},
}

// knownArchs is every architecture name the runtime-spec defines; a config
// naming anything else is rejected.
var knownArchs = []specs.Arch{
	specs.ArchX86, specs.ArchX86_64, specs.ArchX32, specs.ArchARM, specs.ArchAARCH64,
	specs.ArchMIPS, specs.ArchMIPS64, specs.ArchMIPS64N32, specs.ArchMIPSEL, specs.ArchMIPSEL64,
	specs.ArchMIPSEL64N32, specs.ArchPPC, specs.ArchPPC64, specs.ArchPPC64LE, specs.ArchS390,
	specs.ArchS390X, specs.ArchPARISC, specs.ArchPARISC64, specs.ArchRISCV64, specs.ArchLOONGARCH64,
	specs.ArchM68K, specs.ArchSH, specs.ArchSHEB,
}

// sysnum is one row of the generated table.
type sysnum struct {
	name string
	nr   [numABIs]int32
}

// lookup returns the sysnumTable row of a syscall name, or -1 when no ABI
// knows it. The table is static data (no init-time cost).
func lookup(name string) int {
	lo, hi := 0, len(sysnumTable)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if sysnumTable[m].name < name {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(sysnumTable) && sysnumTable[lo].name == name {
		return lo
	}
	return -1
}
