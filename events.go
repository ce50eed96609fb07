package main

import (
	"encoding/json"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"berth/libcontainer"
)

// event is one line of `berth events`, in runc's shape.
type event struct {
	Type string `json:"type"`
	ID   string `json:"id"`
	Data any    `json:"data,omitempty"`
}

var eventsCommand = &cli.Command{
	Name:      "events",
	Usage:     "print container stats (and OOM events) as JSON lines",
	ArgsUsage: "<container-id>",
	Flags: []cli.Flag{
		&cli.BoolFlag{Name: "stats", Usage: "print the stats once and exit"},
		&cli.DurationFlag{Name: "interval", Value: 5 * time.Second, Usage: "time between stats"},
	},
	Action: func(c *cli.Context) error {
		if err := checkArgs(c, 1, "<container-id>"); err != nil {
			return err
		}
		root, id := c.String("root"), c.Args().First()
		enc := json.NewEncoder(os.Stdout)
		var lastOOM uint64
		first := true
		for {
			st, err := libcontainer.Stats(root, id)
			if err != nil {
				if first {
					return err
				}
				return nil // the container went away: the stream ends
			}
			if c.Bool("stats") {
				return enc.Encode(event{Type: "stats", ID: id, Data: st})
			}
			if oom := st.Memory.OOMEvents; !first && oom > lastOOM {
				enc.Encode(event{Type: "oom", ID: id})
			}
			lastOOM = st.Memory.OOMEvents
			enc.Encode(event{Type: "stats", ID: id, Data: st})
			first = false
			time.Sleep(c.Duration("interval"))
		}
	},
}
