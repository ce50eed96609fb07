package libcontainer

import (
	"encoding/binary"
	"fmt"
	"strings"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"berth/libcontainer/caps"
	"berth/libcontainer/lsm"
	"berth/libcontainer/procattr"
	"berth/libcontainer/seccomp"
	"berth/nsenter"
)

// The flags of the stub's exec record (CX_* in nsenter/bootstrap.h).
const (
	cxNNP   = 1
	cxUmask = 2
	cxCaps  = 4
	cxRelay = nsenter.ExecRelay // berth relays the terminal: ONLCR off
)

// cExecRecord encodes proc for the nsenter stub to exec without starting
// the Go runtime (nsenter/cexec.c). Everything the host side can work out
// is done here: capability
// masks, the compiled seccomp program and its flags (a listener's
// included), rlimit numbers, the LSM attributes and their messages.
//
// consoleFD is the console socket's fd in the exec process (the stub makes
// the pty), or -1; relay says berth relays that pty
// itself (exec -t without --console-socket).
func cExecRecord(spec *specs.Spec, proc *specs.Process, preserveFDs, consoleFD int, relay, noGroups bool) ([]byte, error) {
	w := &recordWriter{noGroups: noGroups}
	if err := w.process(spec.Linux, proc, preserveFDs, consoleFD, relay); err != nil {
		return nil, err
	}
	return w.b, nil
}

// process appends the exec record of proc in a container of l (the
// layout at the top of cexec.c).
func (w *recordWriter) process(l *specs.Linux, proc *specs.Process, preserveFDs, consoleFD int, relay bool) error {
	if err := noNUL(proc); err != nil {
		return err
	}
	var sc *specs.LinuxSeccomp
	if l != nil {
		sc = l.Seccomp
	}
	u32, u64, strs := w.u32, w.u64, w.strs

	flags := uint32(0)
	if proc.NoNewPrivileges {
		flags |= cxNNP
	}
	umask := uint32(0)
	if proc.User.Umask != nil {
		flags |= cxUmask
		umask = *proc.User.Umask
	}
	// No capabilities object means none at all. The
	// warnings were logged by normalizeProcess.
	flags |= cxCaps
	if relay && consoleFD >= 0 {
		// berth's own relay wants the container's bytes, as runc's does.
		flags |= cxRelay
	}
	if w.noGroups {
		if len(proc.User.AdditionalGids) > 0 {
			return fmt.Errorf("process.user.additionalGids %v: setgroups is denied in the container's user namespace (its gid map was written by an unprivileged caller)", proc.User.AdditionalGids)
		}
		flags |= nsenter.ExecNoGroups
	}
	sets, _, err := caps.FromSpec(proc.Capabilities)
	if err != nil {
		return fmt.Errorf("process.capabilities: %w", err)
	}
	u32(flags)
	u32(proc.User.UID)
	u32(proc.User.GID)
	u32(umask)
	u32(uint32(preserveFDs))
	u32(uint32(caps.LastCap()))
	u32(uint32(len(proc.User.AdditionalGids)))
	for _, g := range proc.User.AdditionalGids {
		u32(g)
	}
	for _, m := range []uint64{sets.Bounding, sets.Effective, sets.Permitted, sets.Inheritable, sets.Ambient} {
		u64(m)
	}
	u32(uint32(len(proc.Rlimits)))
	for i, rl := range proc.Rlimits {
		res, ok := rlimitResources[rl.Type]
		if !ok {
			return fmt.Errorf("process.rlimits[%d].type %q: unknown resource", i, rl.Type)
		}
		u32(uint32(res))
		u32(0)
		u64(rl.Soft)
		u64(rl.Hard)
	}
	if sc != nil {
		prog, err := seccomp.Compile(sc)
		if err != nil {
			return fmt.Errorf("linux.seccomp: %w", err)
		}
		sflags, err := seccomp.Flags(sc)
		if err != nil {
			return err
		}
		u32(sflags)
		u32(uint32(len(prog)))
		if len(prog) > 0 {
			w.b = append(w.b, unsafe.Slice((*byte)(unsafe.Pointer(&prog[0])), len(prog)*int(unsafe.Sizeof(unix.SockFilter{})))...)
		}
	} else {
		u32(0)
		u32(0)
	}
	strs([]string{proc.Cwd}, false)
	strs([]string{searchPath(proc.Env)}, false)
	strs(proc.Args, true)
	strs(proc.Env, true)
	u32(uint32(int32(consoleFD))) // -1: CX_NO_CONSOLE
	var rows, cols uint32
	if cs := proc.ConsoleSize; cs != nil && consoleFD >= 0 {
		rows, cols = uint32(cs.Height), uint32(cs.Width)
	}
	u32(rows)
	u32(cols)
	ws := lsm.ExecWrites(proc)
	if len(ws) > nsenter.MaxLSM {
		return fmt.Errorf("%d LSM attributes, the exec record holds %d", len(ws), nsenter.MaxLSM)
	}
	u32(uint32(len(ws)))
	for _, a := range ws {
		for _, s := range []string{a.Dir, a.Value, a.Quoted, a.Test, a.TestQuoted, a.Missing, a.Field} {
			if strings.ContainsRune(s, 0) {
				return fmt.Errorf("%s: contains a NUL byte", a.Field)
			}
			strs([]string{s}, false)
		}
	}
	attrs, err := procattr.Compile(l, proc)
	if err != nil {
		return err
	}
	u32(uint32(len(attrs)))
	for _, a := range attrs {
		u32(a.Kind)
		u32(a.Phase)
		u32(uint32(len(a.Words)))
		for _, v := range a.Words {
			u64(v)
		}
		strs([]string{a.Msg}, false)
	}
	return nil
}

