package libcontainer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"berth/cgroups"
	"berth/libcontainer/lsm"
	"berth/nsenter"
)

// ExecOpts describe a process to start in a running container.
type ExecOpts struct {
	Process *specs.Process
	PidFile string
	// Console is a connected console socket; required when Process.Terminal.
	Console *os.File
	// ConsoleRelay says berth itself receives the pty master on Console
	// and relays it (exec -t without --console-socket).
	ConsoleRelay bool
	PreserveFDs  int
	// IgnorePaused allows exec into a paused container.
	IgnorePaused bool
	// Cgroup names a sub-cgroup of the container to run in (runc's exec
	// --cgroup): "sub" for every controller, or "ctrl[,ctrl]:sub" entries.
	Cgroup                []string
	Stdin, Stdout, Stderr *os.File
}

// Exec starts o.Process inside the running container c, as just loaded (its
// state is not read again): the nsenter stub joins each of the init's
// namespaces, then applies the process's user, capabilities, rlimits,
// seccomp and cwd from the record compiled here (exec_c.go), and execs.
func (c *Container) Exec(o *ExecOpts) (info *CreatedInfo, err error) {
	clk := startClock()
	st, id := c.state, c.state.ID
	switch status := c.Status(); {
	case status == Paused && !o.IgnorePaused:
		return nil, fmt.Errorf("cannot exec in container %q: it is paused (resume it, or use --ignore-paused)", id)
	case status != Running && status != Created && status != Paused:
		return nil, fmt.Errorf("cannot exec in container %q: it is %s", id, status)
	}
	if o.Process == nil || len(o.Process.Args) == 0 {
		return nil, errors.New("exec: process.args must not be empty")
	}
	if o.Process.Terminal && o.Console == nil {
		return nil, errors.New("exec: process.terminal is true but no --console-socket was given")
	}
	if err := lsm.CheckHost(o.Process, ""); err != nil {
		return nil, fmt.Errorf("exec: %w", err)
	}
	plan := &nsPlan{}
	mountNS := false
	for _, ns := range st.view().namespaces() {
		f, ok := nsFlags[ns.Type]
		if !ok {
			continue
		}
		mountNS = mountNS || ns.Type == specs.MountNamespace
		plan.join = append(plan.join, f.name+":/proc/"+strconv.Itoa(st.Pid)+"/ns/"+f.proc)
	}
	// Without a mount namespace the init chrooted into the rootfs, and
	// joining its other namespaces would leave the process in the host's
	// root: the stub chroots into the init's root (root, below). Opened
	// before the pid is checked, so that it is the init's.
	var root *os.File
	var rootErr error
	if !mountNS {
		root, rootErr = openRoot(st.Pid)
		if root != nil {
			defer root.Close()
		}
	}
	// The namespace paths name the init by pid: make sure it still is the init.
	if !alive(st.Pid, st.PidStart) {
		return nil, fmt.Errorf("cannot exec in container %q: it is stopped", id)
	}
	if rootErr != nil {
		return nil, fmt.Errorf("cannot exec in container %q: %w", id, rootErr)
	}

	clk.step("exec: state checked")
	// The exec record needs only the process, the seccomp profile and the
	// container-wide process attributes of the spec.
	ev := st.execView()
	preserve, listenEnv := preservedFiles(o.PreserveFDs)
	proc, err := normalizeProcess(o.Process, listenEnv)
	if err != nil {
		return nil, fmt.Errorf("exec: %w", err)
	}
	execSpec := &specs.Spec{Process: proc, Linux: ev.linux()}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("socketpair: %w", err)
	}
	parentSock := os.NewFile(uintptr(fds[0]), "exec-parent")
	childSock := os.NewFile(uintptr(fds[1]), "exec-child")
	defer parentSock.Close()
	extra := append([]*os.File{}, preserve...)
	base := 3 + len(extra)
	extra = append(extra, childSock)
	consoleFD := -1
	if o.Console != nil {
		extra = append(extra, o.Console)
		consoleFD = base + 1
	}
	if root != nil {
		extra = append(extra, root)
		plan.rootFD = 3 + len(extra) - 1
	}
	if plan.exec, err = cExecRecord(execSpec, execSpec.Process, len(preserve), consoleFD, o.ConsoleRelay, st.SetgroupsDenied); err != nil {
		return nil, err
	}
	clk.step("exec: process record")
	cmd, exe, err := initCmd(extra, base, st.view().containerIDs(), o.Stdin, o.Stdout, o.Stderr)
	if err != nil {
		return nil, err
	}
	defer exe.Close()
	clk.step("exec: binary opened")
	mgr := st.cgroup()
	if len(o.Cgroup) > 0 {
		if mgr, err = subCgroup(st, o.Cgroup); err != nil {
			return nil, err
		}
	}
	start := cmd.Start
	if mgr != nil {
		plan.cgroupJoin = mgr.JoinFiles()
		// Born in the container's cgroup, as the init is (see StartIn).
		start = func() error {
			return cgroups.StartIn(mgr, func(cgroupFD int) error {
				if cgroupFD >= 0 {
					cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: cgroupFD}
				}
				return cmd.Start()
			})
		}
	}
	if start, err = withInitialAffinity(proc, start); err != nil {
		childSock.Close()
		return nil, err
	}
	if err := start(); err != nil {
		childSock.Close()
		if cmd.Process != nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
		if mgr != nil {
			// EBUSY, EOPNOTSUPP: say which cgroup v2 rule the target breaks.
			err = cgroups.JoinError(mgr, err)
		}
		return nil, fmt.Errorf("start exec process: %w", err)
	}
	childSock.Close()
	clk.step("exec: spawned")
	defer func() {
		if err != nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()
	if st.IntelRdt != nil {
		// While the stub waits for its bootstrap: whatever it forks
		// (the process of a pid namespace) inherits the group.
		if err := st.IntelRdt.Join(cmd.Process.Pid); err != nil {
			return nil, fmt.Errorf("exec in container %q: %w", id, err)
		}
	}
	pid, err := stubExchange(parentSock, plan, func(int) error { return errors.New("exec never creates a user namespace") })
	if err != nil {
		return nil, fmt.Errorf("exec in container %q: %w", id, err)
	}
	child := pid == cmd.Process.Pid
	if !child {
		cmd.Wait()
	}
	clk.step("exec: namespaces joined")
	// The stub execs by itself (exec_c.go): end-of-file, or its error;
	// a seccomp listener on the way goes to the agent.
	listener := func(conn io.Reader) error {
		return handListener(conn, &listenerAgent{execSpec.Linux.Seccomp, pid, c.state.oci(c.Status())})
	}
	if err := stubExecResult(syncConn(parentSock, execSpec.Linux.Seccomp), listener); err != nil {
		if !child {
			killPid(pid)
		}
		return nil, fmt.Errorf("exec in container %q: %w", id, err)
	}
	clk.step("exec: process started")
	if o.PidFile != "" {
		if err := writeFileAtomic(o.PidFile, []byte(strconv.Itoa(pid)), 0o644); err != nil {
			return nil, fmt.Errorf("write pid file %s: %w", o.PidFile, err)
		}
	}
	return &CreatedInfo{Pid: pid, Child: child}, nil
}

