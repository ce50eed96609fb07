package main

import (
	"github.com/urfave/cli/v2"

	"berth/libcontainer"
)

var pauseCommand = &cli.Command{
	Name:      "pause",
	Usage:     "freeze every process of a running container",
	ArgsUsage: "<container-id>",
	Action: func(c *cli.Context) error {
		if err := checkArgs(c, 1, "<container-id>"); err != nil {
			return err
		}
		return libcontainer.Pause(c.String("root"), c.Args().First())
	},
}

var resumeCommand = &cli.Command{
	Name:      "resume",
	Usage:     "thaw a paused container",
	ArgsUsage: "<container-id>",
	Action: func(c *cli.Context) error {
		if err := checkArgs(c, 1, "<container-id>"); err != nil {
			return err
		}
		return libcontainer.Resume(c.String("root"), c.Args().First())
	},
}
