package fs1

import (
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"berth/cgroups"
)

// netClsCtl: the class id of the container's packets
// (linux.resources.network.classID).
type netClsCtl struct{ noStats }

func (netClsCtl) name() string { return "net_cls" }

func (netClsCtl) plan(pl *cgroups.Plan, r *specs.LinuxResources, dir string, _ cgroups.Prober) error {
	if r.Network == nil || r.Network.ClassID == nil {
		return nil
	}
	if dir == "" {
		return notMounted("linux.resources.network.classID", "net_cls")
	}
	pl.Add(cgroups.Write{Dir: dir, File: "net_cls.classid", Value: strconv.FormatUint(uint64(*r.Network.ClassID), 10), Field: "linux.resources.network.classID"})
	return nil
}
