package cgroups

import (
	"os"
	"strconv"
	"strings"
)

// userHZ is the unit of cpuacct.stat (USER_HZ, 100 on every Linux ABI).
const userHZ = 100

func (m *v1Manager) Stats() (*Stats, error) {
	s := &Stats{}
	steps := []func() error{
		func() error { return m.cpuStats(s) },
		func() error { return m.memoryStats(s) },
		func() error { return m.pidsStats(s) },
		func() error { return m.blkioStats(s) },
		func() error { return m.hugetlbStats(s) },
	}
	for _, f := range steps {
		if err := f(); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (m *v1Manager) cpuStats(s *Stats) error {
	if dir, ok := m.paths["cpuacct"]; ok {
		total, err := readUint(dir, "cpuacct.usage")
		if optional(err) != nil {
			return err
		}
		s.CPU.Usage.Total = total
		if per, err := readFile(dir, "cpuacct.usage_percpu"); err == nil {
			for _, f := range strings.Fields(per) {
				v, _ := strconv.ParseUint(f, 10, 64)
				s.CPU.Usage.PerCPU = append(s.CPU.Usage.PerCPU, v)
			}
		}
		kv, err := readKV(dir, "cpuacct.stat")
		if optional(err) != nil {
			return err
		}
		s.CPU.Usage.User = kv["user"] * (1e9 / userHZ)
		s.CPU.Usage.Kernel = kv["system"] * (1e9 / userHZ)
	}
	if dir, ok := m.paths["cpu"]; ok {
		kv, err := readKV(dir, "cpu.stat")
		if optional(err) != nil {
			return err
		}
		s.CPU.Throttling = CPUThrottling{Periods: kv["nr_periods"], ThrottledPeriods: kv["nr_throttled"], ThrottledTime: kv["throttled_time"]}
	}
	return nil
}

func (m *v1Manager) memoryStats(s *Stats) error {
	dir, ok := m.paths["memory"]
	if !ok {
		return nil
	}
	entry := func(prefix string) (MemoryEntry, error) {
		var e MemoryEntry
		for _, f := range []struct {
			name string
			dst  *uint64
		}{
			{"usage_in_bytes", &e.Usage}, {"limit_in_bytes", &e.Limit},
			{"max_usage_in_bytes", &e.Max}, {"failcnt", &e.Failcnt},
		} {
			v, err := readUint(dir, prefix+f.name)
			if err != nil {
				return e, optional(err)
			}
			*f.dst = v
		}
		return e, nil
	}
	var err error
	if s.Memory.Usage, err = entry("memory."); err != nil {
		return err
	}
	if s.Memory.Swap, err = entry("memory.memsw."); err != nil {
		return err
	}
	raw, err := readKV(dir, "memory.stat")
	if optional(err) != nil {
		return err
	}
	s.Memory.Raw = raw
	s.Memory.Cache = raw["total_cache"]
	if s.Memory.Cache == 0 {
		s.Memory.Cache = raw["cache"]
	}
	oom, err := readKV(dir, "memory.oom_control")
	if optional(err) != nil {
		return err
	}
	s.Memory.OOMKills = oom["oom_kill"]
	s.Memory.OOMEvents = oom["oom_kill"]
	return nil
}

func (m *v1Manager) pidsStats(s *Stats) error {
	dir, ok := m.paths["pids"]
	if !ok {
		return nil
	}
	cur, err := readUint(dir, "pids.current")
	if optional(err) != nil {
		return err
	}
	lim, err := readUint(dir, "pids.max")
	if optional(err) != nil {
		return err
	}
	s.Pids = PidsStats{Current: cur, Limit: lim}
	return nil
}

// blkioStats reads the throttle counters, which count every I/O whatever
// the scheduler; the CFQ/BFQ files are the fallback.
func (m *v1Manager) blkioStats(s *Stats) error {
	dir, ok := m.paths["blkio"]
	if !ok {
		return nil
	}
	read := func(names ...string) ([]BlkioEntry, error) {
		for _, n := range names {
			e, err := readBlkioV1(dir, n)
			if err != nil {
				if optional(err) != nil {
					return nil, err
				}
				continue
			}
			if len(e) > 0 {
				return e, nil
			}
		}
		return nil, nil
	}
	var err error
	if s.Blkio.IoServiceBytesRecursive, err = read("blkio.throttle.io_service_bytes_recursive",
		"blkio.io_service_bytes_recursive", "blkio.bfq.io_service_bytes_recursive"); err != nil {
		return err
	}
	s.Blkio.IoServicedRecursive, err = read("blkio.throttle.io_serviced_recursive",
		"blkio.io_serviced_recursive", "blkio.bfq.io_serviced_recursive")
	return err
}

func (m *v1Manager) hugetlbStats(s *Stats) error {
	dir, ok := m.paths["hugetlb"]
	if !ok {
		return nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return optional(err)
	}
	for _, e := range entries {
		size, ok := strings.CutPrefix(e.Name(), "hugetlb.")
		if !ok {
			continue
		}
		if size, ok = strings.CutSuffix(size, ".usage_in_bytes"); !ok || strings.Contains(size, ".") {
			continue
		}
		var h HugetlbStats
		h.Usage, _ = readUint(dir, "hugetlb."+size+".usage_in_bytes")
		h.Max, _ = readUint(dir, "hugetlb."+size+".max_usage_in_bytes")
		h.Failcnt, _ = readUint(dir, "hugetlb."+size+".failcnt")
		if s.Hugetlb == nil {
			s.Hugetlb = make(map[string]HugetlbStats)
		}
		s.Hugetlb[size] = h
	}
	return nil
}
