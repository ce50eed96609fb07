package libcontainer

// SCMP_ACT_NOTIFY: handing the seccomp listener to the agent at
// linux.seccomp.listenerPath (runtime-spec config-linux.md, "Seccomp" and
// "The Container Process State").
//
// The filter is loaded by the init (create) or the exec process, which is
// the only process that gets the listener fd. It cannot reach the agent
// itself (it is in the container's mount namespace by then), so:
//
//  1. the init sends the listener attached (SCM_RIGHTS, one sendmsg) right
//     after seccomp(2) returned, as the sync tag SYNC_SECCOMP
//     (nsenter/cexec.c), and waits;
//  2. the parent, which reads the sync socket with recvmsg while a
//     listener is expected (fdConn), connects to listenerPath, sends the
//     container process state JSON with the fd (SCM_RIGHTS, first
//     sendmsg), closes the connection and its copy, and answers
//     SYNC_SECCOMP_ACK; when the agent could not be reached it reports the
//     error and closes the socket, and the init exits;
//  3. the init closes its copy and goes on. Every notified syscall from then
//     on, its own and the workload's, waits for the agent, which has the fd.
//
// Between seccomp(2) and the sendmsg the init must not make a notified
// syscall: nobody could answer it. spec.Validate therefore refuses NOTIFY on
// sendmsg (this transport) and on write (as runc does), and the default
// action NOTIFY (seccomp.Compile). Nothing else runs in that window. The wait for the answer (read) and the close may be notified:
// the agent has the fd by then.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// agentTimeout bounds the connection to the agent: a listener that accepts
// nothing must fail create, not hang it.
const agentTimeout = 10 * time.Second

// notifies reports whether sc gives any syscall to a seccomp agent.
func notifies(sc *specs.LinuxSeccomp) bool {
	return sc != nil && slices.ContainsFunc(sc.Syscalls, func(s specs.LinuxSyscall) bool { return s.Action == specs.ActNotify })
}

// syncConn is what the parent reads the init's messages from: the socket
// itself, or, when a listener fd will come, a reader that keeps it.
func syncConn(sock *os.File, sc *specs.LinuxSeccomp) io.ReadWriter {
	if !notifies(sc) {
		return sock
	}
	return &fdConn{File: sock, fd: int(sock.Fd())}
}

// fdConn reads a stream socket with recvmsg(2) and keeps the descriptors
// that come with the data (read(2) would close them), in arrival order.
type fdConn struct {
	*os.File
	fd  int
	fds []int
}

func (c *fdConn) Read(p []byte) (int, error) {
	oob := make([]byte, unix.CmsgSpace(4*4))
	for {
		n, oobn, flags, _, err := unix.Recvmsg(c.fd, p, oob, unix.MSG_CMSG_CLOEXEC)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("recvmsg from container init: %w", err)
		}
		if oobn > 0 {
			if err := c.keep(oob[:oobn]); err != nil {
				return 0, err
			}
		}
		if flags&unix.MSG_CTRUNC != 0 {
			return 0, errors.New("recvmsg from container init: descriptors truncated (MSG_CTRUNC)")
		}
		if n == 0 && len(p) > 0 {
			return 0, io.EOF
		}
		return n, nil
	}
}

func (c *fdConn) keep(oob []byte) error {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return fmt.Errorf("recvmsg from container init: control message: %w", err)
	}
	for i := range msgs {
		fds, err := unix.ParseUnixRights(&msgs[i])
		if err != nil {
			return fmt.Errorf("recvmsg from container init: SCM_RIGHTS: %w", err)
		}
		c.fds = append(c.fds, fds...)
	}
	return nil
}

// take returns the oldest descriptor received, or -1.
func (c *fdConn) take() int {
	if len(c.fds) == 0 {
		return -1
	}
	fd := c.fds[0]
	c.fds = c.fds[1:]
	return fd
}

// listenerAgent is what the parent needs to serve a msgSeccomp.
type listenerAgent struct {
	seccomp *specs.LinuxSeccomp
	// pid is the process that loaded the filter, in the runtime's view.
	pid int
	// state is the container's state as the agent should see it.
	state *specs.State
}

// handListener passes the descriptor that came with the last message read
// from conn (an fdConn) to the agent.
func handListener(conn io.Reader, a *listenerAgent) error {
	c, ok := conn.(*fdConn)
	if !ok {
		return errors.New("container init sent a seccomp listener, but no rule of linux.seccomp.syscalls uses SCMP_ACT_NOTIFY")
	}
	fd := c.take()
	if fd < 0 {
		return errors.New("container init announced the seccomp listener without passing its fd (SCM_RIGHTS)")
	}
	defer unix.Close(fd)
	if a.seccomp.ListenerPath == "" {
		return errors.New("linux.seccomp.listenerPath: required when a rule of linux.seccomp.syscalls uses SCMP_ACT_NOTIFY")
	}
	st := &specs.ContainerProcessState{
		Version:  specs.Version,
		Fds:      []string{specs.SeccompFdName},
		Pid:      a.pid,
		Metadata: a.seccomp.ListenerMetadata,
		State:    *a.state,
	}
	if err := sendProcessState(a.seccomp.ListenerPath, st, fd); err != nil {
		return fmt.Errorf("linux.seccomp.listenerPath %q: %w", a.seccomp.ListenerPath, err)
	}
	return nil
}

// sendProcessState makes one connection to the agent and sends st with fd,
// as the spec asks: SOCK_STREAM, the fd with the first sendmsg, then close.
func sendProcessState(path string, st *specs.ContainerProcessState, fd int) error {
	data, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("encode container process state: %w", err)
	}
	conn, err := net.DialTimeout("unix", path, agentTimeout)
	if err != nil {
		return fmt.Errorf("connect to the seccomp agent: %w", unwrapOpErr(err))
	}
	defer conn.Close()
	uc := conn.(*net.UnixConn)
	uc.SetDeadline(time.Now().Add(agentTimeout))
	n, _, err := uc.WriteMsgUnix(data, unix.UnixRights(fd), nil)
	if err != nil {
		return fmt.Errorf("sendmsg container process state and seccompFd (SCM_RIGHTS): %w", unwrapOpErr(err))
	}
	if n < len(data) {
		// Only the first sendmsg carries the fd; the rest is plain data.
		if _, err := uc.Write(data[n:]); err != nil {
			return fmt.Errorf("send container process state: %w", unwrapOpErr(err))
		}
	}
	return nil
}

// unwrapOpErr drops net.OpError's "dial unix /path:" prefix: the caller
// names the path and the operation already.
func unwrapOpErr(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		var sys *os.SyscallError
		if errors.As(op.Err, &sys) {
			return fmt.Errorf("%s: %w", sys.Syscall, sys.Err)
		}
		return op.Err
	}
	return err
}
