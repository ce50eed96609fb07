package nsenter

// #include <stdlib.h>
// #include "bootstrap.h"
import "C"

import (
	"errors"
	"unsafe"

	"golang.org/x/sys/unix"

	"berth/libcontainer/procattr"
)

// The record types and limits must agree with bootstrap.h: a negative
// constant converted to uint does not compile, so each pair must be equal.
const (
	_ = uint(BootstrapCloneFlags-C.BT_CLONE_FLAGS) + uint(C.BT_CLONE_FLAGS-BootstrapCloneFlags)
	_ = uint(BootstrapNsPaths-C.BT_NS_PATHS) + uint(C.BT_NS_PATHS-BootstrapNsPaths)
	_ = uint(BootstrapTimens-C.BT_TIMENS) + uint(C.BT_TIMENS-BootstrapTimens)
	_ = uint(BootstrapExec-C.BT_EXEC) + uint(C.BT_EXEC-BootstrapExec)
	_ = uint(BootstrapInit-C.BT_INIT) + uint(C.BT_INIT-BootstrapInit)
	_ = uint(BootstrapCgroupJoin-C.BT_CGROUP_JOIN) + uint(C.BT_CGROUP_JOIN-BootstrapCgroupJoin)
	_ = uint(BootstrapRootFD-C.BT_ROOT_FD) + uint(C.BT_ROOT_FD-BootstrapRootFD)
	_ = uint(BootstrapDumpable-C.BT_DUMPABLE) + uint(C.BT_DUMPABLE-BootstrapDumpable)
	_ = uint(DumpableMaps-C.DUMPABLE_MAPS) + uint(C.DUMPABLE_MAPS-DumpableMaps)
	_ = uint(DumpableKeep-C.DUMPABLE_KEEP) + uint(C.DUMPABLE_KEEP-DumpableKeep)
	_ = uint(SyncHooks-C.SYNC_HOOKS) + uint(C.SYNC_HOOKS-SyncHooks)
	_ = uint(SyncHooksAck-C.SYNC_HOOKS_ACK) + uint(C.SYNC_HOOKS_ACK-SyncHooksAck)
	_ = uint(SyncReady-C.SYNC_READY) + uint(C.SYNC_READY-SyncReady)
	_ = uint(SyncErr-C.SYNC_ERR) + uint(C.SYNC_ERR-SyncErr)
	_ = uint(OpSetsid-C.OP_SETSID) + uint(C.OP_SETSID-OpSetsid)
	_ = uint(OpDetach-C.OP_DETACH) + uint(C.OP_DETACH-OpDetach)
	_ = uint(OpConsole-C.OP_CONSOLE) + uint(C.OP_CONSOLE-OpConsole)
	_ = uint(opMax-C.OP_MAX) + uint(C.OP_MAX-opMax)
	_ = uint(OpHooks-C.OP_HOOKS) + uint(C.OP_HOOKS-OpHooks)
	_ = uint(BitCgroup2-C.B_CG2) + uint(C.B_CG2-BitCgroup2)
	_ = uint(BitPlainDir-C.B_PLAINDIR) + uint(C.B_PLAINDIR-BitPlainDir)
	_ = uint(BitKcore-C.B_KCORE) + uint(C.B_KCORE-BitKcore)
	_ = uint(BitDevpts-C.B_DEVPTS) + uint(C.B_DEVPTS-BitDevpts)
	_ = uint(BitRemount-C.B_REMOUNT) + uint(C.B_REMOUNT-BitRemount)
	_ = uint(OpHook-C.OP_HOOK) + uint(C.OP_HOOK-OpHook)
	_ = uint(OpStartHook-C.OP_STARTHOOK) + uint(C.OP_STARTHOOK-OpStartHook)
	_ = uint(OpChroot-C.OP_CHROOT) + uint(C.OP_CHROOT-OpChroot)
	_ = uint(OpPrivate-C.OP_PRIVATE) + uint(C.OP_PRIVATE-OpPrivate)
	_ = uint(OpOverlay-C.OP_OVERLAY) + uint(C.OP_OVERLAY-OpOverlay)
	_ = uint(OpRootBind-C.OP_ROOTBIND) + uint(C.OP_ROOTBIND-OpRootBind)
	_ = uint(BitProcEnv-C.B_PROCENV) + uint(C.B_PROCENV-BitProcEnv)
	_ = uint(BitNoBind-C.B_NOBIND) + uint(C.B_NOBIND-BitNoBind)
	_ = uint(BitCopyUp-C.B_COPYUP) + uint(C.B_COPYUP-BitCopyUp)
	_ = uint(BitCopyUpRO-C.B_COPYUP_RO) + uint(C.B_COPYUP_RO-BitCopyUpRO)
	_ = uint(OpHostBind-C.OP_HOSTBIND) + uint(C.OP_HOSTBIND-OpHostBind)
	_ = uint(BitHostBind-C.B_HOSTBIND) + uint(C.B_HOSTBIND-BitHostBind)
	_ = uint(BitDevBind-C.B_DEVBIND) + uint(C.B_DEVBIND-BitDevBind)
	_ = uint(SyncSeccomp-C.SYNC_SECCOMP) + uint(C.SYNC_SECCOMP-SyncSeccomp)
	_ = uint(SyncSeccompAck-C.SYNC_SECCOMP_ACK) + uint(C.SYNC_SECCOMP_ACK-SyncSeccompAck)
	_ = uint(OpSysctl-C.OP_SYSCTL) + uint(C.OP_SYSCTL-OpSysctl)
	_ = uint(OpMountLabel-C.OP_MOUNTLABEL) + uint(C.OP_MOUNTLABEL-OpMountLabel)
	_ = uint(BitMqueueLabel-C.B_MQLABEL) + uint(C.B_MQLABEL-BitMqueueLabel)
	_ = uint(MaxLSM-C.CX_MAX_LSM) + uint(C.CX_MAX_LSM-MaxLSM)
	_ = uint(BitRelay-C.B_RELAY) + uint(C.B_RELAY-BitRelay)
	_ = uint(BitCover-C.B_COVER) + uint(C.B_COVER-BitCover)
	_ = uint(BitCoverOnEINVAL-C.B_COVER_EINVAL) + uint(C.B_COVER_EINVAL-BitCoverOnEINVAL)
	_ = uint(ExecRelay-C.CX_RELAY) + uint(C.CX_RELAY-ExecRelay)
	_ = uint(ExecNoGroups-C.CX_NOGROUPS) + uint(C.CX_NOGROUPS-ExecNoGroups)
	_ = uint(OpIdmapFD-C.OP_IDMAPFD) + uint(C.OP_IDMAPFD-OpIdmapFD)
	_ = uint(BitIdmap-C.B_IDMAP) + uint(C.B_IDMAP-BitIdmap)
	_ = uint(procattr.KindSched-C.PA_SCHED) + uint(C.PA_SCHED-procattr.KindSched)
	_ = uint(procattr.KindIOPrio-C.PA_IOPRIO) + uint(C.PA_IOPRIO-procattr.KindIOPrio)
	_ = uint(procattr.KindAffinity-C.PA_AFFINITY) + uint(C.PA_AFFINITY-procattr.KindAffinity)
	_ = uint(procattr.KindPersonality-C.PA_PERSONALITY) + uint(C.PA_PERSONALITY-procattr.KindPersonality)
	_ = uint(procattr.KindMemPolicy-C.PA_MEMPOLICY) + uint(C.PA_MEMPOLICY-procattr.KindMemPolicy)
	_ = uint(procattr.KindMax-C.PA_MAX) + uint(C.PA_MAX-procattr.KindMax)
	_ = uint(procattr.PhasePrepare-C.PH_PREPARE) + uint(C.PH_PREPARE-procattr.PhasePrepare)
	_ = uint(procattr.PhaseFinal-C.PH_FINAL) + uint(C.PH_FINAL-procattr.PhaseFinal)
	_ = uint(procattr.MaxAttrs-C.CX_MAX_ATTR) + uint(C.CX_MAX_ATTR-procattr.MaxAttrs)
	_ = uint(procattr.MaxAttrWords-C.CX_MAX_ATTR_WORDS) + uint(C.CX_MAX_ATTR_WORDS-procattr.MaxAttrWords)
)

