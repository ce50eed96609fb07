package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/urfave/cli/v2"

	"berth/libcontainer"
)

// Its flags may also follow the id (`update ID --memory 1M`), as runc's
// do: main moves them in front (flagsAfterArgs).
var updateCommand = &cli.Command{
	Name:      "update",
	Usage:     "change the resource limits of a container",
	ArgsUsage: "<container-id>",
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "resources", Aliases: []string{"r"}, Usage: "LinuxResources JSON file, or - for stdin"},
		&cli.StringFlag{Name: "memory", Usage: "memory limit in bytes, or with a k, m, g, t or p suffix (-1: unlimited)"},
		&cli.StringFlag{Name: "memory-reservation", Usage: "memory soft limit, as --memory"},
		&cli.StringFlag{Name: "memory-swap", Usage: "memory+swap limit, as --memory (-1: unlimited)"},
		&cli.StringFlag{Name: "cpu-period", Usage: "CFS period in microseconds"},
		&cli.StringFlag{Name: "cpu-quota", Usage: "CFS quota in microseconds (-1: unlimited)"},
		&cli.StringFlag{Name: "cpu-share", Aliases: []string{"cpu-shares"}, Usage: "CPU shares (relative weight)"},
		&cli.StringFlag{Name: "cpu-burst", Usage: "CFS burst in microseconds"},
		&cli.StringFlag{Name: "cpu-idle", Usage: "1: the cgroup runs SCHED_IDLE (cpu.idle), 0: not"},
		&cli.StringFlag{Name: "cpu-rt-period", Usage: "realtime period in microseconds"},
		&cli.StringFlag{Name: "cpu-rt-runtime", Usage: "realtime runtime in microseconds"},
		&cli.StringFlag{Name: "cpuset-cpus", Usage: "CPUs to run on (0-3, 0,1)"},
		&cli.StringFlag{Name: "cpuset-mems", Usage: "memory nodes to use"},
		&cli.StringFlag{Name: "pids-limit", Usage: "maximum number of processes (-1: unlimited)"},
		&cli.StringFlag{Name: "blkio-weight", Usage: "block IO weight (10-1000)"},
		&cli.StringFlag{Name: "l3-cache-schema", Usage: "L3 cache schemata line for the container's resctrl group (linux.intelRdt)"},
		&cli.StringFlag{Name: "mem-bw-schema", Usage: "memory bandwidth schemata line for the container's resctrl group (linux.intelRdt)"},
	},
	Action: func(c *cli.Context) error {
		if err := checkArgs(c, 1, "<container-id>"); err != nil {
			return err
		}
		r, err := updateResources(c)
		if err != nil {
			return err
		}
		root, id := c.String("root"), c.Args().First()
		if err := libcontainer.UpdateIntelRdt(root, id, c.String("l3-cache-schema"), c.String("mem-bw-schema")); err != nil {
			return err
		}
		return libcontainer.Update(root, id, r)
	},
}

