package fs1

import (
	"fmt"
	"maps"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"berth/cgroups"
)

// controller is one v1 controller: what it makes of linux.resources and
// what it counts. Each has a file of its own.
type controller interface {
	// name is the controller, its key in Paths ("memory", "net_cls").
	name() string
	// plan adds the writes r asks of this controller to pl. dir is its
	// directory, "" when the host does not mount it: a controller r asks
	// nothing of accepts that, one it asks something of fails naming the
	// field (or warns, where runc skips the field).
	plan(pl *cgroups.Plan, r *specs.LinuxResources, dir string, p cgroups.Prober) error
	// stats adds its counters to s; dir is never "".
	stats(dir string, s *cgroups.Stats) error
}

// controllers in the order Set writes them: the device list first, as
// runc does.
var controllers = []controller{
	devicesCtl{}, memoryCtl{}, cpuCtl{}, cpusetCtl{}, pidsCtl{}, blkioCtl{},
	hugetlbCtl{}, netClsCtl{}, netPrioCtl{}, rdmaCtl{}, cpuacctCtl{},
}

// plan turns r into writes to the v1 hierarchies in paths (controller ->
// directory).
func plan(r *specs.LinuxResources, paths map[string]string, p cgroups.Prober) (*cgroups.Plan, error) {
	if r == nil {
		r = &specs.LinuxResources{}
	}
	if len(r.Unified) > 0 {
		keys := slices.Sorted(maps.Keys(r.Unified))
		return nil, fmt.Errorf("linux.resources.unified[%q]: cgroup v2 files cannot be written on this cgroup v1 host", keys[0])
	}
	pl := &cgroups.Plan{}
	for _, c := range controllers {
		if err := c.plan(pl, r, paths[c.name()], p); err != nil {
			return nil, err
		}
	}
	return pl, nil
}

// notMounted is the error for a field whose controller the host lacks.
func notMounted(field, name string) error {
	return fmt.Errorf("%s: the %s controller is not mounted on this host", field, name)
}

func (m *Manager) Stats() (*cgroups.Stats, error) {
	s := &cgroups.Stats{}
	for _, c := range controllers {
		if dir, ok := m.paths[c.name()]; ok {
			if err := c.stats(dir, s); err != nil {
				return nil, err
			}
		}
	}
	return s, nil
}

// noStats is embedded by controllers that count nothing berth reports.
type noStats struct{}

func (noStats) stats(string, *cgroups.Stats) error { return nil }
