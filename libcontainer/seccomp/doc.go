// Package seccomp compiles the OCI linux.seccomp config into a classic BPF
// program and installs it.
//
// # Why not libseccomp
//
// berth is a static Go binary with no cgo outside the nsenter stub, and
// every container start pays for whatever the init links and initialises.
// libseccomp would bring cgo, a shared library (or a static one to vendor)
// and its own start-up; the filter language the OCI config can express is
// small enough to compile directly. Compile is pure Go over a generated,
// statically initialised syscall table (no init-time work), and Load is
// one seccomp(2) call.
//
// # The program
//
//	ld  seccomp_data.arch
//	jeq AUDIT_ARCH_<native>   -> block: ld nr; binary search over nr
//	jeq AUDIT_ARCH_<listed>   -> block: ...
//	ret KILL_PROCESS           (an ABI the config did not list)
//
// Each block is a binary search over the syscall number: the 2^32 numbers
// are cut into runs with one outcome (a return value, or the argument
// checks of one syscall), and "jge start-of-run" nodes pick the run. A
// Docker-sized allow list (about 400 names, three x86 ABIs) compiles to
// about 520 instructions, of which a syscall runs at most about 30; the
// kernel's limit is 4096. Long conditional jumps (classic BPF reaches 255
// instructions) become a short jump over a BPF_JA.
//
// # Semantics
//
//   - Architectures: the host's native ABI is always filtered; on amd64,
//     SCMP_ARCH_X86 (i386, its own numbers, via int 0x80) and SCMP_ARCH_X32
//     (x86_64 AUDIT_ARCH with bit 30 set in the number) are added when
//     listed; on arm64, SCMP_ARCH_ARM. A listed architecture the host
//     kernel never presents is ignored; a name the runtime-spec does not
//     define is an error. A syscall from an unlisted ABI kills the process
//     (libseccomp kills the thread; see badArchRet).
//   - Names: a name no ABI knows, or that one ABI lacks, is skipped for
//     that ABI, as runc does, so profiles written for newer kernels load.
//     The table (sysnum_table.go) comes from the kernel headers and
//     golang.org/x/sys; regenerate it with `go generate`.
//   - Actions: SCMP_ACT_KILL and _KILL_THREAD kill the thread,
//     _KILL_PROCESS the process; SCMP_ACT_ERRNO returns errnoRet (EPERM when
//     unset, defaultErrnoRet for the default action); SCMP_ACT_TRACE passes
//     errnoRet (EPERM when unset) to the tracer as the event message;
//     errnoRet on any other action is an error (runtime-spec). NOTIFY as the
//     default action is refused: the init must keep running to hand the
//     listener fd over.
//   - Arguments: the comparisons of one syscalls[] entry are ANDed; when
//     the entry compares the same argument twice, each comparison becomes a
//     rule of its own (ORed), which is what runc does. Values are unsigned
//     64-bit, compared on the high word then the low word; on 32-bit ABIs
//     only the low word. SCMP_CMP_MASKED_EQ is (arg & value) == valueTwo.
//   - Several entries naming one syscall: the rules with argument
//     comparisons are tried in config order and the first match wins; then
//     the first unconditional rule is the fallback; then the default
//     action. Trailing rules that return the default action are dropped.
//   - -ENOSYS for new syscalls: when the default action refuses (ERRNO other
//     than ENOSYS, KILL_*, TRAP), a syscall numbered above the highest
//     number the profile names for that ABI returns ENOSYS instead, so a
//     libc that tries clone3, openat2 or a future call falls back to the
//     old one instead of failing with EPERM. Numbers the profile names, and
//     unnamed numbers below the highest one, get the default action. The
//     ABI-private blocks (x32's 512..547, ARM's 0xf0000 calls) neither
//     count as "highest" nor get ENOSYS. runc does the same, but only for
//     the architectures listed in the config; berth does it for every
//     filtered ABI. An ALLOW, LOG or TRACE default gets no stub.
//
// Load passes SECCOMP_FILTER_FLAG_TSYNC, _LOG, _SPEC_ALLOW and
// _WAIT_KILLABLE_RECV from the config, adds _NEW_LISTENER when a rule
// notifies (and _TSYNC_ESRCH when TSYNC is also set, which the kernel
// requires), and drops _WAIT_KILLABLE_RECV when there is no listener.
package seccomp

//go:generate go run gen_sysnum.go
