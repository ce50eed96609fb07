package main

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"berth/libcontainer"
	"berth/libcontainer/console"
	"berth/network"
	"berth/spec"
)

var createFlags = []cli.Flag{
	&cli.StringFlag{Name: "bundle", Aliases: []string{"b"}, Value: ".", Usage: "path to the OCI bundle"},
	&cli.StringFlag{Name: "pid-file", Usage: "write the container init's pid to this file"},
	&cli.StringFlag{Name: "console-socket", Usage: "unix socket that receives the pty master when process.terminal is true"},
	&cli.BoolFlag{Name: "no-pivot", Usage: "use MS_MOVE and chroot instead of pivot_root (for an initramfs root)"},
	&cli.BoolFlag{Name: "no-new-keyring", Usage: "keep the caller's session keyring"},
	&cli.IntFlag{Name: "preserve-fds", Usage: "pass this many fds from 3 on to the container"},
	pidfdSocketFlag,
	&cli.StringFlag{Name: "net-bridge", Usage: "veth networking on this bridge (annotation berth.net.bridge)"},
	&cli.StringFlag{Name: "net-address", Usage: "container address, CIDR (default: allocated)"},
	&cli.StringFlag{Name: "net-gateway", Usage: "gateway address, CIDR (default: the bridge's)"},
	&cli.StringFlag{Name: "net-mtu", Usage: "MTU of the container's interface"},
	&cli.StringFlag{Name: "net-mac", Usage: "MAC of the container's interface"},
	&cli.StringFlag{Name: "net-ifname", Usage: "name of the container's interface (default eth0)"},
}

// netFlags maps the --net-* flags to the annotations they set.
var netFlags = map[string]string{
	"net-bridge":  network.AnnotationBridge,
	"net-address": network.AnnotationAddress,
	"net-gateway": network.AnnotationGateway,
	"net-mtu":     network.AnnotationMTU,
	"net-mac":     network.AnnotationMAC,
	"net-ifname":  network.AnnotationIfName,
}

var createCommand = &cli.Command{
	Name:      "create",
	Usage:     "create a container; its process waits for start",
	ArgsUsage: "<container-id>",
	Flags:     createFlags,
	Action: func(c *cli.Context) error {
		if err := checkArgs(c, 1, "<container-id>"); err != nil {
			return err
		}
		opts, err := createOpts(c, true)
		if err != nil {
			return err
		}
		if opts.Console != nil {
			defer opts.Console.Close()
		}
		pidfdSock, err := dialPidfdSocket(c.String("pidfd-socket"))
		if err != nil {
			return err
		}
		defer pidfdSock.close()
		info, err := libcontainer.Create(c.String("root"), opts)
		if err != nil {
			return err
		}
		return sendCreatedPidfd(c, pidfdSock, info.Pid)
	},
}

// createOpts loads the bundle and turns the flags into libcontainer's options.
// With dialConsole the --console-socket is connected here; run leaves the
// terminal to its own plumbing.
func createOpts(c *cli.Context, dialConsole bool) (*libcontainer.CreateOpts, error) {
	bundle, err := filepath.Abs(c.String("bundle"))
	if err != nil {
		return nil, err
	}
	s, raw, rootfs, err := spec.LoadRaw(bundle)
	if err != nil {
		return nil, err
	}
	for flag, key := range netFlags {
		if v := c.String(flag); v != "" {
			if s.Annotations == nil {
				s.Annotations = map[string]string{}
			}
			s.Annotations[key] = v
			raw = nil // no longer the spec
		}
	}
	if n := c.Int("preserve-fds"); n < 0 {
		return nil, fmt.Errorf("--preserve-fds %d: must not be negative", n)
	}
	o := &libcontainer.CreateOpts{
		ID:            c.Args().First(),
		Bundle:        bundle,
		Rootfs:        rootfs,
		Spec:          s,
		RawSpec:       raw,
		PidFile:       c.String("pid-file"),
		NoPivot:       c.Bool("no-pivot"),
		NoNewKeyring:  c.Bool("no-new-keyring"),
		PreserveFDs:   c.Int("preserve-fds"),
		SystemdCgroup: c.Bool("systemd-cgroup"),
		NotifySocket:  os.Getenv("NOTIFY_SOCKET") != "",
		Stdin:         os.Stdin,
		Stdout:        os.Stdout,
		Stderr:        os.Stderr,
	}
	if o.PidFile != "" {
		if o.PidFile, err = filepath.Abs(o.PidFile); err != nil {
			return nil, err
		}
	}
	if p := c.String("console-socket"); p != "" && dialConsole {
		if !s.Process.Terminal {
			return nil, fmt.Errorf("--console-socket given but process.terminal is false")
		}
		conn, err := console.Dial(p)
		if err != nil {
			return nil, fmt.Errorf("--console-socket %s: %w", p, err)
		}
		o.Console = conn
	}
	return o, nil
}

// sendCreatedPidfd hands a pidfd of the new init to --pidfd-socket
// (sock, connected before the create); a failure deletes the container,
// as a failed create leaves nothing.
func sendCreatedPidfd(c *cli.Context, sock *pidfdSocket, pid int) error {
	if err := sock.send(pid); err != nil {
		if derr := libcontainer.Delete(c.String("root"), c.Args().First(), true); derr != nil {
			slog.Warn("delete after a failed --pidfd-socket", "err", derr)
		}
		return err
	}
	return nil
}
