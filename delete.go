package main

import (
	"errors"

	"github.com/urfave/cli/v2"

	"berth/libcontainer"
)

var deleteCommand = &cli.Command{
	Name:      "delete",
	Usage:     "delete a created or stopped container (--force: also a running one)",
	ArgsUsage: "<container-id>",
	Flags: []cli.Flag{
		&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "kill the container first if it is running"},
	},
	Action: func(c *cli.Context) error {
		if err := checkArgs(c, 1, "<container-id>"); err != nil {
			return err
		}
		err := libcontainer.Delete(c.String("root"), c.Args().First(), c.Bool("force"))
		// runc's rule, which engines rely on: deleting a missing container
		// with --force is not an error.
		if c.Bool("force") && errors.Is(err, libcontainer.ErrNotExist) {
			return nil
		}
		return err
	},
}