// openRoot opens the root directory of process pid (its chroot), for the
// stub of an exec into a container without a mount namespace.
func openRoot(pid int) (*os.File, error) {
	p := "/proc/" + strconv.Itoa(pid) + "/root"
	fd, err := unix.Open(p, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open the container's root %s (no mount namespace): %w", p, err)
	}
	return os.NewFile(uintptr(fd), p), nil
}

func killPid(pid int) {
	if _, start, err := procStat(pid); err == nil {
		signalProcess(pid, start, unix.SIGKILL)
	}
}

// stubExecResult waits for the stub's C exec: end-of-file when the socket
// closed on execve, or the error it reported. A seccomp listener sent on
// the way (SyncSeccomp) goes to listener, and the stub is told to go on.
func stubExecResult(sock io.ReadWriter, listener func(conn io.Reader) error) error {
	for {
		tag, val, err := readSync(sock)
		switch {
		case err == io.EOF: // nothing read: the exec closed the socket
			return nil
		case err != nil:
			return fmt.Errorf("exec process: %w", err)
		case tag == nsenter.SyncSeccomp:
			if err := listener(sock); err != nil {
				return err
			}
			if _, err := sock.Write(binary.NativeEndian.AppendUint32(nil, nsenter.SyncSeccompAck)); err != nil {
				return fmt.Errorf("exec process: %w", err)
			}
			continue
		case tag != nsenter.SyncErr:
			return fmt.Errorf("exec process: unexpected sync tag %#x", tag)
		}
		return readStubError(sock, val)
	}
}
