package fs2

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"berth/cgroups"
)

// plan turns r (devices aside: those become an eBPF program) into
// writes to the cgroup v2 directory dir.
func plan(r *specs.LinuxResources, dir string, p cgroups.Prober) (*cgroups.Plan, error) {
	pl := &cgroups.Plan{}
	if r == nil {
		return pl, nil
	}
	if n := r.Network; n != nil && (n.ClassID != nil || len(n.Priorities) > 0) {
		return nil, fmt.Errorf("linux.resources.network: cgroup v2 has no net_cls/net_prio controllers (classify traffic by cgroup path instead, e.g. nftables \"socket cgroupv2\")")
	}
	steps := []func() error{
		func() error { return planMemory(pl, r.Memory, dir, p) },
		func() error { return planCPU(pl, r.CPU, dir, p) },
		func() error {
			if v, ok := cgroups.PidsMax(r.Pids); ok {
				pl.Add(cgroups.Write{Dir: dir, File: "pids.max", Value: v, Field: "linux.resources.pids.limit"})
			}
			return nil
		},
		func() error { return planIO(pl, r.BlockIO, dir, p) },
		func() error { return cgroups.PlanHugetlb(pl, r.HugepageLimits, dir, p, "max") },
		func() error { return cgroups.PlanRdma(pl, r.Rdma, dir) },
		func() error { return planUnified(pl, r.Unified, dir, p) },
	}
	for _, s := range steps {
		if err := s(); err != nil {
			return nil, err
		}
	}
	return pl, nil
}
