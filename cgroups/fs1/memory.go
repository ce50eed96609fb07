package fs1

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"berth/cgroups"
	"berth/cgroups/internal/cgfs"
)

// memoryCtl: limits (memory, memory+swap, soft, kernel, kernel TCP),
// swappiness, the OOM killer switch and use_hierarchy; usage and OOM
// counters.
type memoryCtl struct{}

func (memoryCtl) name() string { return "memory" }

func (memoryCtl) plan(pl *cgroups.Plan, r *specs.LinuxResources, dir string, p cgroups.Prober) error {
	m := r.Memory
	if m == nil {
		return nil
	}
	if dir == "" {
		return notMounted("linux.resources.memory", "memory")
	}
	if s := m.Swappiness; s != nil && *s > 100 {
		return fmt.Errorf("linux.resources.memory.swappiness: %d is above 100", *s)
	}
	limit, swap := cgfs.Deref(m.Limit), cgfs.Deref(m.Swap)
	if limit < -1 {
		return fmt.Errorf("linux.resources.memory.limit: %d is neither -1 nor a size", limit)
	}
	if swap < -1 {
		return fmt.Errorf("linux.resources.memory.swap: %d is neither -1 nor a size", swap)
	}
	hasMemsw := p.Exists(dir, "memory.memsw.limit_in_bytes")
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
	if cgfs.Deref(m.CheckBeforeUpdate) && limit > 0 {
		if err := cgroups.CheckUsage(p, dir, "memory.usage_in_bytes", limit); err != nil {
			return err
		}
	}
	lw := cgroups.Write{Dir: dir, File: "memory.limit_in_bytes", Value: cgfs.Itoa(limit), Field: "linux.resources.memory.limit"}
	sw := cgroups.Write{Dir: dir, File: "memory.memsw.limit_in_bytes", Value: cgfs.Itoa(swap), Field: "linux.resources.memory.swap"}
	switch {
	case limit != 0 && swap != 0:
		// The kernel keeps memsw >= limit at every step: raise memsw
		// first when it grows past the current limit, else lower the
		// limit first.
		cur, err := p.Read(dir, "memory.limit_in_bytes")
		if err != nil {
			return fmt.Errorf("linux.resources.memory: %w", err)
		}
		curLimit, err := cgfs.ParseUint(cur, dir+"/memory.limit_in_bytes")
		if err != nil {
			return err
		}
		if swap == -1 || uint64(swap) > curLimit {
			pl.Add(sw)
			pl.Add(lw)
		} else {
			pl.Add(lw)
			pl.Add(sw)
		}
	case limit != 0:
		pl.Add(lw)
	case swap != 0:
		pl.Add(sw)
	}
	if v := cgfs.Deref(m.Reservation); v != 0 {
		pl.Add(cgroups.Write{Dir: dir, File: "memory.soft_limit_in_bytes", Value: cgfs.Itoa(v), Field: "linux.resources.memory.reservation"})
	}
	if v := cgfs.Deref(m.Kernel); v != 0 {
		if p.Exists(dir, "memory.kmem.limit_in_bytes") {
			pl.Add(cgroups.Write{Dir: dir, File: "memory.kmem.limit_in_bytes", Value: cgfs.Itoa(v), Field: "linux.resources.memory.kernel", Check: cgroups.CheckApplied})
		} else {
			pl.Warn("linux.resources.memory.kernel: ignored, this kernel has no kernel memory limit (memory.kmem.limit_in_bytes)")
		}
	}
	if v := cgfs.Deref(m.KernelTCP); v != 0 {
		if p.Exists(dir, "memory.kmem.tcp.limit_in_bytes") {
			pl.Add(cgroups.Write{Dir: dir, File: "memory.kmem.tcp.limit_in_bytes", Value: cgfs.Itoa(v), Field: "linux.resources.memory.kernelTCP"})
		} else {
			pl.Warn("linux.resources.memory.kernelTCP: ignored, this kernel has no memory.kmem.tcp.limit_in_bytes")
		}
	}
	if m.Swappiness != nil {
		pl.Add(cgroups.Write{Dir: dir, File: "memory.swappiness", Value: cgfs.Utoa(*m.Swappiness), Field: "linux.resources.memory.swappiness"})
	}
	if m.DisableOOMKiller != nil {
		pl.Add(cgroups.Write{Dir: dir, File: "memory.oom_control", Value: cgfs.BoolNum(*m.DisableOOMKiller), Field: "linux.resources.memory.disableOOMKiller"})
	}
	if m.UseHierarchy != nil {
		pl.Add(cgroups.Write{Dir: dir, File: "memory.use_hierarchy", Value: cgfs.BoolNum(*m.UseHierarchy), Field: "linux.resources.memory.useHierarchy", Check: cgroups.SoftEINVAL})
	}
	return nil
}

func (memoryCtl) stats(dir string, s *cgroups.Stats) error {
	entry := func(prefix string) (cgroups.MemoryEntry, error) {
		var e cgroups.MemoryEntry
		for _, f := range []struct {
			name string
			dst  *uint64
		}{
			{"usage_in_bytes", &e.Usage}, {"limit_in_bytes", &e.Limit},
			{"max_usage_in_bytes", &e.Max}, {"failcnt", &e.Failcnt},
		} {
			v, err := cgfs.ReadUint(dir, prefix+f.name)
			if err != nil {
				return e, cgfs.Optional(err)
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
	raw, err := cgfs.ReadKV(dir, "memory.stat")
	if cgfs.Optional(err) != nil {
		return err
	}
	s.Memory.Raw = raw
	s.Memory.Cache = raw["total_cache"]
	if s.Memory.Cache == 0 {
		s.Memory.Cache = raw["cache"]
	}
	oom, err := cgfs.ReadKV(dir, "memory.oom_control")
	if cgfs.Optional(err) != nil {
		return err
	}
	s.Memory.OOMKills = oom["oom_kill"]
	s.Memory.OOMEvents = oom["oom_kill"]
	return nil
}
