package fs2

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"berth/cgroups"
	"berth/cgroups/internal/cgfs"
)

// planMemory: memory.max, memory.swap.max (swap alone), memory.low; the
// v1-only fields warn.
func planMemory(pl *cgroups.Plan, m *specs.LinuxMemory, dir string, p cgroups.Prober) error {
	if m == nil {
		return nil
	}
	limit, swap := cgfs.Deref(m.Limit), cgfs.Deref(m.Swap)
	if limit < -1 {
		return fmt.Errorf("linux.resources.memory.limit: %d is neither -1 nor a size", limit)
	}
	if cgfs.Deref(m.CheckBeforeUpdate) && limit > 0 {
		if err := cgroups.CheckUsage(p, dir, "memory.current", limit); err != nil {
			return err
		}
	}
	if limit != 0 {
		pl.Add(cgroups.Write{Dir: dir, File: "memory.max", Value: cgfs.MaxOr(limit), Field: "linux.resources.memory.limit"})
	}
	if swap != 0 {
		v, err := cgroups.SwapToV2(limit, swap)
		if err != nil {
			return err
		}
		switch {
		case p.Exists(dir, "memory.swap.max"):
			pl.Add(cgroups.Write{Dir: dir, File: "memory.swap.max", Value: v, Field: "linux.resources.memory.swap"})
		case v != "max":
			return fmt.Errorf("linux.resources.memory.swap: this kernel does not account swap (no %s/memory.swap.max)", dir)
		}
	}
	if v := cgfs.Deref(m.Reservation); v != 0 {
		pl.Add(cgroups.Write{Dir: dir, File: "memory.low", Value: cgfs.MaxOr(v), Field: "linux.resources.memory.reservation"})
	}
	if cgfs.Deref(m.Kernel) != 0 {
		pl.Warn("linux.resources.memory.kernel: ignored, cgroup v2 has no separate kernel memory limit (kernel memory counts in memory.max)")
	}
	if cgfs.Deref(m.KernelTCP) != 0 {
		pl.Warn("linux.resources.memory.kernelTCP: ignored, cgroup v2 has no separate TCP buffer limit (it counts in memory.max)")
	}
	if m.Swappiness != nil {
		pl.Warn("linux.resources.memory.swappiness: ignored, cgroup v2 has no per-cgroup swappiness")
	}
	if cgfs.Deref(m.DisableOOMKiller) {
		pl.Warn("linux.resources.memory.disableOOMKiller: ignored, cgroup v2 cannot disable the OOM killer")
	}
	if m.UseHierarchy != nil && !*m.UseHierarchy {
		pl.Warn("linux.resources.memory.useHierarchy: ignored, cgroup v2 accounting is always hierarchical")
	}
	return nil
}
