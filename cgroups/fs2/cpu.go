package fs2

import (
	"fmt"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"berth/cgroups"
	"berth/cgroups/internal/cgfs"
)

// planCPU: cpu.weight, cpu.max, cpu.max.burst, cpu.idle and the cpuset.
func planCPU(pl *cgroups.Plan, c *specs.LinuxCPU, dir string, p cgroups.Prober) error {
	if c == nil {
		return nil
	}
	if v := cgfs.Deref(c.Shares); v != 0 {
		if v < cgroups.MinShares || v > cgroups.MaxShares {
			return fmt.Errorf("linux.resources.cpu.shares: %d is outside %d..%d", v, cgroups.MinShares, cgroups.MaxShares)
		}
		pl.Add(cgroups.Write{Dir: dir, File: "cpu.weight", Value: cgfs.Utoa(cgroups.SharesToWeight(v)), Field: "linux.resources.cpu.shares"})
	}
	period, quota := cgfs.Deref(c.Period), cgfs.Deref(c.Quota)
	if period != 0 || quota != 0 {
		var max string
		switch {
		case quota > 0:
			max = cgfs.Itoa(quota)
		case quota < 0:
			max = "max"
		default:
			// Only the period changes: cpu.max takes "$MAX $PERIOD",
			// so keep the current $MAX.
			cur, err := p.Read(dir, "cpu.max")
			if err != nil {
				return fmt.Errorf("linux.resources.cpu.period: %w", err)
			}
			max, _, _ = strings.Cut(cur, " ")
			if max == "" {
				max = "max"
			}
		}
		v, field := max, "linux.resources.cpu.quota"
		if period != 0 {
			v += " " + cgfs.Utoa(period)
			field = "linux.resources.cpu.quota/period"
		}
		pl.Add(cgroups.Write{Dir: dir, File: "cpu.max", Value: v, Field: field, Retry: c.Burst != nil})
	}
	if c.Burst != nil {
		if !p.Exists(dir, "cpu.max.burst") {
			return fmt.Errorf("linux.resources.cpu.burst: this kernel has no cpu.max.burst (Linux 5.14+)")
		}
		pl.Add(cgroups.Write{Dir: dir, File: "cpu.max.burst", Value: cgfs.Utoa(*c.Burst), Field: "linux.resources.cpu.burst", Retry: true})
	}
	if cgfs.Deref(c.RealtimeRuntime) != 0 || cgfs.Deref(c.RealtimePeriod) != 0 {
		return fmt.Errorf("linux.resources.cpu.realtimeRuntime/realtimePeriod: cgroup v2 has no realtime group scheduling")
	}
	if c.Idle != nil {
		if !p.Exists(dir, "cpu.idle") {
			return fmt.Errorf("linux.resources.cpu.idle: this kernel has no cpu.idle (Linux 5.15+)")
		}
		pl.Add(cgroups.Write{Dir: dir, File: "cpu.idle", Value: cgfs.Itoa(*c.Idle), Field: "linux.resources.cpu.idle"})
	}
	if c.Cpus != "" {
		pl.Add(cgroups.Write{Dir: dir, File: "cpuset.cpus", Value: c.Cpus, Field: "linux.resources.cpu.cpus"})
	}
	if c.Mems != "" {
		pl.Add(cgroups.Write{Dir: dir, File: "cpuset.mems", Value: c.Mems, Field: "linux.resources.cpu.mems"})
	}
	return nil
}