// MaxBootstrap is the largest bootstrap body the stub accepts.
const MaxBootstrap = C.MAX_BOOTSTRAP

// Bootstrap is what the stub reads from a bootstrap message.
type Bootstrap struct {
	CloneFlags uint32   // namespaces to create
	Join       []string // "type:path", in message order
	Timens     []byte   // text for /proc/self/timens_offsets
	ExecRecord []byte   // the BT_EXEC payload as sent, or nil
	CgroupJoin []string // BT_CGROUP_JOIN: tasks files, in order
	Init       bool     // BT_INIT
	RootFD     int      // BT_ROOT_FD, or -1
	Dumpable   uint32   // BT_DUMPABLE, or 0
	Exec       *ExecPlan
}

// ExecPlan is berth_parse_exec's reading of a BT_EXEC record (layout at
// the top of cexec.c). Flags holds the CX_* bits, ExecRelay among them;
// LSM the exec attributes that follow the console fields.
type ExecPlan struct {
	Flags, UID, GID, Umask, PreserveFDs, LastCap uint32
	Groups                                       []uint32
	Caps                                         [5]uint64 // bounding, effective, permitted, inheritable, ambient
	Rlimits                                      []byte    // n x (u32 resource, u32 0, u64 soft, u64 hard)
	SeccompFlags                                 uint32
	Filters                                      []byte // n x struct sock_filter
	Cwd, Path                                    string
	Args, Env                                    []string
	Console, Rows, Cols                          uint32 // console socket fd (^0: none), process.consoleSize
	LSM                                          []LSMAttr
	Attrs                                        []ProcAttr
}

