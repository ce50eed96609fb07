package cgroups

import (
	"os"
	"strings"
)

func (m *v2Manager) Stats() (*Stats, error) {
	s := &Stats{}
	dir := m.dir
	cpu, err := readKV(dir, "cpu.stat")
	if optional(err) != nil {
		return nil, err
	}
	// cpu.stat counts microseconds.
	s.CPU.Usage = CPUUsage{Total: cpu["usage_usec"] * 1000, User: cpu["user_usec"] * 1000, Kernel: cpu["system_usec"] * 1000}
	s.CPU.Throttling = CPUThrottling{Periods: cpu["nr_periods"], ThrottledPeriods: cpu["nr_throttled"], ThrottledTime: cpu["throttled_usec"] * 1000}

	if s.Memory.Usage.Usage, err = readUint(dir, "memory.current"); optional(err) != nil {
		return nil, err
	}
	if s.Memory.Usage.Limit, err = readUint(dir, "memory.max"); optional(err) != nil {
		return nil, err
	}
	if s.Memory.Usage.Max, err = readUint(dir, "memory.peak"); optional(err) != nil {
		return nil, err
	}
	if s.Memory.Swap.Usage, err = readUint(dir, "memory.swap.current"); optional(err) != nil {
		return nil, err
	}
	if s.Memory.Swap.Limit, err = readUint(dir, "memory.swap.max"); optional(err) != nil {
		return nil, err
	}
	if s.Memory.Swap.Max, err = readUint(dir, "memory.swap.peak"); optional(err) != nil {
		return nil, err
	}
	ev, err := readKV(dir, "memory.events")
	if optional(err) != nil {
		return nil, err
	}
	// "max" counts the times usage hit memory.max: v1's failcnt.
	s.Memory.Usage.Failcnt = ev["max"]
	s.Memory.OOMEvents = ev["oom"]
	s.Memory.OOMKills = ev["oom_kill"]
	if sev, err := readKV(dir, "memory.swap.events"); err == nil {
		s.Memory.Swap.Failcnt = sev["max"]
	}
	raw, err := readKV(dir, "memory.stat")
	if optional(err) != nil {
		return nil, err
	}
	s.Memory.Raw = raw
	s.Memory.Cache = raw["file"]

	if s.Pids.Current, err = readUint(dir, "pids.current"); optional(err) != nil {
		return nil, err
	}
	if s.Pids.Limit, err = readUint(dir, "pids.max"); optional(err) != nil {
		return nil, err
	}

	if s.Blkio.IoServiceBytesRecursive, s.Blkio.IoServicedRecursive, err = readIOStatV2(dir); optional(err) != nil {
		return nil, err
	}

	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		size, ok := strings.CutPrefix(e.Name(), "hugetlb.")
		if !ok {
			continue
		}
		if size, ok = strings.CutSuffix(size, ".current"); !ok || strings.Contains(size, ".") {
			continue
		}
		var h HugetlbStats
		h.Usage, _ = readUint(dir, "hugetlb."+size+".current")
		if hev, err := readKV(dir, "hugetlb."+size+".events"); err == nil {
			h.Failcnt = hev["max"]
		}
		if s.Hugetlb == nil {
			s.Hugetlb = make(map[string]HugetlbStats)
		}
		s.Hugetlb[size] = h
	}
	return s, nil
}
