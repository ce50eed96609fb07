package systemd

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"berth/cgroups/devices"
)

// StartPropertiesV1 is StartProperties on a cgroup v1 or hybrid host,
// where the block IO accounting is the blkio controller's
// (BlockIOAccounting; IOAccounting is cgroup v2's io).
func StartPropertiesV1(u Unit, description string, pid int) []Prop {
	props := StartProperties(u, description, pid)
	for i := range props {
		if props[i].Name == "IOAccounting" {
			props[i].Name = "BlockIOAccounting"
		}
	}
	return props
}

// ResourcePropertiesV1 turns linux.resources into the unit properties
// systemd has for them on cgroup v1, the ones runc sets: MemoryLimit,
// CPUShares, CPUQuotaPerSecUSec with CPUQuotaPeriodUSec, TasksMax,
// BlockIOWeight, DevicePolicy and DeviceAllow. systemd has no cpuset on
// v1 (AllowedCPUs and AllowedMemoryNodes are v2's): the CPUs and memory
// nodes, like the reservation, swap, per-device block IO, hugetlb and the
// network classes, are left to the cgroup files the fs driver writes.
func ResourcePropertiesV1(r *specs.LinuxResources, majorName func(t devices.Type, major int64) (string, bool)) ([]Prop, error) {
	var props []Prop
	add := func(name string, v any) { props = append(props, Prop{name, v}) }
	if r == nil {
		r = &specs.LinuxResources{}
	}
	if m := r.Memory; m != nil && m.Limit != nil {
		add("MemoryLimit", limit(*m.Limit))
	}
	if c := r.CPU; c != nil {
		if c.Shares != nil && *c.Shares != 0 {
			add("CPUShares", *c.Shares)
		}
		cpuQuota(c, add)
	}
	if p := r.Pids; p != nil && p.Limit != nil {
		add("TasksMax", limit(*p.Limit))
	}
	if b := r.BlockIO; b != nil && b.Weight != nil && *b.Weight != 0 {
		add("BlockIOWeight", uint64(*b.Weight))
	}
	rules, err := devices.Effective(r.Devices)
	if err != nil {
		return nil, err
	}
	policy, allow := DeviceProperties(rules, majorName)
	if policy == "auto" && !devices.AllowsAll(rules) {
		// On v1 systemd turns "auto" with an empty list into "a" in
		// devices.allow, every device, whenever it applies the unit's
		// properties again (a daemon-reload). A list it cannot express
		// is therefore deny-all for systemd; berth's own rules, written
		// to the files right after, are the container's.
		policy = "strict"
	}
	add("DevicePolicy", policy)
	add("DeviceAllow", allow)
	return props, nil
}
