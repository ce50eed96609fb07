package main

import (
	"github.com/urfave/cli/v2"

	"berth/spec"
)

var specCommand = &cli.Command{
	Name:  "spec",
	Usage: "write a default config.json into the bundle",
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "bundle", Aliases: []string{"b"}, Value: ".", Usage: "bundle directory"},
		&cli.BoolFlag{Name: "rootless", Usage: "a spec for a container run by an unprivileged user"},
	},
	Action: func(c *cli.Context) error {
		return spec.Write(c.String("bundle"), spec.Default(c.Bool("rootless")))
	},
}
