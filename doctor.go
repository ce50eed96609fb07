package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"berth/doctor"
)

var doctorCommand = &cli.Command{
	Name:  "doctor",
	Usage: "tell what this host gives a container runtime (exit 1 if a check fails)",
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "text", Usage: "output format: text or json"},
	},
	Action: func(c *cli.Context) error {
		if err := checkArgs(c, 0, ""); err != nil {
			return err
		}
		format := c.String("format")
		if format != "text" && format != "json" {
			return fmt.Errorf("doctor: --format %q: want text or json", format)
		}
		checks := doctor.Run(c.String("root"))
		if format == "json" {
			enc := json.NewEncoder(os.Stdout)
			enc.SetIndent("", "  ")
			if err := enc.Encode(checks); err != nil {
				return err
			}
		} else if err := doctor.WriteText(os.Stdout, checks); err != nil {
			return err
		}
		if doctor.Failed(checks) {
			return exitCode(1)
		}
		return nil
	},
}
