// Package nsenter links berth's C namespace stub into the binary. Importing it
// (for side effects) installs a constructor that, when the process was started
// by berth as a container init or exec helper (environment _BERTH_INIT_FD set),
// joins and creates the container's namespaces before the Go runtime starts.
// The protocol is written at the top of nsenter.c; the Go half of it lives in
// berth/libcontainer (bootstrap.go).
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
	OpConsole
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
	BitRelay
)

// ExecRelay is the exec record's flag CX_RELAY: berth relays the
// terminal itself, so the stub turns ONLCR off before handing the master.
const ExecRelay = 8

// EnvInitFD names the inherited socket the stub talks over.
const EnvInitFD = "_BERTH_INIT_FD"
