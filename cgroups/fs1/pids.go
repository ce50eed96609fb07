package fs1

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"berth/cgroups"
	"berth/cgroups/internal/cgfs"
)

// pidsCtl: the task limit and count.
type pidsCtl struct{}

func (pidsCtl) name() string { return "pids" }

func (pidsCtl) plan(pl *cgroups.Plan, r *specs.LinuxResources, dir string, _ cgroups.Prober) error {
	v, ok := cgroups.PidsMax(r.Pids)
	if !ok {
		return nil
	}
	if dir == "" {
		return notMounted("linux.resources.pids", "pids")
	}
	pl.Add(cgroups.Write{Dir: dir, File: "pids.max", Value: v, Field: "linux.resources.pids.limit"})
	return nil
}

func (pidsCtl) stats(dir string, s *cgroups.Stats) error {
	cur, err := cgfs.ReadUint(dir, "pids.current")
	if cgfs.Optional(err) != nil {
		return err
	}
	lim, err := cgfs.ReadUint(dir, "pids.max")
	if cgfs.Optional(err) != nil {
		return err
	}
	s.Pids = cgroups.PidsStats{Current: cur, Limit: lim}
	return nil
}
