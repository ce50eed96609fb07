package main

import (
	"fmt"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"berth/libcontainer"
	"berth/libcontainer/signals"
)

var killCommand = &cli.Command{
	Name:      "kill",
	Usage:     "send a signal (default TERM; 0 only checks that the init exists) to the container's init",
	ArgsUsage: "<container-id> [signal]",
	Flags: []cli.Flag{
		&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "signal every process of the container (of a stopped one, what is left in its cgroup; no error)"},
	},
	Action: func(c *cli.Context) error {
		if c.NArg() < 1 || c.NArg() > 2 {
			return fmt.Errorf("kill: expects <container-id> [signal]")
		}
		sig := unix.SIGTERM
		if c.NArg() == 2 {
			s, err := signals.Parse(c.Args().Get(1))
			if err != nil {
				return err
			}
			sig = s
		}
		return libcontainer.Signal(c.String("root"), c.Args().First(), sig, c.Bool("all"))
	},
}