// recordWriter lays out an exec record as cexec.c reads it (host byte order).
type recordWriter struct {
	b []byte
	// noGroups: the process record gets CX_NOGROUPS (setgroups denied).
	noGroups bool
}

func (w *recordWriter) u32(v uint32) { w.b = binary.NativeEndian.AppendUint32(w.b, v) }
func (w *recordWriter) u64(v uint64) { w.b = binary.NativeEndian.AppendUint64(w.b, v) }

// strs writes NUL-terminated strings after their byte length, and their
// count first when counted.
func (w *recordWriter) strs(l []string, counted bool) {
	var body []byte
	for _, s := range l {
		body = append(append(body, s...), 0)
	}
	if counted {
		w.u32(uint32(len(l)))
	}
	w.u32(uint32(len(body)))
	w.b = append(w.b, body...)
}

// searchPath is the PATH args[0] is looked up in, by lookPath and by the
// stub: process.env's PATH, else the usual default.
func searchPath(env []string) string {
	p := "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "PATH="); ok {
			p = v
		}
	}
	return p
}

// noNUL refuses strings the stub's records cannot carry (NUL-terminated),
// naming the field, where the kernel would cut them short.
func noNUL(proc *specs.Process) error {
	if strings.ContainsRune(proc.Cwd, 0) {
		return fmt.Errorf("process.cwd %q: contains a NUL byte", proc.Cwd)
	}
	for i, a := range proc.Args {
		if strings.ContainsRune(a, 0) {
			return fmt.Errorf("process.args[%d] %q: contains a NUL byte", i, a)
		}
	}
	for i, e := range proc.Env {
		if strings.ContainsRune(e, 0) {
			return fmt.Errorf("process.env[%d] %q: contains a NUL byte", i, e)
		}
	}
	return nil
}

// rlimitResources are the RLIMIT_* names of process.rlimits[].type.
var rlimitResources = map[string]int{
	"RLIMIT_AS": unix.RLIMIT_AS, "RLIMIT_CORE": unix.RLIMIT_CORE, "RLIMIT_CPU": unix.RLIMIT_CPU,
	"RLIMIT_DATA": unix.RLIMIT_DATA, "RLIMIT_FSIZE": unix.RLIMIT_FSIZE, "RLIMIT_LOCKS": unix.RLIMIT_LOCKS,
	"RLIMIT_MEMLOCK": unix.RLIMIT_MEMLOCK, "RLIMIT_MSGQUEUE": unix.RLIMIT_MSGQUEUE, "RLIMIT_NICE": unix.RLIMIT_NICE,
	"RLIMIT_NOFILE": unix.RLIMIT_NOFILE, "RLIMIT_NPROC": unix.RLIMIT_NPROC, "RLIMIT_RSS": unix.RLIMIT_RSS,
	"RLIMIT_RTPRIO": unix.RLIMIT_RTPRIO, "RLIMIT_RTTIME": unix.RLIMIT_RTTIME, "RLIMIT_SIGPENDING": unix.RLIMIT_SIGPENDING,
	"RLIMIT_STACK": unix.RLIMIT_STACK,
}
