package libcontainer

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"berth/libcontainer/seccomp"
	"berth/nsenter"
	"berth/rootfs"
)

// The container init finished in C (nsenter/cinit.c): for the common
// create the parent compiles the spec into a plan of mount, device and
// process steps, and the init runs it without starting the Go runtime or
// decoding the spec (~3 ms of a create here). What needs Go (below) takes
// the Go init, which is the reference the C init follows step for step.

// cInitReason says why this create needs the Go init, or "" when the C init
// can do it. BERTH_INIT_GO=1 forces the Go init (to compare the two).
func cInitReason(o *CreateOpts, plan *nsPlan) string {
	s, l := o.Spec, o.Spec.Linux
	switch {
	case os.Getenv("BERTH_INIT_GO") == "1":
		return "BERTH_INIT_GO=1"
	case !plan.has(specs.MountNamespace):
		return "no new mount namespace"
	case s.Process.ApparmorProfile != "" || s.Process.SelinuxLabel != "":
		return "LSM label"
	case seccomp.UsesNotify(l.Seccomp):
		return "seccomp listener"
	case s.Hooks != nil && (len(s.Hooks.CreateContainer) > 0 || len(s.Hooks.StartContainer) > 0):
		return "createContainer/startContainer hooks"
	case len(l.Sysctl) > 0:
		return "linux.sysctl"
	}
	return rootfs.PlanUnsupported(&rootfs.Config{Spec: s, UserNS: plan.userNS()})
}

// cInitPlan encodes the plan for the init pid (layout at the top of
// cinit.c), in the Go init's order: setsid, rootfs.Setup (with the hooks
// point), the terminal, loopback, hostname, domainname, rootfs.Finalize,
// keyring, then the process.
//
// own gives the init's cgroups (rootfs.Config.OwnCgroups) once it has
// joined them; the rest is compiled while the init is still being made.
// consoleFD is the console socket's fd in the init, or -1.
func cInitPlan(o *CreateOpts, spec *specs.Spec, own func() (map[string]string, error), fifoFD, preserveFDs, consoleFD int, netNS, cgroupNS bool) ([]byte, error) {
	rc := &rootfs.Config{Spec: spec, Rootfs: o.Rootfs, Bundle: o.Bundle, NoPivot: o.NoPivot, CgroupNS: cgroupNS, OwnCgroupsFrom: own}
	// First: the init leads a session of its own, so that a terminal can
	// become its controlling tty.
	ops := []rootfs.PlanOp{{Code: nsenter.OpSetsid}}
	setup, err := rootfs.PlanSetup(rc)
	if err != nil {
		return nil, fmt.Errorf("rootfs: %w", err)
	}
	ops = append(ops, setup...)
	if consoleFD >= 0 {
		// After the pivot, so the pty comes from the container's own
		// devpts and /dev/console is the container's; before Finalize,
		// which may make /dev read-only or mask it.
		ops = append(ops, consoleOp(spec.Process, consoleFD, o.ConsoleRelay))
	}
	if netNS {
		ops = append(ops, rootfs.PlanOp{Code: nsenter.OpLoopback})
	}
	if spec.Hostname != "" {
		ops = append(ops, rootfs.PlanOp{Code: nsenter.OpHostname, S: [6]string{spec.Hostname}})
	}
	if spec.Domainname != "" {
		ops = append(ops, rootfs.PlanOp{Code: nsenter.OpDomainname, S: [6]string{spec.Domainname}})
	}
	ops = append(ops, rootfs.PlanFinalize(rc)...)
	if !o.NoNewKeyring {
		ops = append(ops, rootfs.PlanOp{Code: nsenter.OpKeyring, S: [6]string{"_ses." + o.ID}})
	}
	ops = append(ops, rootfs.PlanOp{Code: nsenter.OpMark, S: [6]string{"rootfs finalized, hostname"}})
	x := &recordWriter{}
	// The terminal is OP_CONSOLE's: the record has none.
	if err := x.process(spec.Linux.Seccomp, spec.Process, preserveFDs, -1, false); err != nil {
		return nil, err
	}
	// Last: this waits for the init to have joined its cgroups.
	if ops, err = rootfs.ResolveCgroups(rc, ops); err != nil {
		return nil, fmt.Errorf("rootfs: %w", err)
	}

	w := &recordWriter{}
	allowed, lockable := rootfs.PlanHeader()
	w.u32(uint32(fifoFD))
	w.u64(lockable)
	w.strs(allowed, true)
	w.u32(uint32(len(ops)))
	for _, op := range ops {
		w.u32(op.Code)
		for _, n := range op.N {
			w.u64(n)
		}
		w.u32(uint32(len(op.Prop)))
		for _, p := range op.Prop {
			w.u64(p)
		}
		for _, s := range op.S {
			if strings.ContainsRune(s, 0) {
				return nil, fmt.Errorf("config.json: %q contains a NUL byte", s)
			}
			w.strs([]string{s}, false)
		}
	}
	w.u32(uint32(len(x.b)))
	w.b = append(w.b, x.b...)
	out := binary.NativeEndian.AppendUint32(nil, uint32(len(w.b)))
	return append(out, w.b...), nil
}

