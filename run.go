package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"berth/libcontainer"
	"berth/libcontainer/console"
)

var runCommand = &cli.Command{
	Name:      "run",
	Usage:     "create and start a container; attached, wait for it and exit with its status",
	ArgsUsage: "<container-id>",
	Flags: append(append([]cli.Flag{}, createFlags...),
		&cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "return after start"},
		&cli.BoolFlag{Name: "keep", Usage: "keep the container's state after it exits"},
	),
	Action: func(c *cli.Context) error {
		if err := checkArgs(c, 1, "<container-id>"); err != nil {
			return err
		}
		root, id := c.String("root"), c.Args().First()
		opts, err := createOpts(c)
		if err != nil {
			return err
		}
		detach := c.Bool("detach")
		// A terminal with no socket to hand it to is relayed to ours.
		var relayEnd *os.File
		if opts.Spec.Process.Terminal && opts.Console == nil {
			if detach {
				return errors.New("run --detach with process.terminal needs --console-socket")
			}
			fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				return fmt.Errorf("socketpair: %w", err)
			}
			relayEnd = os.NewFile(uintptr(fds[0]), "console-relay")
			opts.Console = os.NewFile(uintptr(fds[1]), "console-init")
			defer relayEnd.Close()
		}
		if !detach {
			// The init may be forked by the stub into a pid namespace; as a
			// subreaper we still get to wait for it.
			if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
				return fmt.Errorf("prctl(PR_SET_CHILD_SUBREAPER): %w", err)
			}
		}
		info, err := libcontainer.Create(root, opts)
		if opts.Console != nil {
			opts.Console.Close()
		}
		if err != nil {
			return err
		}
		var stopRelay func()
		if relayEnd != nil {
			master, err := console.RecvFd(relayEnd)
			if err != nil {
				libcontainer.Delete(root, id, true)
				return fmt.Errorf("receive pty master: %w", err)
			}
			if stopRelay, err = console.Relay(master, os.Stdin, os.Stdout); err != nil {
				libcontainer.Delete(root, id, true)
				return fmt.Errorf("attach terminal: %w", err)
			}
		}
		// Forward signals from the moment the workload can receive them.
		sigs := make(chan os.Signal, 16)
		if !detach {
			signal.Notify(sigs)
		}
		if err := libcontainer.Start(root, id); err != nil {
			if stopRelay != nil {
				stopRelay()
			}
			libcontainer.Delete(root, id, true)
			return err
		}
		if detach {
			return nil
		}
		status := waitForward(info.Pid, sigs, root, id)
		signal.Stop(sigs)
		if stopRelay != nil {
			stopRelay()
		}
		if !c.Bool("keep") {
			if err := libcontainer.Delete(root, id, true); err != nil {
				slog.Warn("delete after run", "err", err)
			}
		}
		if status != 0 {
			return exitCode(status)
		}
		return nil
	},
}

// waitForward waits for the container's init, passing on the signals berth
// receives, and returns the shell-style exit status (128+n for signal n).
func waitForward(pid int, sigs chan os.Signal, root, id string) int {
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
