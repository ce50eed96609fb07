package main

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/urfave/cli/v2"
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
		&cli.BoolFlag{Name: "no-subreaper", Usage: "do not make berth a subreaper: the init's exit status is read from a pidfd (Linux 6.15 or later)"},
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
		subreaper := !detach && !c.Bool("no-subreaper")
		if !detach && !subreaper {
			if err := checkNoSubreaper(opts.Spec, kernelAtLeast); err != nil {
				return err
			}
		}
		if subreaper {
			if err := becomeSubreaper(); err != nil {
				return err
			}
		}
		pidfdSock, err := dialPidfdSocket(c.String("pidfd-socket"))
		if err != nil {
			return err
		}
		defer pidfdSock.close()
		info, err := libcontainer.Create(root, opts)
		term.closeInitEnd()
		if err != nil {
			return err
		}
		if err := sendCreatedPidfd(c, pidfdSock, info.Pid); err != nil {
			return err
		}
		// Without the subreaper an init forked into its pid namespace is
		// not berth's to wait for: its pidfd gives the exit status.
		pidfd := -1
		if !detach && !subreaper && !info.Child {
			if pidfd, err = unix.PidfdOpen(info.Pid, 0); err != nil {
				libcontainer.Delete(root, id, true)
				return fmt.Errorf("run --no-subreaper: pidfd_open %d: %w", info.Pid, err)
			}
			defer unix.Close(pidfd)
		}
		if err := term.attach(); err != nil {
			libcontainer.Delete(root, id, true)
			return err
		}
		sigs := forwardSignals(!detach)
		var notify *libcontainer.Notify
		if host := os.Getenv("NOTIFY_SOCKET"); host != "" {
			if notify, err = libcontainer.ListenNotify(root, id); err != nil {
				term.detach()
				libcontainer.Delete(root, id, true)
				return err
			}
		}
		if err := libcontainer.Start(root, id); err != nil {
			term.detach()
			libcontainer.Delete(root, id, true)
			return err
		}
		if notify != nil {
			defer notify.Close()
			host, start := os.Getenv("NOTIFY_SOCKET"), info.PidStart
			if detach {
				// run -d returns once READY=1 is passed on, as start does.
				return notify.Forward(host, info.Pid, start)
			}
			go func() {
				if err := notify.Forward(host, info.Pid, start); err != nil {
					slog.Warn("notify", "err", err)
				}
			}()
		}
		if detach {
			return nil
		}
		var status int
		if pidfd >= 0 {
			status = waitPidfdForward(info.Pid, pidfd, sigs)
		} else {
			status = waitForward(info.Pid, sigs)
		}
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
