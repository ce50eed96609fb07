package fs1

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"berth/cgroups"
	"berth/cgroups/internal/cgfs"
)

// cpuCtl: shares, CFS bandwidth (period, quota, burst), realtime
// bandwidth and idle; throttling counters.
type cpuCtl struct{}

func (cpuCtl) name() string { return "cpu" }

func (cpuCtl) plan(pl *cgroups.Plan, r *specs.LinuxResources, dir string, p cgroups.Prober) error {
	c := r.CPU
	if c == nil || c.Shares == nil && c.Quota == nil && c.Period == nil && c.Burst == nil &&
		c.RealtimeRuntime == nil && c.RealtimePeriod == nil && c.Idle == nil {
		return nil
	}
	if dir == "" {
		return notMounted("linux.resources.cpu", "cpu")
	}
	if v := cgfs.Deref(c.Shares); v != 0 {
		pl.Add(cgroups.Write{Dir: dir, File: "cpu.shares", Value: cgfs.Utoa(v), Field: "linux.resources.cpu.shares", Check: cgroups.CheckShares})
	}
	period, quota := cgfs.Deref(c.Period), cgfs.Deref(c.Quota)
	if period != 0 {
		pl.Add(cgroups.Write{Dir: dir, File: "cpu.cfs_period_us", Value: cgfs.Utoa(period), Field: "linux.resources.cpu.period", Retry: quota != 0 || c.Burst != nil})
	}
	if quota != 0 {
		if quota < 0 {
			quota = -1
		}
		pl.Add(cgroups.Write{Dir: dir, File: "cpu.cfs_quota_us", Value: cgfs.Itoa(quota), Field: "linux.resources.cpu.quota", Retry: c.Burst != nil || period != 0})
	}
	if c.Burst != nil {
		if !p.Exists(dir, "cpu.cfs_burst_us") {
			return fmt.Errorf("linux.resources.cpu.burst: this kernel has no cpu.cfs_burst_us (Linux 5.14+)")
		}
		pl.Add(cgroups.Write{Dir: dir, File: "cpu.cfs_burst_us", Value: cgfs.Utoa(*c.Burst), Field: "linux.resources.cpu.burst", Retry: true})
	}
	rtPeriod, rtRuntime := cgfs.Deref(c.RealtimePeriod), cgfs.Deref(c.RealtimeRuntime)
	if rtPeriod != 0 || rtRuntime != 0 {
		if !p.Exists(dir, "cpu.rt_runtime_us") {
			return fmt.Errorf("linux.resources.cpu.realtimeRuntime: this kernel has no realtime group scheduling (no cpu.rt_runtime_us)")
		}
	}
	if rtPeriod != 0 {
		pl.Add(cgroups.Write{Dir: dir, File: "cpu.rt_period_us", Value: cgfs.Utoa(rtPeriod), Field: "linux.resources.cpu.realtimePeriod", Retry: rtRuntime != 0})
	}
	if rtRuntime != 0 {
		if rtRuntime < 0 {
			rtRuntime = -1
		}
		pl.Add(cgroups.Write{Dir: dir, File: "cpu.rt_runtime_us", Value: cgfs.Itoa(rtRuntime), Field: "linux.resources.cpu.realtimeRuntime", Retry: rtPeriod != 0})
	}
	if c.Idle != nil {
		if !p.Exists(dir, "cpu.idle") {
			return fmt.Errorf("linux.resources.cpu.idle: this kernel has no cpu.idle (Linux 5.15+)")
		}
		pl.Add(cgroups.Write{Dir: dir, File: "cpu.idle", Value: cgfs.Itoa(*c.Idle), Field: "linux.resources.cpu.idle"})
	}
	return nil
}

func (cpuCtl) stats(dir string, s *cgroups.Stats) error {
	kv, err := cgfs.ReadKV(dir, "cpu.stat")
	if cgfs.Optional(err) != nil {
		return err
	}
	s.CPU.Throttling = cgroups.CPUThrottling{Periods: kv["nr_periods"], ThrottledPeriods: kv["nr_throttled"], ThrottledTime: kv["throttled_time"]}
	return nil
}