// updateResources reads --resources (what dockerd sends on stdin) and lays
// the individual flags over it.
func updateResources(c *cli.Context) (*specs.LinuxResources, error) {
	r := &specs.LinuxResources{}
	if path := c.String("resources"); path != "" {
		var in io.Reader = os.Stdin
		if path != "-" {
			f, err := os.Open(path)
			if err != nil {
				return nil, fmt.Errorf("--resources: %w", err)
			}
			defer f.Close()
			in = f
		}
		if err := json.NewDecoder(in).Decode(r); err != nil {
			return nil, fmt.Errorf("--resources %s: invalid LinuxResources JSON: %w", path, err)
		}
	}
	var err error
	i64 := func(flag string, set func(v int64)) {
		if err != nil || !c.IsSet(flag) {
			return
		}
		v, perr := strconv.ParseInt(c.String(flag), 10, 64)
		if perr != nil {
			err = fmt.Errorf("--%s %q: not a number", flag, c.String(flag))
			return
		}
		set(v)
	}
	u64 := func(flag string, set func(v uint64)) {
		if err != nil || !c.IsSet(flag) {
			return
		}
		v, perr := strconv.ParseUint(c.String(flag), 10, 64)
		if perr != nil {
			err = fmt.Errorf("--%s %q: not a non-negative number", flag, c.String(flag))
			return
		}
		set(v)
	}
	size := func(flag string, set func(v int64)) {
		if err != nil || !c.IsSet(flag) {
			return
		}
		v, perr := memSize(c.String(flag))
		if perr != nil {
			err = fmt.Errorf("--%s %q: %w", flag, c.String(flag), perr)
			return
		}
		set(v)
	}
	mem := func() *specs.LinuxMemory {
		if r.Memory == nil {
			r.Memory = &specs.LinuxMemory{}
		}
		return r.Memory
	}
	cpu := func() *specs.LinuxCPU {
		if r.CPU == nil {
			r.CPU = &specs.LinuxCPU{}
		}
		return r.CPU
	}
	size("memory", func(v int64) { mem().Limit = &v })
	size("memory-reservation", func(v int64) { mem().Reservation = &v })
	size("memory-swap", func(v int64) { mem().Swap = &v })
	u64("cpu-period", func(v uint64) { cpu().Period = &v })
	i64("cpu-quota", func(v int64) { cpu().Quota = &v })
	u64("cpu-share", func(v uint64) { cpu().Shares = &v })
	u64("cpu-burst", func(v uint64) { cpu().Burst = &v })
	i64("cpu-idle", func(v int64) { cpu().Idle = &v })
	u64("cpu-rt-period", func(v uint64) { cpu().RealtimePeriod = &v })
	i64("cpu-rt-runtime", func(v int64) { cpu().RealtimeRuntime = &v })
	i64("pids-limit", func(v int64) { r.Pids = &specs.LinuxPids{Limit: &v} })
	u64("blkio-weight", func(v uint64) {
		w := uint16(v)
		if v > 1000 {
			err = fmt.Errorf("--blkio-weight %d: must be 10..1000", v)
		}
		r.BlockIO = &specs.LinuxBlockIO{Weight: &w}
	})
	if err != nil {
		return nil, err
	}
	if c.IsSet("cpuset-cpus") {
		cpu().Cpus = c.String("cpuset-cpus")
	}
	if c.IsSet("cpuset-mems") {
		cpu().Mems = c.String("cpuset-mems")
	}
	return r, nil
}

// memSize reads a memory flag of update the way runc does: -1
// (unlimited), or a number of bytes, maybe with a fraction and a binary
// unit (k, m, g, t, p; any case; an optional i and b after it; a space
// before it): 512, 64M, 1.5g, 2 GiB, 1kb.
func memSize(s string) (int64, error) {
	if s == "-1" {
		return -1, nil
	}
	errSize := errors.New("not a size: bytes, or a number with a k, m, g, t or p suffix (-1: unlimited)")
	end := strings.IndexFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if end < 0 {
		end = len(s)
	}
	num, unit := s[:end], strings.ToLower(strings.TrimPrefix(s[end:], " "))
	if num == "" || num[0] < '0' || num[0] > '9' || num[len(num)-1] == '.' {
		return 0, errSize
	}
	n, perr := strconv.ParseFloat(num, 64)
	if perr != nil {
		return 0, errSize
	}
	mult := 1.0
	if unit != "" {
		if i := strings.IndexByte("kmgtp", unit[0]); i >= 0 {
			mult = math.Pow(1024, float64(i+1))
			unit = unit[1:]
		}
	}
	if unit = strings.TrimPrefix(strings.TrimPrefix(unit, "i"), "b"); unit != "" {
		return 0, errSize
	}
	v := n * mult
	if v >= math.MaxInt64 {
		return 0, fmt.Errorf("%s is too large", s)
	}
	return int64(v), nil
}
