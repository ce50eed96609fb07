package cgroups

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"berth/cgroups/devices"
)

// planV1 turns r into writes to the v1 hierarchies in paths (controller ->
// directory).
func planV1(r *specs.LinuxResources, paths map[string]string, p prober) (*plan, error) {
	if r == nil {
		r = &specs.LinuxResources{}
	}
	pl := &plan{}
	if len(r.Unified) > 0 {
		keys := sortedKeys(r.Unified)
		return nil, fmt.Errorf("linux.resources.unified[%q]: cgroup v2 files cannot be written on this cgroup v1 host", keys[0])
	}
	ctrl := func(name, field string) (string, error) {
		if d, ok := paths[name]; ok {
			return d, nil
		}
		return "", fmt.Errorf("%s: the %s controller is not mounted on this host", field, name)
	}
	steps := []func() error{
		func() error { return planV1Devices(pl, r.Devices, paths, p) },
		func() error { return planV1Memory(pl, r.Memory, ctrl, p) },
		func() error { return planV1CPU(pl, r.CPU, ctrl, p) },
		func() error { return planV1Pids(pl, r.Pids, ctrl) },
		func() error { return planV1BlockIO(pl, r.BlockIO, ctrl, p) },
		func() error { return planV1Hugetlb(pl, r.HugepageLimits, paths, p) },
		func() error { return planV1Network(pl, r.Network, ctrl) },
		func() error { return planRdma(pl, r.Rdma, ctrl) },
	}
	for _, s := range steps {
		if err := s(); err != nil {
			return nil, err
		}
	}
	return pl, nil
}

type ctrlFunc func(name, field string) (string, error)

func planV1Devices(pl *plan, specRules []specs.LinuxDeviceCgroup, paths map[string]string, p prober) error {
	rules, err := devices.Effective(specRules)
	if err != nil {
		return err
	}
	dir, ok := paths["devices"]
	if !ok {
		if devices.AllowsAll(rules) {
			return nil
		}
		return fmt.Errorf("linux.resources.devices: the devices controller is not mounted on this host, so the device allow-list cannot be enforced")
	}
	// Resetting a running container's list denies it everything for a
	// moment: leave a list that is already right alone (update).
	if want, ok := devices.V1List(rules); ok {
		if cur, err := p.read(dir, "devices.list"); err == nil && devices.SameV1List(want, strings.Split(cur, "\n")) {
			return nil
		}
	}
	for _, w := range devices.V1Writes(rules) {
		pl.add(write{dir: dir, file: w.File, value: w.Value, field: w.Field})
	}
	return nil
}

