package main

import (
	"os"

	"github.com/urfave/cli/v2"

	"berth/libcontainer"
)

var startCommand = &cli.Command{
	Name:      "start",
	Usage:     "start the process of a created container",
	ArgsUsage: "<container-id>",
	Action: func(c *cli.Context) error {
		if err := checkArgs(c, 1, "<container-id>"); err != nil {
			return err
		}
		return startNotify(c.String("root"), c.Args().First())
	},
}

// startNotify starts the container; when berth has NOTIFY_SOCKET and the
// container was created with it, it binds the container's notify socket
// first and returns only once the container's READY=1 is passed on to the
// host's socket (or its init is gone), as runc's start does.
func startNotify(root, id string) error {
	host := os.Getenv("NOTIFY_SOCKET")
	if host == "" {
		return libcontainer.Start(root, id)
	}
	n, err := libcontainer.ListenNotify(root, id)
	if err != nil {
		return err
	}
	if n == nil {
		return libcontainer.Start(root, id)
	}
	defer n.Close()
	if err := libcontainer.Start(root, id); err != nil {
		return err
	}
	pid, start, err := libcontainer.InitOf(root, id)
	if err != nil {
		return err
	}
	return n.Forward(host, pid, start)
}
