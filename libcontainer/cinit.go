package libcontainer

import (
	"encoding/binary"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"berth/nsenter"
	"berth/rootfs"
)

// Go decides, C executes: for every create the parent compiles the spec
// into a plan of mount, device, hook and process steps, and the init
// (nsenter/cinit.c) runs it without starting the Go runtime or decoding
// the spec. Every decision, option parse, path join and error text is
// made here and in rootfs/, unit-tested as a pure function; the executor
// decides nothing.

// initFacts are what the plan needs of the init once it exists: its pid
// as the host sees it (for the hooks' state) and its cgroups
// (rootfs.Config.OwnCgroups).
type initFacts struct {
	pid int
	own map[string]string
}

// initFactsResult is the parent's one answer to the plan compiler, once
// the init exists (or create failed).
type initFactsResult struct {
	facts initFacts
	err   error
}

// initFactsOnce is cInitPlan's facts from the parent's one answer on ch:
// the compiler asks for each "cgroup" mount and for the hooks, and a
// second receive would wait forever.
func initFactsOnce(ch <-chan initFactsResult) func() (initFacts, error) {
	return sync.OnceValues(func() (initFacts, error) {
		r := <-ch
		return r.facts, r.err
	})
}

// initNS says which namespaces the init has that its plan depends on: a
// new mount namespace or a joined one (a path in linux.namespaces), a new
// network namespace, a cgroup and a user namespace of its own.
type initNS struct {
	mount, joinedMount, net, cgroup, user bool
}

// initNSOf is initNS of a namespace plan.
func initNSOf(p *nsPlan) initNS {
	return initNS{
		mount:       p.has(specs.MountNamespace),
		joinedMount: !p.has(specs.MountNamespace) && joins(p, "mount"),
		net:         p.has(specs.NetworkNamespace),
		cgroup:      p.has(specs.CgroupNamespace),
		user:        p.userNS(),
	}
}

// cInitPlan encodes the plan for the init pid (layout at the top of
// cinit.c), in runc's order: setsid, the rootfs (rootfs.PlanSetup, with
// the hooks point and the createContainer hooks; without a mount namespace
// only those and a chroot), the terminal, loopback, hostname, domainname,
// sysctl, masked and read-only paths (rootfs.PlanFinalize), keyring, then
// the process; the startContainer hooks last, which the init runs once
// `berth start` opened the exec fifo.
//
// facts gives what is known once the init exists (it may be called more
// than once); the rest is compiled while the init is still being made.
// consoleFD is the console socket's fd in the init, or -1.
func cInitPlan(o *CreateOpts, spec *specs.Spec, facts func() (initFacts, error), fifoFD, preserveFDs, consoleFD int, ns initNS) ([]byte, error) {
	own := func() (map[string]string, error) {
		f, err := facts()
		return f.own, err
	}
	mountNS, netNS := ns.mount || ns.joinedMount, ns.net
	rc := &rootfs.Config{Spec: spec, Rootfs: o.Rootfs, Bundle: o.Bundle, NoPivot: o.NoPivot, UserNS: ns.user, CgroupNS: ns.cgroup, OwnCgroupsFrom: own, IdmapFDs: o.idmapFDs}
	// The mount facts of the init's own namespace are read through it
	// once it is there; a joined one's rootfs is built as a new one's.
	rc.JoinedMountNS = ns.joinedMount
	rc.InitPid = func() (int, error) {
		f, err := facts()
		return f.pid, err
	}
	var createHooks, startHooks []specs.Hook
	if h := spec.Hooks; h != nil {
		createHooks, startHooks = h.CreateContainer, h.StartContainer
	}
	// First: the init leads a session of its own, so that a terminal can
	// become its controlling tty.
	ops := []rootfs.PlanOp{{Code: nsenter.OpSetsid}}
	if mountNS {
		// A failure of the rootfs steps, the createContainer hooks
		// included, reads "rootfs: ...".
		rc.BeforePivotOps = hookOps("createContainer", nsenter.OpHook, createHooks, o.Rootfs, "rootfs: ")
		setup, err := rootfs.PlanSetup(rc)
		if err != nil {
			return nil, fmt.Errorf("rootfs: %w", err)
		}
		ops = append(ops, setup...)
	} else {
		// Sharing the host's mount namespace: the hooks point and the
		// createContainer hooks, then a chroot is all that can be done
		// without rearranging the host's mounts (spec validation refused
		// what needs more).
		ops = append(ops, rootfs.PlanOp{Code: nsenter.OpHooks})
		ops = append(ops, hookOps("createContainer", nsenter.OpHook, createHooks, o.Rootfs, "")...)
		ops = append(ops, rootfs.PlanOp{Code: nsenter.OpChroot, S: [6]string{o.Rootfs}})
	}
	if consoleFD >= 0 {
		// After the pivot (or the chroot), so the pty comes from the
		// container's own devpts and /dev/console is the container's;
		// before the masked and read-only paths, which may make /dev
		// read-only or mask it.
		ops = append(ops, consoleOp(spec.Process, consoleFD, o.ConsoleRelay, mountNS))
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
	// After the hostname (a kernel.hostname sysctl is written last and
	// wins) and before the masked and read-only paths (runc's order).
	sysctl, err := planSysctl(spec.Linux.Sysctl)
	if err != nil {
		return nil, err
	}
	ops = append(ops, sysctl...)
	if mountNS {
		ops = append(ops, rootfs.PlanFinalize(rc)...)
	}
	if !o.NoNewKeyring {
		ops = append(ops, rootfs.PlanOp{Code: nsenter.OpKeyring, S: [6]string{"_ses." + o.ID}})
	}
	ops = append(ops, rootfs.PlanOp{Code: nsenter.OpMark, S: [6]string{"rootfs finalized, hostname"}})
	// Last: after the wait on the fifo, as the process, just before the
	// execve (the C init stops its setup at the first of them).
	ops = append(ops, hookOps("startContainer", nsenter.OpStartHook, startHooks, "", "")...)
	x := &recordWriter{noGroups: setgroupsDenied(spec.Linux)}
	// The terminal is OP_CONSOLE's: the record has none.
	if err := x.process(spec.Linux, initProcess(spec.Process), preserveFDs, -1, false); err != nil {
		return nil, err
	}
	// Last: these wait for the init to exist and to have joined its cgroups.
	if ops, err = rootfs.ResolveCgroups(rc, ops); err != nil {
		return nil, fmt.Errorf("rootfs: %w", err)
	}
	if hasHookOps(ops) {
		f, err := facts()
		if err != nil {
			return nil, err
		}
		if err := setHookStates(ops, o, spec, f.pid); err != nil {
			return nil, err
		}
	}

	return encodePlan(fifoFD, ops, x.b)
}

// encodePlan lays out a plan (the layout at the top of cinit.c): the
// header, ops, then the exec record x; with its length word in front.
func encodePlan(fifoFD int, ops []rootfs.PlanOp, x []byte) ([]byte, error) {
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
		if len(op.V) != nsenter.OpVectors(op.Code) {
			return nil, fmt.Errorf("plan: operation %d has %d string vectors, want %d", op.Code, len(op.V), nsenter.OpVectors(op.Code))
		}
		for _, v := range op.V {
			for _, s := range v {
				if strings.ContainsRune(s, 0) {
					return nil, fmt.Errorf("config.json: %q contains a NUL byte", s)
				}
			}
			w.strs(v, true)
		}
	}
	w.u32(uint32(len(x)))
	w.b = append(w.b, x...)
	out := binary.NativeEndian.AppendUint32(nil, uint32(len(w.b)))
	return append(out, w.b...), nil
}