// ProcAttr is an exec record's process attribute (struct proc_attr).
type ProcAttr struct {
	Kind, Phase uint32
	Words       []uint64
	Msg         string
}

// MaxLSM is how many LSM attributes an exec record may carry (CX_MAX_LSM).
const MaxLSM = 2

// LSMAttr is an exec record's LSM attribute (struct lsm_attr in bootstrap.h).
type LSMAttr struct {
	Dir, Value, Quoted, Test, TestQuoted, Missing, Field string
}

// ParseBootstrap runs the stub's own C parser (berth_parse_bootstrap) on
// body, the bytes after the message's length word. It is for tests: the
// parser gets a copy that ends right before an inaccessible page, so reading
// one byte past the message faults instead of passing unnoticed.
func ParseBootstrap(body []byte) (*Bootstrap, error) {
	if len(body) > MaxBootstrap+1 {
		body = body[:MaxBootstrap+1] // enough to be rejected as too large
	}
	mem, buf, err := guarded(body)
	if err != nil {
		return nil, err
	}
	defer unix.Munmap(mem)

	var out C.struct_bootstrap
	var msg [256]C.char
	// mem is not Go memory, so the parser may leave pointers into it in out.
	p := (*C.char)(unsafe.Pointer(unsafe.SliceData(buf)))
	if C.berth_parse_bootstrap(p, C.uint32_t(len(body)), &out, &msg[0], C.size_t(len(msg))) != 0 {
		return nil, errors.New(C.GoString(&msg[0]))
	}
	b := &Bootstrap{CloneFlags: uint32(out.clone_flags)}
	for i := 0; i < int(out.nr_join); i++ {
		j := out.join[i]
		b.Join = append(b.Join, C.GoString(j._type)+":"+C.GoString(j.path))
	}
	if out.timens != nil {
		b.Timens = C.GoBytes(unsafe.Pointer(out.timens), C.int(out.timens_len))
	}
	for p, end := out.cgroup_join, unsafe.Add(unsafe.Pointer(out.cgroup_join), out.cgroup_join_len); out.cgroup_join != nil && unsafe.Pointer(p) != end; {
		s := C.GoString(p)
		b.CgroupJoin = append(b.CgroupJoin, s)
		p = (*C.char)(unsafe.Add(unsafe.Pointer(p), len(s)+1))
	}
	b.Init = out.cinit != 0
	b.RootFD = int(out.root_fd)
	b.Dumpable = uint32(out.dumpable)
	if out.exec != nil {
		b.ExecRecord = C.GoBytes(unsafe.Pointer(out.exec), C.int(out.exec_len))
		var x C.struct_exec_plan
		if C.berth_parse_exec(out.exec, out.exec_len, &x) != 0 {
			return nil, errors.New("malformed exec record")
		}
		b.Exec = goExecPlan(&x)
	}
	return b, nil
}