// consoleOp is the init's terminal (process.terminal), as setupConsole of
// the Go init makes it: a pty from the container's /dev/ptmx, the slave
// given to process.user.uid and bound over /dev/console, made the
// controlling terminal and stdio, the master sent to the console socket
// (consoleFD in the init). relay: berth relays the pty itself (run -t), so
// ONLCR goes off, as runc's relay does.
func consoleOp(proc *specs.Process, consoleFD int, relay bool) rootfs.PlanOp {
	op := rootfs.PlanOp{Code: nsenter.OpConsole, S: [6]string{"/dev/ptmx", "/dev/console", 4: "process.terminal"}}
	op.N[0] = uint64(consoleFD)
	if cs := proc.ConsoleSize; cs != nil {
		op.N[1], op.N[3] = uint64(cs.Height), uint64(cs.Width)
	}
	if relay {
		op.N[2] = nsenter.BitRelay
	}
	op.N[4] = uint64(proc.User.UID)
	return op
}

// cInitExchange serves the C init until it is ready: at the hooks point it
// calls hooksPoint (limits, prestart and createRuntime hooks) and lets the
// init go on; the init's step timings go to the clock's log.
func cInitExchange(sock *os.File, clk stepClock, hooksPoint func() error) error {
	for {
		tag, val, err := readSync(sock)
		if err != nil {
			return fmt.Errorf("container init exited unexpectedly (%v)", err)
		}
		switch tag {
		case nsenter.SyncHooks, nsenter.SyncReady:
			steps, err := readCTrace(sock, val)
			if err != nil {
				return err
			}
			clk.initSteps("create: init: ", steps)
			if tag == nsenter.SyncReady {
				return nil
			}
			if err := hooksPoint(); err != nil {
				return err
			}
			if _, err := sock.Write(binary.NativeEndian.AppendUint32(nil, nsenter.SyncHooksAck)); err != nil {
				return fmt.Errorf("container init: %w", err)
			}
		case nsenter.SyncErr:
			return readStubError(sock, val)
		default:
			return fmt.Errorf("container init: unexpected sync tag %#x", tag)
		}
	}
}

// readCTrace reads size bytes of C init step timings: u64 ns, u32 len, name.
func readCTrace(sock *os.File, size uint32) ([]traceStep, error) {
	if size > 64<<10 {
		return nil, fmt.Errorf("container init: trace of %d bytes", size)
	}
	b := make([]byte, size)
	if _, err := io.ReadFull(sock, b); err != nil {
		return nil, fmt.Errorf("container init: read trace: %w", err)
	}
	var steps []traceStep
	for len(b) >= 12 {
		ns := binary.NativeEndian.Uint64(b)
		n := binary.NativeEndian.Uint32(b[8:])
		if uint32(len(b)-12) < n {
			break
		}
		steps = append(steps, traceStep{Step: string(b[12 : 12+n]), Mono: int64(ns)})
		b = b[12+n:]
	}
	return steps, nil
}
