package main

import (
	"fmt"
	"log/slog"
	"os"
	"os/signal"

	"berth/cli"
	"golang.org/x/sys/unix"

	"berth/image"
	"berth/libcontainer"
	"berth/spec"
)

var runCommand = &cli.Command{
	Name:      "run",
	Usage:     "create and start a container; attached, wait for it and exit with its status",
	ArgsUsage: "<container-id>",
	Flags: append(append([]cli.Flag{}, createFlags...),
		&cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "return after start"},
		&cli.BoolFlag{Name: "keep", Usage: "keep the container's state (and an --image bundle) after it exits"},
		&cli.StringFlag{Name: "image", Usage: "run an OCI image (DIR[:TAG|@DIGEST], as for `berth bundle`) from a temporary bundle"},
		&cli.BoolFlag{Name: "overlay", Usage: "with --image: an overlay bundle over the shared layer store (as `berth bundle --overlay`)"},
		&cli.StringFlag{Name: "layers", Value: image.DefaultLayerStore, Usage: "with --image --overlay: the layer store"},
	),
	Action: func(c *cli.Context) error {
		if err := checkArgs(c, 1, "<container-id>"); err != nil {
			return err
		}
		root, id := c.String("root"), c.Args().First()
		detach := c.Bool("detach")
		if c.Bool("overlay") && c.String("image") == "" {
			return fmt.Errorf("run: --overlay goes with --image")
		}
		if ref := c.String("image"); ref != "" {
			dir, err := imageBundle(ref, image.Options{Overlay: c.Bool("overlay"), Layers: c.String("layers")})
			if err != nil {
				return err
			}
			if detach || c.Bool("keep") {
				slog.Info("the image's bundle is kept", "bundle", dir)
			} else {
				defer os.RemoveAll(dir)
			}
			if err := c.Set("bundle", dir); err != nil {
				return err
			}
		}
		opts, err := createOpts(c, false)
		if err != nil {
			return err
		}
		term, err := newTerminal(opts.Spec.Process.Terminal, c.String("console-socket"), detach)
		if err != nil {
			return err
		}
		defer term.close()
		opts.Console, opts.ConsoleRelay = term.initEnd, term.relayEnd != nil
		if !detach {
			if err := becomeSubreaper(); err != nil {
				return err
			}
		}
		info, err := libcontainer.Create(root, opts)
		term.closeInitEnd()
		if err != nil {
			return err
		}
		if err := term.attach(); err != nil {
			libcontainer.Delete(root, id, true)
			return err
		}
		sigs := forwardSignals(!detach)
		if err := libcontainer.Start(root, id); err != nil {
			term.detach()
			libcontainer.Delete(root, id, true)
			return err
		}
		if detach {
			return nil
		}
		status := waitForward(info.Pid, sigs)
		term.detach()
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

// imageBundle unpacks an image into a new temporary bundle for run --image.
func imageBundle(ref string, opts image.Options) (string, error) {
	dir, err := os.MkdirTemp("", "berth-image-")
	if err != nil {
		return "", err
	}
	s, err := image.Unpack(ref, dir, opts)
	if err == nil {
		err = spec.Write(dir, s)
	}
	if err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("run --image %s: %w", ref, err)
	}
	return dir, nil
}
