// Package caps turns the capability sets of an OCI spec into kernel
// capability masks (FromSpec) and knows the kernel's last capability
// (LastCap). The parent compiles the masks into the exec record; the C
// executor (nsenter/cexec.c) drops the bounding set, switches user with
// PR_SET_KEEPCAPS and applies the sets on the thread that execs.
package caps

import (
	"fmt"
	"strings"
)

// names is indexed by capability number (linux/capability.h).
var names = [...]string{
	0:  "CAP_CHOWN",
	1:  "CAP_DAC_OVERRIDE",
	2:  "CAP_DAC_READ_SEARCH",
	3:  "CAP_FOWNER",
	4:  "CAP_FSETID",
	5:  "CAP_KILL",
	6:  "CAP_SETGID",
	7:  "CAP_SETUID",
	8:  "CAP_SETPCAP",
	9:  "CAP_LINUX_IMMUTABLE",
	10: "CAP_NET_BIND_SERVICE",
	11: "CAP_NET_BROADCAST",
	12: "CAP_NET_ADMIN",
	13: "CAP_NET_RAW",
	14: "CAP_IPC_LOCK",
	15: "CAP_IPC_OWNER",
	16: "CAP_SYS_MODULE",
	17: "CAP_SYS_RAWIO",
	18: "CAP_SYS_CHROOT",
	19: "CAP_SYS_PTRACE",
	20: "CAP_SYS_PACCT",
	21: "CAP_SYS_ADMIN",
	22: "CAP_SYS_BOOT",
	23: "CAP_SYS_NICE",
	24: "CAP_SYS_RESOURCE",
	25: "CAP_SYS_TIME",
	26: "CAP_SYS_TTY_CONFIG",
	27: "CAP_MKNOD",
	28: "CAP_LEASE",
	29: "CAP_AUDIT_WRITE",
	30: "CAP_AUDIT_CONTROL",
	31: "CAP_SETFCAP",
	32: "CAP_MAC_OVERRIDE",
	33: "CAP_MAC_ADMIN",
	34: "CAP_SYSLOG",
	35: "CAP_WAKE_ALARM",
	36: "CAP_BLOCK_SUSPEND",
	37: "CAP_AUDIT_READ",
	38: "CAP_PERFMON",
	39: "CAP_BPF",
	40: "CAP_CHECKPOINT_RESTORE",
}

// MaxKnown is the highest capability number berth has a name for.
const MaxKnown = len(names) - 1

var byName = func() map[string]int {
	m := make(map[string]int, len(names))
	for i, n := range names {
		m[n] = i
	}
	return m
}()

// Parse converts a capability name such as "CAP_SYS_ADMIN" to its number.
// Names are matched exactly, as the runtime spec writes them (runc does
// too). The error of an unknown name points at the likely spelling;
// FromSpec turns it into a warning.
func Parse(name string) (int, error) {
	if c, ok := byName[name]; ok {
		return c, nil
	}
	// Point at the likely intended spelling: "sys_admin", "SYS_ADMIN".
	guess := strings.ToUpper(name)
	if !strings.HasPrefix(guess, "CAP_") {
		guess = "CAP_" + guess
	}
	if _, ok := byName[guess]; ok {
		return 0, fmt.Errorf("unknown capability %q (did you mean %q?)", name, guess)
	}
	return 0, fmt.Errorf("unknown capability %q", name)
}

// Name returns the name of capability c, or "CAP_<n>" for a number berth
// has no name for (a kernel newer than this table).
func Name(c int) string {
	if c >= 0 && c < len(names) {
		return names[c]
	}
	return fmt.Sprintf("CAP_%d", c)
}
