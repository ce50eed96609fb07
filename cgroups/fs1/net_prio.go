package fs1

import (
	"fmt"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"berth/cgroups"
)

// netPrioCtl: per-interface priorities
// (linux.resources.network.priorities).
type netPrioCtl struct{ noStats }

func (netPrioCtl) name() string { return "net_prio" }

func (netPrioCtl) plan(pl *cgroups.Plan, r *specs.LinuxResources, dir string, _ cgroups.Prober) error {
	if r.Network == nil {
		return nil
	}
	for i, prio := range r.Network.Priorities {
		field := fmt.Sprintf("linux.resources.network.priorities[%d]", i)
		if dir == "" {
			return notMounted(field, "net_prio")
		}
		if prio.Name == "" || strings.ContainsAny(prio.Name, " \n/") {
			return fmt.Errorf("%s.name: %q is not an interface name", field, prio.Name)
		}
		pl.Add(cgroups.Write{Dir: dir, File: "net_prio.ifpriomap", Value: prio.Name + " " + strconv.FormatUint(uint64(prio.Priority), 10), Field: field})
	}
	return nil
}