// consoleOp is the init's terminal (process.terminal): a pty from the container's /dev/ptmx, the slave
// given to process.user.uid and bound over /dev/console (with a mount
// namespace only: S[1] is empty without one), made the controlling
// terminal and stdio, the master sent to the console socket (consoleFD in
// the init). relay: berth relays the pty itself (run -t), so ONLCR goes
// off, as runc's relay does.
func consoleOp(proc *specs.Process, consoleFD int, relay, mountNS bool) rootfs.PlanOp {
	op := rootfs.PlanOp{Code: nsenter.OpConsole, S: [6]string{"/dev/ptmx", "/dev/console", 4: "process.terminal"}}
	if !mountNS {
		op.S[1] = ""
	}
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

// planSysctl compiles linux.sysctl into one write each, in name order:
// the file below a procfs root and the value.
func planSysctl(sysctl map[string]string) ([]rootfs.PlanOp, error) {
	var ops []rootfs.PlanOp
	for _, k := range slices.Sorted(maps.Keys(sysctl)) {
		rel, err := sysctlPath(k)
		if err != nil {
			return nil, err
		}
		v := sysctl[k]
		ops = append(ops, rootfs.PlanOp{Code: nsenter.OpSysctl, S: [6]string{rel, v, fmt.Sprintf("%q", v), 4: fmt.Sprintf("linux.sysctl %q", k)}})
	}
	return ops, nil
}

// sysctlPath is the file of sysctl k below a procfs root ("net.ipv4.ip_forward"
// is "sys/net/ipv4/ip_forward"); a name that could leave /proc/sys is refused.
func sysctlPath(k string) (string, error) {
	if k == "" || strings.Contains(k, "/") || strings.Contains(k, "..") {
		return "", fmt.Errorf("linux.sysctl %q: invalid name", k)
	}
	return "sys/" + strings.ReplaceAll(k, ".", "/"), nil
}

// cInitExchange serves the C init until it is ready: at the hooks point it
// calls hooksPoint (limits, prestart and createRuntime hooks) and lets the
// init go on; a seccomp listener it sends goes to listener (the agent); the
// init's step timings go to the clock's log. sock is the sync socket, read
// with recvmsg (fdConn) when a listener may come.
func cInitExchange(sock io.ReadWriter, clk stepClock, hooksPoint func() error, listener func(sock io.Reader) error) error {
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
		case nsenter.SyncSeccomp:
			if err := listener(sock); err != nil {
				return err
			}
			if _, err := sock.Write(binary.NativeEndian.AppendUint32(nil, nsenter.SyncSeccompAck)); err != nil {
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
func readCTrace(sock io.Reader, size uint32) ([]traceStep, error) {
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
