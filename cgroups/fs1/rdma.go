package fs1

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"berth/cgroups"
)

// rdmaCtl: RDMA handle and object limits per device.
type rdmaCtl struct{ noStats }

func (rdmaCtl) name() string { return "rdma" }

func (rdmaCtl) plan(pl *cgroups.Plan, r *specs.LinuxResources, dir string, _ cgroups.Prober) error {
	if len(r.Rdma) == 0 {
		return nil
	}
	if dir == "" {
		return notMounted("linux.resources.rdma", "rdma")
	}
	return cgroups.PlanRdma(pl, r.Rdma, dir)
}
