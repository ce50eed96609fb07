package fs1

import (
	"os"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"berth/cgroups"
	"berth/cgroups/internal/cgfs"
)

// hugetlbCtl: huge page limits per page size, and their use.
type hugetlbCtl struct{}

func (hugetlbCtl) name() string { return "hugetlb" }

func (hugetlbCtl) plan(pl *cgroups.Plan, r *specs.LinuxResources, dir string, p cgroups.Prober) error {
	if len(r.HugepageLimits) == 0 {
		return nil
	}
	if dir == "" {
		// Engines list every huge page size the node has, limited or
		// not; runc skips them when the controller is absent.
		pl.Warn("linux.resources.hugepageLimits: ignored, the hugetlb controller is not mounted on this host")
		return nil
	}
	return cgroups.PlanHugetlb(pl, r.HugepageLimits, dir, p, "limit_in_bytes")
}

func (hugetlbCtl) stats(dir string, s *cgroups.Stats) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return cgfs.Optional(err)
	}
	for _, e := range entries {
		size, ok := strings.CutPrefix(e.Name(), "hugetlb.")
		if !ok {
			continue
		}
		if size, ok = strings.CutSuffix(size, ".usage_in_bytes"); !ok || strings.Contains(size, ".") {
			continue
		}
		var h cgroups.HugetlbStats
		h.Usage, _ = cgfs.ReadUint(dir, "hugetlb."+size+".usage_in_bytes")
		h.Max, _ = cgfs.ReadUint(dir, "hugetlb."+size+".max_usage_in_bytes")
		h.Failcnt, _ = cgfs.ReadUint(dir, "hugetlb."+size+".failcnt")
		if s.Hugetlb == nil {
			s.Hugetlb = make(map[string]cgroups.HugetlbStats)
		}
		s.Hugetlb[size] = h
	}
	return nil
}