func planV1Memory(pl *plan, m *specs.LinuxMemory, ctrl ctrlFunc, p prober) error {
	if m == nil {
		return nil
	}
	dir, err := ctrl("memory", "linux.resources.memory")
	if err != nil {
		return err
	}
	if s := m.Swappiness; s != nil && *s > 100 {
		return fmt.Errorf("linux.resources.memory.swappiness: %d is above 100", *s)
	}
	limit, swap := deref(m.Limit), deref(m.Swap)
	if limit < -1 {
		return fmt.Errorf("linux.resources.memory.limit: %d is neither -1 nor a size", limit)
	}
	if swap < -1 {
		return fmt.Errorf("linux.resources.memory.swap: %d is neither -1 nor a size", swap)
	}
	hasMemsw := p.exists(dir, "memory.memsw.limit_in_bytes")
	if limit == -1 && m.Swap == nil && hasMemsw {
		// Unlimited memory with swap unsaid: lift the memory+swap
		// limit too, or the old one would still cap memory.
		swap = -1
	}
	if !hasMemsw && swap != 0 {
		if swap != -1 {
			return fmt.Errorf("linux.resources.memory.swap: swap accounting is off in this kernel (no memory.memsw.limit_in_bytes; boot with swapaccount=1)")
		}
		swap = 0 // no memory+swap limit exists to lift
	}
	if limit > 0 && swap > 0 && swap < limit {
		return fmt.Errorf("linux.resources.memory.swap: %d is below memory.limit %d (swap is memory+swap)", swap, limit)
	}
	if deref(m.CheckBeforeUpdate) && limit > 0 {
		if err := checkUsage(p, dir, "memory.usage_in_bytes", limit); err != nil {
			return err
		}
	}
	lw := write{dir: dir, file: "memory.limit_in_bytes", value: itoa(limit), field: "linux.resources.memory.limit"}
	sw := write{dir: dir, file: "memory.memsw.limit_in_bytes", value: itoa(swap), field: "linux.resources.memory.swap"}
	switch {
	case limit != 0 && swap != 0:
		// The kernel keeps memsw >= limit at every step: raise memsw
		// first when it grows past the current limit, else lower the
		// limit first.
		cur, err := p.read(dir, "memory.limit_in_bytes")
		if err != nil {
			return fmt.Errorf("linux.resources.memory: %w", err)
		}
		curLimit, err := parseUint(cur, dir+"/memory.limit_in_bytes")
		if err != nil {
			return err
		}
		if swap == -1 || uint64(swap) > curLimit {
			pl.add(sw)
			pl.add(lw)
		} else {
			pl.add(lw)
			pl.add(sw)
		}
	case limit != 0:
		pl.add(lw)
	case swap != 0:
		pl.add(sw)
	}
	if v := deref(m.Reservation); v != 0 {
		pl.add(write{dir: dir, file: "memory.soft_limit_in_bytes", value: itoa(v), field: "linux.resources.memory.reservation"})
	}
	if v := deref(m.Kernel); v != 0 {
		if p.exists(dir, "memory.kmem.limit_in_bytes") {
			pl.add(write{dir: dir, file: "memory.kmem.limit_in_bytes", value: itoa(v), field: "linux.resources.memory.kernel", check: checkApplied})
		} else {
			pl.warn("linux.resources.memory.kernel: ignored, this kernel has no kernel memory limit (memory.kmem.limit_in_bytes)")
		}
	}
	if v := deref(m.KernelTCP); v != 0 {
		if p.exists(dir, "memory.kmem.tcp.limit_in_bytes") {
			pl.add(write{dir: dir, file: "memory.kmem.tcp.limit_in_bytes", value: itoa(v), field: "linux.resources.memory.kernelTCP"})
		} else {
			pl.warn("linux.resources.memory.kernelTCP: ignored, this kernel has no memory.kmem.tcp.limit_in_bytes")
		}
	}
	if m.Swappiness != nil {
		pl.add(write{dir: dir, file: "memory.swappiness", value: utoa(*m.Swappiness), field: "linux.resources.memory.swappiness"})
	}
	if m.DisableOOMKiller != nil {
		pl.add(write{dir: dir, file: "memory.oom_control", value: boolNum(*m.DisableOOMKiller), field: "linux.resources.memory.disableOOMKiller"})
	}
	if m.UseHierarchy != nil {
		pl.add(write{dir: dir, file: "memory.use_hierarchy", value: boolNum(*m.UseHierarchy), field: "linux.resources.memory.useHierarchy", check: softEINVAL})
	}
	return nil
}

// checkUsage refuses a limit below the current usage (checkBeforeUpdate).
func checkUsage(p prober, dir, file string, limit int64) error {
	s, err := p.read(dir, file)
	if err != nil {
		return fmt.Errorf("linux.resources.memory.checkBeforeUpdate: %w", err)
	}
	usage, err := parseUint(s, dir+"/"+file)
	if err != nil {
		return err
	}
	if uint64(limit) < usage {
		return fmt.Errorf("linux.resources.memory.limit: %d is below the current usage %d (%s/%s) and checkBeforeUpdate is set", limit, usage, dir, file)
	}
	return nil
}