// guarded copies body to the end of fresh pages followed by an
// inaccessible one, so a parser reading one byte past it faults. The
// caller unmaps mem.
func guarded(body []byte) (mem, buf []byte, err error) {
	page := unix.Getpagesize()
	size := (len(body) + page - 1) / page * page
	if mem, err = unix.Mmap(-1, 0, size+page, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS); err != nil {
		return nil, nil, err
	}
	if err := unix.Mprotect(mem[size:], unix.PROT_NONE); err != nil {
		unix.Munmap(mem)
		return nil, nil, err
	}
	buf = mem[size-len(body) : size]
	copy(buf, body)
	return mem, buf, nil
}

// Plan is berth_parse_plan's reading of a C init plan (layout at the top
// of cinit.c).
type Plan struct {
	FifoFD      uint32
	Lockable    uint64
	ProcAllowed []string
	Ops         []PlanOp
	Exec        *ExecPlan
}

// PlanOp is one parsed operation.
type PlanOp struct {
	Code uint32
	N    [6]uint64
	Prop []uint64
	S    [6]string
	V    [][]string // OpVectors(Code) string vectors
}

// ParsePlan runs the C init's own parser (berth_parse_plan) on body, the
// bytes after the plan's length word, placed right before an inaccessible
// page as ParseBootstrap does. For tests.
func ParsePlan(body []byte) (*Plan, error) {
	mem, buf, err := guarded(body)
	if err != nil {
		return nil, err
	}
	defer unix.Munmap(mem)
	var p C.struct_plan
	var ptr *C.char
	if len(buf) > 0 {
		ptr = (*C.char)(unsafe.Pointer(&buf[0]))
	}
	rc := C.berth_parse_plan(ptr, C.uint32_t(len(buf)), &p)
	if rc != 0 {
		C.berth_free_plan(&p)
		return nil, errors.New("malformed plan")
	}
	out := &Plan{FifoFD: uint32(p.fifo_fd), Lockable: uint64(p.lockable), ProcAllowed: goStrings(p.proc_allowed)}
	ops := unsafe.Slice(p.ops, int(p.nops))
	for i := range ops {
		o := &ops[i]
		op := PlanOp{Code: uint32(o.code)}
		for k := range op.N {
			op.N[k] = uint64(o.n[k])
			op.S[k] = C.GoString(o.s[k])
		}
		if o.nprop > 0 {
			raw := C.GoBytes(unsafe.Pointer(o.prop), C.int(o.nprop*8))
			for k := 0; k < len(raw); k += 8 {
				op.Prop = append(op.Prop, *(*uint64)(unsafe.Pointer(&raw[k])))
			}
		}
		for k := 0; k < OpVectors(op.Code); k++ {
			op.V = append(op.V, goStrings(o.v[k]))
		}
		out.Ops = append(out.Ops, op)
	}
	x := p.x
	p.x.argv, p.x.envp = nil, nil // goExecPlan frees them
	out.Exec = goExecPlan(&x)
	C.berth_free_plan(&p)
	return out, nil
}

