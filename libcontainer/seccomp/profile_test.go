package seccomp

import (
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func uptr(v uint) *uint { return &v }

// dockerLikeDenied are left out of the allow list, in the spirit of the
// Docker default profile: kernel administration, namespaces, mounts,
// tracing, keyrings, module loading.
var dockerLikeDenied = []string{
	"acct", "add_key", "bpf", "clock_adjtime", "clock_settime", "create_module", "delete_module",
	"finit_module", "fsconfig", "fsmount", "fsopen", "fspick", "get_kernel_syms", "init_module",
	"ioperm", "iopl", "kcmp", "kexec_file_load", "kexec_load", "keyctl", "lookup_dcookie",
	"mount", "mount_setattr", "move_mount", "name_to_handle_at", "nfsservctl", "open_by_handle_at",
	"open_tree", "perf_event_open", "pivot_root", "process_vm_readv", "process_vm_writev",
	"ptrace", "query_module", "quotactl", "quotactl_fd", "reboot", "request_key", "setns",
	"settimeofday", "stime", "swapoff", "swapon", "syslog", "sysfs", "_sysctl", "umount",
	"umount2", "unshare", "uselib", "userfaultfd", "ustat", "vm86", "vm86old",
	// Handled by the conditional entries below.
	"personality", "clone", "clone3", "socket",
}

// dockerLikeProfile is an allow-list profile of the size and shape of
// Docker's default: every syscall x86_64 or i386 knew up to Linux 5.19
// (number <= 450 on x86_64) except the denied ones, a few names no kernel
// has, and Docker's conditional entries. Syscalls after 450 are left out so
// the -ENOSYS stub has something to do.
func dockerLikeProfile() *specs.LinuxSeccomp {
	var names []string
	for _, e := range sysnumTable {
		x64, i386 := e.nr[abiX86_64], e.nr[abiI386]
		if x64 < 0 && i386 < 0 || x64 > 450 || slices.Contains(dockerLikeDenied, e.name) {
			continue
		}
		names = append(names, e.name)
	}
	names = append(names, "future_syscall_one", "future_syscall_two")
	return &specs.LinuxSeccomp{
		DefaultAction:   specs.ActErrno,
		DefaultErrnoRet: uptr(uint(unix.EPERM)),
		Architectures:   []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32},
		Syscalls: []specs.LinuxSyscall{
			{Names: names, Action: specs.ActAllow},
			{Names: []string{"personality"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: 0, Value: 0x0, Op: specs.OpEqualTo}}},
			{Names: []string{"personality"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: 0, Value: 0x0008, Op: specs.OpEqualTo}}},
			{Names: []string{"personality"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: 0, Value: 0x20000, Op: specs.OpEqualTo}}},
			{Names: []string{"personality"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: 0, Value: 0x20008, Op: specs.OpEqualTo}}},
			{Names: []string{"personality"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: 0, Value: 0xffffffff, Op: specs.OpEqualTo}}},
			// clone without any namespace flag.
			{Names: []string{"clone"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: 0, Value: 0x7E020000, ValueTwo: 0, Op: specs.OpMaskedEqual}}},
			{Names: []string{"clone3"}, Action: specs.ActErrno, ErrnoRet: uptr(uint(unix.ENOSYS))},
			// Everything but AF_VSOCK.
			{Names: []string{"socket"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: 0, Value: unix.AF_VSOCK, Op: specs.OpNotEqual}}},
		},
	}
}

func countNames(c *specs.LinuxSeccomp) int {
	n := 0
	for _, s := range c.Syscalls {
		n += len(s.Names)
	}
	return n
}