func planV1CPU(pl *plan, c *specs.LinuxCPU, ctrl ctrlFunc, p prober) error {
	if c == nil {
		return nil
	}
	if c.Shares != nil || c.Quota != nil || c.Period != nil || c.Burst != nil ||
		c.RealtimeRuntime != nil || c.RealtimePeriod != nil || c.Idle != nil {
		dir, err := ctrl("cpu", "linux.resources.cpu")
		if err != nil {
			return err
		}
		if v := deref(c.Shares); v != 0 {
			pl.add(write{dir: dir, file: "cpu.shares", value: utoa(v), field: "linux.resources.cpu.shares", check: checkShares})
		}
		period, quota := deref(c.Period), deref(c.Quota)
		if period != 0 {
			pl.add(write{dir: dir, file: "cpu.cfs_period_us", value: utoa(period), field: "linux.resources.cpu.period", retry: quota != 0 || c.Burst != nil})
		}
		if quota != 0 {
			if quota < 0 {
				quota = -1
			}
			pl.add(write{dir: dir, file: "cpu.cfs_quota_us", value: itoa(quota), field: "linux.resources.cpu.quota", retry: c.Burst != nil || period != 0})
		}
		if c.Burst != nil {
			if !p.exists(dir, "cpu.cfs_burst_us") {
				return fmt.Errorf("linux.resources.cpu.burst: this kernel has no cpu.cfs_burst_us (Linux 5.14+)")
			}
			pl.add(write{dir: dir, file: "cpu.cfs_burst_us", value: utoa(*c.Burst), field: "linux.resources.cpu.burst", retry: true})
		}
		rtPeriod, rtRuntime := deref(c.RealtimePeriod), deref(c.RealtimeRuntime)
		if rtPeriod != 0 || rtRuntime != 0 {
			if !p.exists(dir, "cpu.rt_runtime_us") {
				return fmt.Errorf("linux.resources.cpu.realtimeRuntime: this kernel has no realtime group scheduling (no cpu.rt_runtime_us)")
			}
		}
		if rtPeriod != 0 {
			pl.add(write{dir: dir, file: "cpu.rt_period_us", value: utoa(rtPeriod), field: "linux.resources.cpu.realtimePeriod", retry: rtRuntime != 0})
		}
		if rtRuntime != 0 {
			if rtRuntime < 0 {
				rtRuntime = -1
			}
			pl.add(write{dir: dir, file: "cpu.rt_runtime_us", value: itoa(rtRuntime), field: "linux.resources.cpu.realtimeRuntime", retry: rtPeriod != 0})
		}
		if c.Idle != nil {
			if !p.exists(dir, "cpu.idle") {
				return fmt.Errorf("linux.resources.cpu.idle: this kernel has no cpu.idle (Linux 5.15+)")
			}
			pl.add(write{dir: dir, file: "cpu.idle", value: itoa(*c.Idle), field: "linux.resources.cpu.idle"})
		}
	}
	if c.Cpus != "" || c.Mems != "" {
		dir, err := ctrl("cpuset", "linux.resources.cpu.cpus/mems")
		if err != nil {
			return err
		}
		if c.Cpus != "" {
			pl.add(write{dir: dir, file: "cpuset.cpus", value: c.Cpus, field: "linux.resources.cpu.cpus"})
		}
		if c.Mems != "" {
			pl.add(write{dir: dir, file: "cpuset.mems", value: c.Mems, field: "linux.resources.cpu.mems"})
		}
	}
	return nil
}

// pidsMax formats linux.resources.pids.limit: negative is "max"; 0 is a
// real limit (runtime-spec).
func pidsMax(p *specs.LinuxPids) (string, bool) {
	if p == nil || p.Limit == nil {
		return "", false
	}
	return maxOr(*p.Limit), true
}

func planV1Pids(pl *plan, pids *specs.LinuxPids, ctrl ctrlFunc) error {
	v, ok := pidsMax(pids)
	if !ok {
		return nil
	}
	dir, err := ctrl("pids", "linux.resources.pids")
	if err != nil {
		return err
	}
	pl.add(write{dir: dir, file: "pids.max", value: v, field: "linux.resources.pids.limit"})
	return nil
}

// throttles lists the four throttle arrays with their v1 file, v2 io.max
// key and spec field.
func throttles(b *specs.LinuxBlockIO) []struct {
	list       []specs.LinuxThrottleDevice
	v1, v2, fd string
} {
	return []struct {
		list       []specs.LinuxThrottleDevice
		v1, v2, fd string
	}{
		{b.ThrottleReadBpsDevice, "blkio.throttle.read_bps_device", "rbps", "throttleReadBpsDevice"},
		{b.ThrottleWriteBpsDevice, "blkio.throttle.write_bps_device", "wbps", "throttleWriteBpsDevice"},
		{b.ThrottleReadIOPSDevice, "blkio.throttle.read_iops_device", "riops", "throttleReadIOPSDevice"},
		{b.ThrottleWriteIOPSDevice, "blkio.throttle.write_iops_device", "wiops", "throttleWriteIOPSDevice"},
	}
}

