package fs2

import (
	"os"
	"strconv"
	"strings"

	"berth/cgroups"
	"berth/cgroups/internal/cgfs"
)

func (m *Manager) Stats() (*cgroups.Stats, error) {
	s := &cgroups.Stats{}
	dir := m.dir
	cpu, err := cgfs.ReadKV(dir, "cpu.stat")
	if cgfs.Optional(err) != nil {
		return nil, err
	}
	// cpu.stat counts microseconds.
	s.CPU.Usage = cgroups.CPUUsage{Total: cpu["usage_usec"] * 1000, User: cpu["user_usec"] * 1000, Kernel: cpu["system_usec"] * 1000}
	s.CPU.Throttling = cgroups.CPUThrottling{Periods: cpu["nr_periods"], ThrottledPeriods: cpu["nr_throttled"], ThrottledTime: cpu["throttled_usec"] * 1000}

	if s.Memory.Usage.Usage, err = cgfs.ReadUint(dir, "memory.current"); cgfs.Optional(err) != nil {
		return nil, err
	}
	if s.Memory.Usage.Limit, err = cgfs.ReadUint(dir, "memory.max"); cgfs.Optional(err) != nil {
		return nil, err
	}
	if s.Memory.Usage.Max, err = cgfs.ReadUint(dir, "memory.peak"); cgfs.Optional(err) != nil {
		return nil, err
	}
	if s.Memory.Swap.Usage, err = cgfs.ReadUint(dir, "memory.swap.current"); cgfs.Optional(err) != nil {
		return nil, err
	}
	if s.Memory.Swap.Limit, err = cgfs.ReadUint(dir, "memory.swap.max"); cgfs.Optional(err) != nil {
		return nil, err
	}
	if s.Memory.Swap.Max, err = cgfs.ReadUint(dir, "memory.swap.peak"); cgfs.Optional(err) != nil {
		return nil, err
	}
	ev, err := cgfs.ReadKV(dir, "memory.events")
	if cgfs.Optional(err) != nil {
		return nil, err
	}
	// "max" counts the times usage hit memory.max: v1's failcnt.
	s.Memory.Usage.Failcnt = ev["max"]
	s.Memory.OOMEvents = ev["oom"]
	s.Memory.OOMKills = ev["oom_kill"]
	if sev, err := cgfs.ReadKV(dir, "memory.swap.events"); err == nil {
		s.Memory.Swap.Failcnt = sev["max"]
	}
	raw, err := cgfs.ReadKV(dir, "memory.stat")
	if cgfs.Optional(err) != nil {
		return nil, err
	}
	s.Memory.Raw = raw
	s.Memory.Cache = raw["file"]

	if s.Pids.Current, err = cgfs.ReadUint(dir, "pids.current"); cgfs.Optional(err) != nil {
		return nil, err
	}
	if s.Pids.Limit, err = cgfs.ReadUint(dir, "pids.max"); cgfs.Optional(err) != nil {
		return nil, err
	}

	if s.Blkio.IoServiceBytesRecursive, s.Blkio.IoServicedRecursive, err = readIOStat(dir); cgfs.Optional(err) != nil {
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
		var h cgroups.HugetlbStats
		h.Usage, _ = cgfs.ReadUint(dir, "hugetlb."+size+".current")
		if hev, err := cgfs.ReadKV(dir, "hugetlb."+size+".events"); err == nil {
			h.Failcnt = hev["max"]
		}
		if s.Hugetlb == nil {
			s.Hugetlb = make(map[string]cgroups.HugetlbStats)
		}
		s.Hugetlb[size] = h
	}
	return s, nil
}

// readIOStat parses io.stat: "8:0 rbytes=1 wbytes=2 rios=3 wios=4 ...".
func readIOStat(dir string) (bytes, ios []cgroups.BlkioEntry, err error) {
	s, err := cgfs.Read(dir, "io.stat")
	if err != nil {
		return nil, nil, err
	}
	for _, line := range strings.Split(s, "\n") {
		fl := strings.Fields(line)
		if len(fl) < 2 {
			continue
		}
		maj, min, ok := cgfs.ParseDevnum(fl[0])
		if !ok {
			continue
		}
		for _, kv := range fl[1:] {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				continue
			}
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				continue
			}
			e := cgroups.BlkioEntry{Major: maj, Minor: min, Value: n}
			switch k {
			case "rbytes":
				e.Op = "Read"
				bytes = append(bytes, e)
			case "wbytes":
				e.Op = "Write"
				bytes = append(bytes, e)
			case "rios":
				e.Op = "Read"
				ios = append(ios, e)
			case "wios":
				e.Op = "Write"
				ios = append(ios, e)
			}
		}
	}
	return bytes, ios, nil
}
