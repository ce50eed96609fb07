// Package nsenter links berth's in-container executor (C) into the binary.
// Importing it (for side effects) installs a constructor that, when the
// process was started by berth as a container init or exec process
// (environment _BERTH_INIT_FD set), joins and creates the container's
// namespaces and then runs the init's plan (cinit.c) or the exec record
// (cexec.c) to the workload's execve: the Go runtime never starts there.
// The protocol is written at the top of nsenter.c; the parent's half of it
// lives in berth/libcontainer (bootstrap.go, cinit.go, exec_c.go).
package nsenter

// #cgo CFLAGS: -Wall -O2
import "C"

// Bootstrap record types (parent -> stub).
const (
	BootstrapCloneFlags = 1
	BootstrapNsPaths    = 2
	BootstrapTimens     = 3
	BootstrapExec       = 4 // the process, for exec finished in C (cexec.c)
	BootstrapInit       = 5 // empty: the init is finished in C (cinit.c) from a plan sent after SyncPid
	BootstrapCgroupJoin = 6 // cgroup v1 tasks files the stub writes "0" to first, NUL-terminated
	BootstrapRootFD     = 7 // u32: fd of the root the stub chroots into after the joins (exec, no mount namespace)
	// u32 Dumpable*: the parent writes the id maps without root, so the
	// stub is dumpable (its /proc/<pid> files the caller's) meanwhile
	BootstrapDumpable = 8
)

// Sync tags (stub <-> parent).
const (
	SyncUsermap    = 0x40
	SyncUsermapAck = 0x41
	SyncPid        = 0x42
	SyncErr        = 0x43
	SyncHooks      = 0x44 // C init: rootfs built; trace bytes follow
	SyncHooksAck   = 0x45 // parent -> C init: limits set, hooks ran
	SyncReady      = 0x46 // C init: waiting for start; trace bytes follow
	// C init or exec: the seccomp listener comes with it (SCM_RIGHTS);
	// the parent answers SyncSeccompAck once the agent has it.
	SyncSeccomp    = 0x50
	SyncSeccompAck = 0x51
)

// The operations of the C init's plan (the enum in bootstrap.h).
const (
	OpPrepare = iota + 1
	OpFresh
	OpBind
	OpRemount
	OpCgroup1
	OpCgroupHierarchy
	OpCgroupDone
	OpCgroup2
	OpDevice
	OpDevLinks
	OpHooks
	OpPivot
	OpRootPropagation
	OpLoopback
	OpHostname
	OpDomainname
	OpMask
	OpReadonly
	OpRootReadonly
	OpKeyring
	OpMark
	OpSetsid
	OpDetach
	OpHook      // a createContainer hook (nsenter/chook.c); V: args, env
	OpStartHook // a startContainer hook, after the wait on the exec fifo; the plan's last ops
	OpChroot
	OpPrivate
	OpOverlay // V: the lower directories
	OpRootBind
	OpHostBind   // S0: the host instance the OpFresh before it falls back to (BitHostBind)
	OpSysctl     // S[0] path below a procfs root, S[1] value, S[2] it quoted, S[4] field
	OpMountLabel // S[0] linux.mountLabel, for the BitMqueueLabel mounts after it
	OpConsole    // N0 console socket fd, N1 rows, N2 bits (BitRelay), N3 cols, N4 uid; S0 ptmx, S1 console
	OpIdmapFD    // N0 fd of a detached idmapped mount, for the OpBind with BitIdmap after it
	opMax
)

// Bits of an operation's n[2] (B_* in bootstrap.h).
const (
	BitPlainDir = 1 << iota
	BitRemount
	BitAttr
	BitCgroupNS
	BitDevpts
	BitNoPivot
	BitCgroup2
	BitKcore
	BitProcEnv
	BitNoBind
	BitCopyUp
	BitCopyUpRO
	BitHostBind
	BitDevBind
	BitMqueueLabel // an mqueue: its root gets OpMountLabel's label (security.selinux)
	BitRelay       // OpConsole: berth relays the terminal itself
	BitIdmap       // OpBind: move the OpIdmapFD's detached mount into place instead of binding S2
	// OpDetach: the mount is locked (a mount namespace of a user
	// namespace): cover it with a tmpfs, no unmount.
	BitCover
	// OpDetach: unmount, and cover it with a tmpfs where the kernel
	// refuses with EINVAL (locked: a joined mount namespace of a user
	// namespace, whose locks the mount table does not show).
	BitCoverOnEINVAL
)

// ExecRelay is the exec record's flag CX_RELAY: berth relays the
// terminal itself, so the stub turns ONLCR off before handing the master.
const ExecRelay = 8

// BootstrapDumpable modes: dumpable while the maps are written, or from
// then on (a rootless create that joins nothing: the caller's exec must
// open the init's /proc/<pid>/ns files, as with runc).
const (
	DumpableMaps = 1
	DumpableKeep = 2
)

// ExecNoGroups is the exec record's flag CX_NOGROUPS: setgroups is denied
// in the container's user namespace (an unprivileged caller wrote its gid
// map), so the process keeps the groups it has instead of calling it.
const ExecNoGroups = 16

// OpVectors is how many string vectors follow the strings of an operation
// with this code (berth_op_vectors in cinit.c).
func OpVectors(code uint32) int {
	switch code {
	case OpHook, OpStartHook:
		return 2
	case OpOverlay:
		return 1
	}
	return 0
}

// EnvInitFD names the inherited socket the stub talks over.
const EnvInitFD = "_BERTH_INIT_FD"
