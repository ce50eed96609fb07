package fs1

import (
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"berth/cgroups"
	"berth/cgroups/internal/cgfs"
)

// userHZ is the unit of cpuacct.stat (USER_HZ, 100 on every Linux ABI).
const userHZ = 100

// cpuacctCtl counts CPU time; it takes no limits.
type cpuacctCtl struct{}

func (cpuacctCtl) name() string { return "cpuacct" }

func (cpuacctCtl) plan(*cgroups.Plan, *specs.LinuxResources, string, cgroups.Prober) error {
	return nil
}

func (cpuacctCtl) stats(dir string, s *cgroups.Stats) error {
	total, err := cgfs.ReadUint(dir, "cpuacct.usage")
	if cgfs.Optional(err) != nil {
		return err
	}
	s.CPU.Usage.Total = total
	if per, err := cgfs.Read(dir, "cpuacct.usage_percpu"); err == nil {
		for _, f := range strings.Fields(per) {
			v, _ := strconv.ParseUint(f, 10, 64)
			s.CPU.Usage.PerCPU = append(s.CPU.Usage.PerCPU, v)
		}
	}
	kv, err := cgfs.ReadKV(dir, "cpuacct.stat")
	if cgfs.Optional(err) != nil {
		return err
	}
	s.CPU.Usage.User = kv["user"] * (1e9 / userHZ)
	s.CPU.Usage.Kernel = kv["system"] * (1e9 / userHZ)
	return nil
}