// goExecPlan copies a parsed exec record into Go memory and frees the
// argument and environment arrays the parser allocated.
func goExecPlan(x *C.struct_exec_plan) *ExecPlan {
	defer C.free(unsafe.Pointer(x.argv))
	defer C.free(unsafe.Pointer(x.envp))
	e := &ExecPlan{
		Flags: uint32(x.flags), UID: uint32(x.uid), GID: uint32(x.gid), Umask: uint32(x.umask),
		PreserveFDs: uint32(x.preserve_fds), LastCap: uint32(x.last_cap), SeccompFlags: uint32(x.seccomp_flags),
		Cwd: C.GoString(x.cwd), Path: C.GoString(x.path),
		Console: uint32(x.console_fd), Rows: uint32(x.rows), Cols: uint32(x.cols),
	}
	if x.ngroups > 0 {
		g := C.GoBytes(x.groups, C.int(x.ngroups*4))
		for i := 0; i < len(g); i += 4 {
			e.Groups = append(e.Groups, *(*uint32)(unsafe.Pointer(&g[i])))
		}
	}
	for i := range e.Caps {
		e.Caps[i] = uint64(x.caps[i])
	}
	if x.nrlimits > 0 {
		e.Rlimits = C.GoBytes(unsafe.Pointer(x.rlimits), C.int(x.nrlimits*24))
	}
	if x.nfilters > 0 {
		e.Filters = C.GoBytes(x.filters, C.int(x.nfilters*8))
	}
	e.Args = goStrings(x.argv)
	e.Env = goStrings(x.envp)
	for i := 0; i < int(x.nlsm); i++ {
		a := &x.lsm[i]
		e.LSM = append(e.LSM, LSMAttr{C.GoString(a.dir), C.GoString(a.value), C.GoString(a.quoted),
			C.GoString(a.test), C.GoString(a.testq), C.GoString(a.missing), C.GoString(a.field)})
	}
	for i := 0; i < int(x.nattr); i++ {
		a := &x.attr[i]
		pa := ProcAttr{Kind: uint32(a.kind), Phase: uint32(a.phase), Msg: C.GoString(a.msg)}
		if a.nwords > 0 {
			raw := C.GoBytes(unsafe.Pointer(a.words), C.int(a.nwords*8))
			for k := 0; k < len(raw); k += 8 {
				pa.Words = append(pa.Words, *(*uint64)(unsafe.Pointer(&raw[k])))
			}
		}
		e.Attrs = append(e.Attrs, pa)
	}
	return e
}

// goStrings reads a NULL-terminated C string array.
func goStrings(v **C.char) []string {
	var out []string
	for p := v; *p != nil; p = (**C.char)(unsafe.Add(unsafe.Pointer(p), unsafe.Sizeof(*p))) {
		out = append(out, C.GoString(*p))
	}
	return out
}

// signalName, hookTail and opVectors run chook.c's and cinit.c's own code,
// for the tests that hold them to Go's.
func signalName(sig int) string {
	var buf [32]C.char
	return C.GoString(C.berth_signal_name(C.int(sig), &buf[0], C.size_t(len(buf))))
}

func hookTail(data []byte, cut bool) string {
	var out [8192]C.char
	c := C.int(0)
	if cut {
		c = 1
	}
	mem := C.CBytes(append(data, 0))
	defer C.free(mem)
	C.berth_hook_tail((*C.char)(mem), C.size_t(len(data)), c, &out[0], C.size_t(len(out)))
	return C.GoString(&out[0])
}

func opVectors(code uint32) int { return int(C.berth_op_vectors(C.uint32_t(code))) }