func planV1BlockIO(pl *plan, b *specs.LinuxBlockIO, ctrl ctrlFunc, p prober) error {
	if b == nil {
		return nil
	}
	dir, err := ctrl("blkio", "linux.resources.blockIO")
	if err != nil {
		return err
	}
	// CFQ (gone since Linux 5.0) had blkio.weight; BFQ has its own files.
	weightFile, deviceFile := "blkio.weight", "blkio.weight_device"
	if !p.exists(dir, weightFile) && p.exists(dir, "blkio.bfq.weight") {
		weightFile, deviceFile = "blkio.bfq.weight", "blkio.bfq.weight_device"
	}
	if v := deref(b.Weight); v != 0 {
		if !p.exists(dir, weightFile) {
			return fmt.Errorf("linux.resources.blockIO.weight: this kernel has no weight-based I/O control (no blkio.weight or blkio.bfq.weight: neither the cfq nor the bfq scheduler)")
		}
		pl.add(write{dir: dir, file: weightFile, value: strconv.Itoa(int(v)), field: "linux.resources.blockIO.weight"})
	}
	if v := deref(b.LeafWeight); v != 0 {
		if p.exists(dir, "blkio.leaf_weight") {
			pl.add(write{dir: dir, file: "blkio.leaf_weight", value: strconv.Itoa(int(v)), field: "linux.resources.blockIO.leafWeight"})
		} else {
			pl.warn("linux.resources.blockIO.leafWeight: ignored, this kernel has no blkio.leaf_weight (cfq only)")
		}
	}
	for i, wd := range b.WeightDevice {
		field := fmt.Sprintf("linux.resources.blockIO.weightDevice[%d]", i)
		if wd.Weight != nil {
			if !p.exists(dir, deviceFile) {
				return fmt.Errorf("%s.weight: this kernel has no %s", field, deviceFile)
			}
			pl.add(write{dir: dir, file: deviceFile, value: devnum(wd.Major, wd.Minor) + " " + strconv.Itoa(int(*wd.Weight)), field: field + ".weight"})
		}
		if wd.LeafWeight != nil {
			if p.exists(dir, "blkio.leaf_weight_device") {
				pl.add(write{dir: dir, file: "blkio.leaf_weight_device", value: devnum(wd.Major, wd.Minor) + " " + strconv.Itoa(int(*wd.LeafWeight)), field: field + ".leafWeight"})
			} else {
				pl.warn("%s.leafWeight: ignored, this kernel has no blkio.leaf_weight_device (cfq only)", field)
			}
		}
	}
	for _, t := range throttles(b) {
		for i, d := range t.list {
			pl.add(write{dir: dir, file: t.v1, value: devnum(d.Major, d.Minor) + " " + utoa(d.Rate),
				field: fmt.Sprintf("linux.resources.blockIO.%s[%d]", t.fd, i)})
		}
	}
	return nil
}

// validPageSize accepts the kernel's hugetlb size names: digits then KB,
// MB, GB or TB ("2MB", "1GB", "64KB").
func validPageSize(s string) bool {
	if len(s) < 3 {
		return false
	}
	unit := s[len(s)-2:]
	if unit != "KB" && unit != "MB" && unit != "GB" && unit != "TB" {
		return false
	}
	for _, c := range s[:len(s)-2] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func planV1Hugetlb(pl *plan, limits []specs.LinuxHugepageLimit, paths map[string]string, p prober) error {
	if len(limits) == 0 {
		return nil
	}
	dir, ok := paths["hugetlb"]
	if !ok {
		// Engines list every huge page size the node has, limited or
		// not; runc skips them when the controller is absent.
		pl.warn("linux.resources.hugepageLimits: ignored, the hugetlb controller is not mounted on this host")
		return nil
	}
	return planHugetlb(pl, limits, dir, p, "limit_in_bytes")
}

func planV1Network(pl *plan, n *specs.LinuxNetwork, ctrl ctrlFunc) error {
	if n == nil {
		return nil
	}
	if n.ClassID != nil {
		dir, err := ctrl("net_cls", "linux.resources.network.classID")
		if err != nil {
			return err
		}
		pl.add(write{dir: dir, file: "net_cls.classid", value: strconv.FormatUint(uint64(*n.ClassID), 10), field: "linux.resources.network.classID"})
	}
	for i, prio := range n.Priorities {
		field := fmt.Sprintf("linux.resources.network.priorities[%d]", i)
		dir, err := ctrl("net_prio", field)
		if err != nil {
			return err
		}
		if prio.Name == "" || strings.ContainsAny(prio.Name, " \n/") {
			return fmt.Errorf("%s.name: %q is not an interface name", field, prio.Name)
		}
		pl.add(write{dir: dir, file: "net_prio.ifpriomap", value: prio.Name + " " + strconv.FormatUint(uint64(prio.Priority), 10), field: field})
	}
	return nil
}

// planRdma writes rdma.max, the same file on v1 and v2.
func planRdma(pl *plan, rdma map[string]specs.LinuxRdma, ctrl ctrlFunc) error {
	if len(rdma) == 0 {
		return nil
	}
	dir, err := ctrl("rdma", "linux.resources.rdma")
	if err != nil {
		return err
	}
	for _, dev := range sortedKeys(rdma) {
		l := rdma[dev]
		field := fmt.Sprintf("linux.resources.rdma[%q]", dev)
		if dev == "" || strings.ContainsAny(dev, " \n") {
			return fmt.Errorf("%s: not a device name", field)
		}
		if l.HcaHandles == nil && l.HcaObjects == nil {
			return fmt.Errorf("%s: needs hcaHandles or hcaObjects", field)
		}
		v := dev
		if l.HcaHandles != nil {
			v += " hca_handle=" + strconv.FormatUint(uint64(*l.HcaHandles), 10)
		}
		if l.HcaObjects != nil {
			v += " hca_object=" + strconv.FormatUint(uint64(*l.HcaObjects), 10)
		}
		pl.add(write{dir: dir, file: "rdma.max", value: v, field: field})
	}
	return nil
}

func boolNum(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
