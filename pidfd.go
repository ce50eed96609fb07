package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"berth/libcontainer/console"
)

// pidfdSocketFlag is runc's --pidfd-socket (create, run, exec): a unix
// socket that receives a pidfd of the container's init, or of the exec'd
// process, as one message (payload "pidfd", the fd as SCM_RIGHTS; the
// console socket's protocol).
var pidfdSocketFlag = &cli.StringFlag{Name: "pidfd-socket", Usage: "unix socket that receives a pidfd of the process (SCM_RIGHTS)"}

// pidfdSocket is --pidfd-socket, connected before the command starts
// anything, so that a socket nobody listens on fails it before there is
// a process to undo (runc connects first too). nil: no --pidfd-socket.
type pidfdSocket struct {
	path string
	conn *os.File
}

func dialPidfdSocket(path string) (*pidfdSocket, error) {
	if path == "" {
		return nil, nil
	}
	conn, err := console.Dial(path)
	if err != nil {
		return nil, fmt.Errorf("--pidfd-socket %s: %w", path, err)
	}
	return &pidfdSocket{path, conn}, nil
}

func (s *pidfdSocket) close() {
	if s != nil {
		s.conn.Close()
	}
}

// send opens a pidfd of pid, sends it and closes the socket.
func (s *pidfdSocket) send(pid int) error {
	if s == nil {
		return nil
	}
	defer s.conn.Close()
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return fmt.Errorf("--pidfd-socket %s: pidfd_open %d: %w", s.path, pid, err)
	}
	f := os.NewFile(uintptr(fd), "pidfd")
	defer f.Close()
	if err := console.SendFd(s.conn, "pidfd", f); err != nil {
		return fmt.Errorf("--pidfd-socket %s: %w", s.path, err)
	}
	return nil
}

// killExeced kills the process of an exec that failed after starting it,
// through a pidfd (once open, the signal cannot reach a later owner of
// the pid).
func killExeced(pid int) {
	fd, err := unix.PidfdOpen(pid, 0)
	if err == nil {
		err = unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0)
		unix.Close(fd)
	}
	if err != nil && err != unix.ESRCH {
		slog.Warn("kill the process of a failed exec", "pid", pid, "err", err)
	}
}

// pidfdInfo is the kernel's struct pidfd_info, first version (64 bytes).
type pidfdInfo struct {
	Mask                                                              uint64
	CgroupID                                                          uint64
	Pid, Tgid, Ppid, Ruid, Rgid, Euid, Egid, Suid, Sgid, Fsuid, Fsgid uint32
	ExitCode                                                          int32
	CoredumpMask                                                      uint32
	spare                                                             uint32
}

const (
	pidfdGetInfo  = 0xc040ff0b // PIDFD_GET_INFO: _IOWR(0xFF, 11, struct pidfd_info)
	pidfdInfoExit = 1 << 3     // PIDFD_INFO_EXIT
)

// pidfdExit waits for the process of pidfd to exit and returns its wait
// status, which the kernel (Linux 6.15 or later) keeps with the pidfd
// whoever reaps the process: what `run --no-subreaper` waits with, since
// an init forked into its pid namespace is not berth's child and, berth
// not being a subreaper, is reaped by someone else.
func pidfdExit(pidfd int) (unix.WaitStatus, error) {
	fds := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}
	for {
		if _, err := unix.Poll(fds, -1); err == nil {
			break
		} else if err != unix.EINTR {
			return 0, fmt.Errorf("poll pidfd: %w", err)
		}
	}
	start := time.Now()
	// The kernel records the status when the process is reaped, which
	// its new parent (a subreaper above berth, or pid 1) does right after
	// the exit that woke the poll.
	var info pidfdInfo
	for wait := time.Millisecond; ; wait = min(2*wait, 50*time.Millisecond) {
		info = pidfdInfo{Mask: pidfdInfoExit}
		_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(pidfd), pidfdGetInfo, uintptr(unsafe.Pointer(&info)))
		switch {
		case e == unix.EINTR:
			continue
		case e != 0 && e != unix.ESRCH:
			return 0, fmt.Errorf("ioctl PIDFD_GET_INFO (Linux 6.15 or later): %w", e)
		case info.Mask&pidfdInfoExit != 0:
			return unix.WaitStatus(info.ExitCode), nil
		}
		if wait >= 50*time.Millisecond && time.Since(start) > 30*time.Second {
			return 0, errors.New("ioctl PIDFD_GET_INFO: no exit status 30 s after the exit (not reaped, or a kernel before 6.15)")
		}
		time.Sleep(wait)
	}
}

// waitPidfdForward is waitForward for a process that is not berth's
// child: it waits on its pidfd, passing on the signals berth receives,
// and returns the shell-style exit status (255 when it cannot be read).
func waitPidfdForward(pid, pidfd int, sigs chan os.Signal) int {
	done := make(chan int, 1)
	go func() {
		ws, err := pidfdExit(pidfd)
		switch {
		case err != nil:
			slog.Error("run --no-subreaper: the init's exit status", "pid", pid, "err", err)
			done <- 255
		case ws.Signaled():
			done <- 128 + int(ws.Signal())
		default:
			done <- ws.ExitStatus()
		}
	}()
	for {
		select {
		case st := <-done:
			return st
		case s := <-sigs:
			if sig, ok := s.(unix.Signal); ok {
				if err := unix.PidfdSendSignal(pidfd, sig, nil, 0); err != nil && err != unix.ESRCH {
					slog.Debug("forward signal", "signal", sig, "err", err)
				}
			}
		}
	}
}

// checkNoSubreaper refuses run --no-subreaper where the exit status could
// not be read: an init forked into a new pid or time namespace is not
// berth's child, and only Linux 6.15 keeps a non-child's status for its
// pidfd (PIDFD_INFO_EXIT). The stub forks the init for a pid or time
// namespace it joins too: setns of either applies to children only.
// kernelAtLeast is the running kernel's check (a test's stand-in).
func checkNoSubreaper(s *specs.Spec, kernelAtLeast func(major, minor int) bool) error {
	forked := false
	if s.Linux != nil {
		for _, ns := range s.Linux.Namespaces {
			forked = forked || (ns.Type == specs.PIDNamespace || ns.Type == specs.TimeNamespace)
		}
	}
	if !forked || kernelAtLeast(6, 15) {
		return nil
	}
	return errors.New("run --no-subreaper: the init of a pid (or time) namespace, made or joined, is not berth's child, and reading its exit status without being its subreaper needs Linux 6.15 (PIDFD_INFO_EXIT)")
}

// kernelAtLeast compares the running kernel's release with major.minor.
func kernelAtLeast(major, minor int) bool {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return false
	}
	var ma, mi int
	fmt.Sscanf(unix.ByteSliceToString(u.Release[:]), "%d.%d", &ma, &mi)
	return ma > major || (ma == major && mi >= minor)
}
