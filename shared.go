package main

// What several commands share: argument checks, the terminal plumbing and
// the waiting of an attached run or exec (subreaper, signal forwarding).

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"berth/libcontainer/console"
)

// checkArgs refuses a command line without exactly n arguments.
func checkArgs(c *cli.Context, n int, usage string) error {
	if c.NArg() != n {
		return fmt.Errorf("%s: expects %d argument(s): %s", c.Command.Name, n, usage)
	}
	return nil
}

// terminal is the console plumbing shared by run and exec: a socket given by
// the caller, or a private socketpair whose pty is relayed to our own stdio.
type terminal struct {
	initEnd  *os.File // handed to the container process
	relayEnd *os.File // ours, when relaying
	stop     func()
}

func newTerminal(want bool, socketPath string, detach bool) (*terminal, error) {
	t := &terminal{}
	if socketPath != "" {
		if !want {
			return nil, errors.New("--console-socket given but process.terminal is false")
		}
		conn, err := console.Dial(socketPath)
		if err != nil {
			return nil, fmt.Errorf("--console-socket %s: %w", socketPath, err)
		}
		t.initEnd = conn
		return t, nil
	}
	if !want {
		return t, nil
	}
	if detach {
		return nil, errors.New("a terminal with --detach needs --console-socket")
	}
	fds, err := socketpair()
	if err != nil {
		return nil, err
	}
	t.relayEnd, t.initEnd = fds[0], fds[1]
	return t, nil
}

func (t *terminal) closeInitEnd() {
	if t.initEnd != nil {
		t.initEnd.Close()
		t.initEnd = nil
	}
}

// attach receives the pty master and starts relaying it, when relaying.
func (t *terminal) attach() error {
	if t.relayEnd == nil {
		return nil
	}
	master, err := console.RecvFd(t.relayEnd)
	if err != nil {
		return fmt.Errorf("receive pty master: %w", err)
	}
	// The C init and exec turned it off already (ConsoleRelay); the Go
	// ones did not. As runc's relay: the output is the container's bytes.
	if err := console.ClearONLCR(master); err != nil {
		master.Close()
		return fmt.Errorf("attach terminal: %w", err)
	}
	stop, err := console.Relay(master, os.Stdin, os.Stdout)
	master.Close()
	if err != nil {
		return fmt.Errorf("attach terminal: %w", err)
	}
	t.stop = stop
	return nil
}

func (t *terminal) detach() {
	if t.stop != nil {
		t.stop()
		t.stop = nil
	}
}

func (t *terminal) close() {
	t.detach()
	t.closeInitEnd()
	if t.relayEnd != nil {
		t.relayEnd.Close()
	}
}

// becomeSubreaper lets an attached run/exec wait for a process the nsenter
// stub forked into a pid namespace (a grandchild, reparented to us).
func becomeSubreaper() error {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("prctl(PR_SET_CHILD_SUBREAPER): %w", err)
	}
	return nil
}

func socketpair() ([2]*os.File, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return [2]*os.File{}, fmt.Errorf("socketpair: %w", err)
	}
	return [2]*os.File{os.NewFile(uintptr(fds[0]), "console-relay"), os.NewFile(uintptr(fds[1]), "console-init")}, nil
}

// forwardSignals starts catching signals for waitForward; nil when detached.
func forwardSignals(on bool) chan os.Signal {
	if !on {
		return nil
	}
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, forwarded()...)
	return sigs
}

// forwarded lists the signals passed on to the container: every catchable
// one except SIGCHLD (berth's own children), SIGURG (the Go runtime's
// preemption, sent all the time), SIGWINCH (the terminal relay's) and
// SIGPIPE. Catching everything made os/signal's bookkeeping of SIGURG
// delay berth's exit by milliseconds.
func forwarded() []os.Signal {
	var l []os.Signal
	for n := 1; n <= 64; n++ {
		switch s := unix.Signal(n); s {
		case unix.SIGKILL, unix.SIGSTOP, unix.SIGCHLD, unix.SIGURG, unix.SIGWINCH, unix.SIGPIPE:
		default:
			if n < 32 || n >= 34 { // 32 and 33 belong to glibc
				l = append(l, s)
			}
		}
	}
	return l
}

// waitForward waits for pid, passing on the signals berth receives, and
// returns the shell-style exit status (128+n for signal n).
func waitForward(pid int, sigs chan os.Signal) int {
	done := make(chan int, 1)
	go func() {
		var ws unix.WaitStatus
		for {
			wpid, err := unix.Wait4(-1, &ws, 0, nil)
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				done <- 255
				return
			}
			if wpid != pid {
				continue // an orphan reparented to us
			}
			switch {
			case ws.Exited():
				done <- ws.ExitStatus()
			case ws.Signaled():
				done <- 128 + int(ws.Signal())
			default:
				continue
			}
			return
		}
	}()
	for {
		select {
		case st := <-done:
			return st
		case s := <-sigs:
			sig, ok := s.(unix.Signal)
			if !ok || sig == unix.SIGCHLD || sig == unix.SIGWINCH || sig == unix.SIGURG || sig == unix.SIGPIPE {
				continue
			}
			if err := unix.Kill(pid, sig); err != nil && err != unix.ESRCH {
				slog.Debug("forward signal", "signal", sig, "err", err)
			}
		}
	}
}
