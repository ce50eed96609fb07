package main

import (
	"encoding/json"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"berth/libcontainer"
)

var listCommand = &cli.Command{
	Name:  "list",
	Usage: "list containers",
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "table", Usage: "table or json"},
		&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print only the ids"},
	},
	Action: func(c *cli.Context) error {
		cts, err := libcontainer.List(c.String("root"))
		if err != nil {
			return err
		}
		if c.Bool("quiet") {
			for _, ct := range cts {
				fmt.Println(ct.ID())
			}
			return nil
		}
		switch c.String("format") {
		case "json":
			out := make([]containerJSON, 0, len(cts))
			for _, ct := range cts {
				out = append(out, describe(ct))
			}
			data, err := json.Marshal(out)
			if err != nil {
				return err
			}
			os.Stdout.Write(append(data, '\n'))
		case "table":
			w := tabwriter.NewWriter(os.Stdout, 12, 1, 3, ' ', 0)
			fmt.Fprint(w, "ID\tPID\tSTATUS\tBUNDLE\tCREATED\tOWNER\n")
			for _, ct := range cts {
				d := describe(ct)
				fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\t%s\n", d.ID, d.Pid, d.Status, d.Bundle, d.Created.Format(time.RFC3339Nano), d.Owner)
			}
			return w.Flush()
		default:
			return fmt.Errorf("--format %q: must be table or json", c.String("format"))
		}
		return nil
	},
}
