package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"berth/libcontainer"
)

var psCommand = &cli.Command{
	Name:      "ps",
	Usage:     "list the processes of a container (extra arguments go to ps(1))",
	ArgsUsage: "<container-id> [ps options]",
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "table", Usage: "table or json (pids only)"},
	},
	Action: func(c *cli.Context) error {
		if c.NArg() < 1 {
			return fmt.Errorf("ps: expects <container-id> [ps options]")
		}
		pids, err := libcontainer.Processes(c.String("root"), c.Args().First())
		if err != nil {
			return err
		}
		switch c.String("format") {
		case "json":
			if pids == nil {
				pids = []int{}
			}
			return json.NewEncoder(os.Stdout).Encode(pids)
		case "table":
			return psTable(pids, c.Args().Slice()[1:])
		default:
			return fmt.Errorf("--format %q: must be table or json", c.String("format"))
		}
	},
}

// psTable runs ps(1) on the host and keeps its header and the container's
// rows, as runc does (the PID column finds them).
func psTable(pids []int, psArgs []string) error {
	if len(psArgs) == 0 {
		psArgs = []string{"-ef"}
	}
	out, err := exec.Command("ps", psArgs...).Output()
	if err != nil {
		return fmt.Errorf("ps %s: %w", strings.Join(psArgs, " "), err)
	}
	lines := bytes.Split(bytes.TrimRight(out, "\n"), []byte("\n"))
	pidCol := -1
	for i, f := range strings.Fields(string(lines[0])) {
		if f == "PID" {
			pidCol = i
		}
	}
	if pidCol < 0 {
		return fmt.Errorf("ps %s: output has no PID column", strings.Join(psArgs, " "))
	}
	in := map[int]bool{}
	for _, p := range pids {
		in[p] = true
	}
	os.Stdout.Write(append(lines[0], '\n'))
	for _, l := range lines[1:] {
		f := strings.Fields(string(l))
		if len(f) <= pidCol {
			continue
		}
		if p, err := strconv.Atoi(f[pidCol]); err == nil && in[p] {
			os.Stdout.Write(append(l, '\n'))
		}
	}
	return nil
}
