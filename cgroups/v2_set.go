package cgroups

import (
	"fmt"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// v2Controllers are the controllers a v2 cgroup is created with (when its
// parents offer them): what Set, Stats and a later update need.
var v2Controllers = []string{"cpu", "cpuset", "io", "memory", "pids"}

// knownV2Controllers are the names a unified key's prefix may be.
var knownV2Controllers = map[string]bool{
	"cpu": true, "cpuset": true, "io": true, "memory": true, "pids": true,
	"hugetlb": true, "rdma": true, "misc": true, "perf_event": true,
}

// neededV2 lists the controllers r needs, each with the first spec field
// that needs it (for the error when the controller is missing).
func neededV2(r *specs.LinuxResources) map[string]string {
	need := make(map[string]string)
	add := func(c, field string) {
		if _, ok := need[c]; !ok {
			need[c] = field
		}
	}
	if r == nil {
		return need
	}
	if m := r.Memory; m != nil && (deref(m.Limit) != 0 || deref(m.Swap) != 0 || deref(m.Reservation) != 0) {
		add("memory", "linux.resources.memory")
	}
	if c := r.CPU; c != nil {
		if c.Shares != nil || c.Quota != nil || c.Period != nil || c.Burst != nil || c.Idle != nil {
			add("cpu", "linux.resources.cpu")
		}
		if c.Cpus != "" || c.Mems != "" {
			add("cpuset", "linux.resources.cpu.cpus/mems")
		}
	}
	if _, ok := pidsMax(r.Pids); ok {
		add("pids", "linux.resources.pids")
	}
	if b := r.BlockIO; b != nil && blockIOSet(b) {
		add("io", "linux.resources.blockIO")
	}
	if len(r.HugepageLimits) > 0 {
		add("hugetlb", "linux.resources.hugepageLimits")
	}
	if len(r.Rdma) > 0 {
		add("rdma", "linux.resources.rdma")
	}
	for _, k := range sortedKeys(r.Unified) {
		if c, _, ok := strings.Cut(k, "."); ok && knownV2Controllers[c] {
			add(c, fmt.Sprintf("linux.resources.unified[%q]", k))
		}
	}
	return need
}

func blockIOSet(b *specs.LinuxBlockIO) bool {
	return deref(b.Weight) != 0 || len(b.WeightDevice) > 0 || len(b.ThrottleReadBpsDevice) > 0 ||
		len(b.ThrottleWriteBpsDevice) > 0 || len(b.ThrottleReadIOPSDevice) > 0 || len(b.ThrottleWriteIOPSDevice) > 0
}

// planV2 turns r (devices aside: those become an eBPF program) into
// writes to the cgroup v2 directory dir.
func planV2(r *specs.LinuxResources, dir string, p prober) (*plan, error) {
	pl := &plan{}
	if r == nil {
		return pl, nil
	}
	if n := r.Network; n != nil && (n.ClassID != nil || len(n.Priorities) > 0) {
		return nil, fmt.Errorf("linux.resources.network: cgroup v2 has no net_cls/net_prio controllers (classify traffic by cgroup path instead, e.g. nftables \"socket cgroupv2\")")
	}
	steps := []func() error{
		func() error { return planV2Memory(pl, r.Memory, dir, p) },
		func() error { return planV2CPU(pl, r.CPU, dir, p) },
		func() error {
			if v, ok := pidsMax(r.Pids); ok {
				pl.add(write{dir: dir, file: "pids.max", value: v, field: "linux.resources.pids.limit"})
			}
			return nil
		},
		func() error { return planV2IO(pl, r.BlockIO, dir, p) },
		func() error { return planV2Hugetlb(pl, r.HugepageLimits, dir, p) },
		func() error {
			return planRdma(pl, r.Rdma, func(string, string) (string, error) { return dir, nil })
		},
		func() error { return planUnified(pl, r.Unified, dir, p) },
	}
	for _, s := range steps {
		if err := s(); err != nil {
			return nil, err
		}
	}
	return pl, nil
}

func planV2Memory(pl *plan, m *specs.LinuxMemory, dir string, p prober) error {
	if m == nil {
		return nil
	}
	limit, swap := deref(m.Limit), deref(m.Swap)
	if limit < -1 {
		return fmt.Errorf("linux.resources.memory.limit: %d is neither -1 nor a size", limit)
	}
	if deref(m.CheckBeforeUpdate) && limit > 0 {
		if err := checkUsage(p, dir, "memory.current", limit); err != nil {
			return err
		}
	}
	if limit != 0 {
		pl.add(write{dir: dir, file: "memory.max", value: maxOr(limit), field: "linux.resources.memory.limit"})
	}
	if swap != 0 {
		v, err := SwapToV2(limit, swap)
		if err != nil {
			return err
		}
		switch {
		case p.exists(dir, "memory.swap.max"):
			pl.add(write{dir: dir, file: "memory.swap.max", value: v, field: "linux.resources.memory.swap"})
		case v != "max":
			return fmt.Errorf("linux.resources.memory.swap: this kernel does not account swap (no %s/memory.swap.max)", dir)
		}
	}
	if v := deref(m.Reservation); v != 0 {
		pl.add(write{dir: dir, file: "memory.low", value: maxOr(v), field: "linux.resources.memory.reservation"})
	}
	if deref(m.Kernel) != 0 {
		pl.warn("linux.resources.memory.kernel: ignored, cgroup v2 has no separate kernel memory limit (kernel memory counts in memory.max)")
	}
	if deref(m.KernelTCP) != 0 {
		pl.warn("linux.resources.memory.kernelTCP: ignored, cgroup v2 has no separate TCP buffer limit (it counts in memory.max)")
	}
	if m.Swappiness != nil {
		pl.warn("linux.resources.memory.swappiness: ignored, cgroup v2 has no per-cgroup swappiness")
	}
	if deref(m.DisableOOMKiller) {
		pl.warn("linux.resources.memory.disableOOMKiller: ignored, cgroup v2 cannot disable the OOM killer")
	}
	if m.UseHierarchy != nil && !*m.UseHierarchy {
		pl.warn("linux.resources.memory.useHierarchy: ignored, cgroup v2 accounting is always hierarchical")
	}
	return nil
}

func planV2CPU(pl *plan, c *specs.LinuxCPU, dir string, p prober) error {
	if c == nil {
		return nil
	}
	if v := deref(c.Shares); v != 0 {
		if v < minShares || v > maxShares {
			return fmt.Errorf("linux.resources.cpu.shares: %d is outside %d..%d", v, minShares, maxShares)
		}
		pl.add(write{dir: dir, file: "cpu.weight", value: utoa(SharesToWeight(v)), field: "linux.resources.cpu.shares"})
	}
	period, quota := deref(c.Period), deref(c.Quota)
	if period != 0 || quota != 0 {
		var max string
		switch {
		case quota > 0:
			max = itoa(quota)
		case quota < 0:
			max = "max"
		default:
			// Only the period changes: cpu.max takes "$MAX $PERIOD",
			// so keep the current $MAX.
			cur, err := p.read(dir, "cpu.max")
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
			v += " " + utoa(period)
			field = "linux.resources.cpu.quota/period"
		}
		pl.add(write{dir: dir, file: "cpu.max", value: v, field: field, retry: c.Burst != nil})
	}
	if c.Burst != nil {
		if !p.exists(dir, "cpu.max.burst") {
			return fmt.Errorf("linux.resources.cpu.burst: this kernel has no cpu.max.burst (Linux 5.14+)")
		}
		pl.add(write{dir: dir, file: "cpu.max.burst", value: utoa(*c.Burst), field: "linux.resources.cpu.burst", retry: true})
	}
	if deref(c.RealtimeRuntime) != 0 || deref(c.RealtimePeriod) != 0 {
		return fmt.Errorf("linux.resources.cpu.realtimeRuntime/realtimePeriod: cgroup v2 has no realtime group scheduling")
	}
	if c.Idle != nil {
		if !p.exists(dir, "cpu.idle") {
			return fmt.Errorf("linux.resources.cpu.idle: this kernel has no cpu.idle (Linux 5.15+)")
		}
		pl.add(write{dir: dir, file: "cpu.idle", value: itoa(*c.Idle), field: "linux.resources.cpu.idle"})
	}
	if c.Cpus != "" {
		pl.add(write{dir: dir, file: "cpuset.cpus", value: c.Cpus, field: "linux.resources.cpu.cpus"})
	}
	if c.Mems != "" {
		pl.add(write{dir: dir, file: "cpuset.mems", value: c.Mems, field: "linux.resources.cpu.mems"})
	}
	return nil
}

func planV2IO(pl *plan, b *specs.LinuxBlockIO, dir string, p prober) error {
	if b == nil {
		return nil
	}
	// With BFQ as the scheduler, its io.bfq.weight takes blkio's 1..1000
	// scale as is; otherwise io.weight (iocost) is 1..10000.
	bfq := p.exists(dir, "io.bfq.weight")
	weight := func(w uint16, field string) (string, string, error) {
		if bfq {
			return "io.bfq.weight", strconv.Itoa(int(w)), nil
		}
		if w < minBlkioWeight || w > maxBlkioWeight {
			return "", "", fmt.Errorf("%s: %d is outside %d..%d", field, w, minBlkioWeight, maxBlkioWeight)
		}
		if !p.exists(dir, "io.weight") {
			return "", "", fmt.Errorf("%s: this kernel has neither io.weight nor io.bfq.weight", field)
		}
		return "io.weight", utoa(BlkioWeightToIOWeight(uint64(w))), nil
	}
	if v := deref(b.Weight); v != 0 {
		file, val, err := weight(v, "linux.resources.blockIO.weight")
		if err != nil {
			return err
		}
		pl.add(write{dir: dir, file: file, value: val, field: "linux.resources.blockIO.weight"})
	}
	if deref(b.LeafWeight) != 0 {
		pl.warn("linux.resources.blockIO.leafWeight: ignored, cgroup v2 has no leaf weight")
	}
	for i, wd := range b.WeightDevice {
		field := fmt.Sprintf("linux.resources.blockIO.weightDevice[%d]", i)
		if wd.Weight != nil {
			file, val, err := weight(*wd.Weight, field+".weight")
			if err != nil {
				return err
			}
			pl.add(write{dir: dir, file: file, value: devnum(wd.Major, wd.Minor) + " " + val, field: field + ".weight"})
		}
		if wd.LeafWeight != nil {
			pl.warn("%s.leafWeight: ignored, cgroup v2 has no leaf weight", field)
		}
	}
	for _, t := range throttles(b) {
		for i, d := range t.list {
			pl.add(write{dir: dir, file: "io.max", value: devnum(d.Major, d.Minor) + " " + t.v2 + "=" + throttleV2(d.Rate),
				field: fmt.Sprintf("linux.resources.blockIO.%s[%d]", t.fd, i)})
		}
	}
	return nil
}

func planV2Hugetlb(pl *plan, limits []specs.LinuxHugepageLimit, dir string, p prober) error {
	return planHugetlb(pl, limits, dir, p, "max")
}

// planHugetlb writes each page size's limit to hugetlb.<size>.<suffix> and,
// where the kernel has it, to the reservation file hugetlb.<size>.rsvd.<suffix>;
// v1 and v2 differ only in the suffix.
func planHugetlb(pl *plan, limits []specs.LinuxHugepageLimit, dir string, p prober, suffix string) error {
	for i, h := range limits {
		field := fmt.Sprintf("linux.resources.hugepageLimits[%d]", i)
		if !validPageSize(h.Pagesize) {
			return fmt.Errorf("%s.pageSize: %q is not a size such as 2MB or 1GB", field, h.Pagesize)
		}
		file := "hugetlb." + h.Pagesize + "." + suffix
		if !p.exists(dir, file) {
			return fmt.Errorf("%s.pageSize: %q is not a huge page size of this host (no %s/%s)", field, h.Pagesize, dir, file)
		}
		pl.add(write{dir: dir, file: file, value: utoa(h.Limit), field: field + ".limit"})
		if rsvd := "hugetlb." + h.Pagesize + ".rsvd." + suffix; p.exists(dir, rsvd) {
			pl.add(write{dir: dir, file: rsvd, value: utoa(h.Limit), field: field + ".limit"})
		}
	}
	return nil
}

// Unified keys berth will not write: moving or killing processes is the
// runtime's job, and the subtree is the container's own business.
var unifiedRefused = map[string]bool{
	"cgroup.procs": true, "cgroup.threads": true, "cgroup.kill": true,
	"cgroup.freeze": true, "cgroup.subtree_control": true, "cgroup.type": true,
}

// planUnified writes linux.resources.unified last, so a key overrides the
// value berth derived from the other fields. A multi-line value ("io.max"
// for two devices) is written one line at a time: most keyed files take
// one entry per write.
func planUnified(pl *plan, unified map[string]string, dir string, p prober) error {
	for _, k := range sortedKeys(unified) {
		field := fmt.Sprintf("linux.resources.unified[%q]", k)
		if k == "" || k == "." || k == ".." || strings.ContainsAny(k, "/\x00") {
			return fmt.Errorf("%s: not a cgroup file name", field)
		}
		if unifiedRefused[k] {
			return fmt.Errorf("%s: berth does not let the spec write %s", field, k)
		}
		if !p.exists(dir, k) {
			ctrl, _, _ := strings.Cut(k, ".")
			return fmt.Errorf("%s: no such file in %s (is the %q controller available? see cgroup.controllers)", field, dir, ctrl)
		}
		lines := strings.Split(unified[k], "\n")
		n := 0
		for _, line := range lines {
			if strings.TrimSpace(line) == "" {
				continue
			}
			pl.add(write{dir: dir, file: k, value: line, field: field})
			n++
		}
		if n == 0 {
			pl.add(write{dir: dir, file: k, value: unified[k], field: field})
		}
	}
	return nil
}
