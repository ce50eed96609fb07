package libcontainer

import (
	"errors"
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"berth/cgroups"
)

// Paused is the status of a container whose cgroup is frozen.
const Paused = "paused"

// paused reports whether the container's cgroup is frozen.
func (st *State) paused() bool {
	mgr := st.cgroup()
	if mgr == nil {
		return false
	}
	fs, err := mgr.FreezerState()
	return err == nil && fs == cgroups.Frozen
}

func requireCgroup(st *State, what string) (cgroups.Manager, error) {
	mgr := st.cgroup()
	if mgr == nil {
		return nil, fmt.Errorf("cannot %s container %q: it has no cgroup", what, st.ID)
	}
	return mgr, nil
}

// Pause freezes every process of a running or created container (runc
// freezes a created one too). The refusals carry runc's words, "container
// not running" and "container not paused", which CRI-O takes to mean the
// process is gone.
func Pause(root, id string) error {
	return withLock(root, id, func(s *store, st *State) error {
		if status := st.status(root); status != Running && status != Created {
			return fmt.Errorf("cannot pause container %q: container not running (it is %s)", id, status)
		}
		mgr, err := requireCgroup(st, "pause")
		if err != nil {
			return err
		}
		if err := mgr.Freeze(); err != nil {
			return fmt.Errorf("pause container %q: %w", id, err)
		}
		return nil
	})
}

// Resume thaws a paused container.
func Resume(root, id string) error {
	return withLock(root, id, func(s *store, st *State) error {
		if status := st.status(root); status != Paused {
			return fmt.Errorf("cannot resume container %q: container not paused (it is %s)", id, status)
		}
		mgr, err := requireCgroup(st, "resume")
		if err != nil {
			return err
		}
		if err := mgr.Thaw(); err != nil {
			return fmt.Errorf("resume container %q: %w", id, err)
		}
		return nil
	})
}

// Processes lists the pids (host view) of every process in the container.
// A stopped container is not an error, as with runc: whatever its cgroup
// still holds (processes that outlived an init without a pid namespace),
// usually nothing.
func Processes(root, id string) ([]int, error) {
	c, err := Load(root, id)
	if err != nil {
		return nil, err
	}
	if c.Status() == Stopped && c.state.cgroup() == nil {
		return nil, nil
	}
	mgr, err := requireCgroup(c.state, "list processes of")
	if err != nil {
		return nil, err
	}
	return mgr.Pids()
}

// Stats reads the container's cgroup counters.
func Stats(root, id string) (*cgroups.Stats, error) {
	c, err := Load(root, id)
	if err != nil {
		return nil, err
	}
	if c.Status() == Stopped {
		return nil, fmt.Errorf("cannot read stats of container %q: container not running (it is stopped)", id)
	}
	mgr, err := requireCgroup(c.state, "read stats of")
	if err != nil {
		return nil, err
	}
	return mgr.Stats()
}

// Update applies changed resources to a running (or created, paused)
// container and records them in its state. change holds only what changes;
// it is merged into the resources the container has.
func Update(root, id string, change *specs.LinuxResources) error {
	return withLock(root, id, func(s *store, st *State) error {
		if status := st.status(root); status == Stopped {
			return fmt.Errorf("cannot update container %q: container not running (it is stopped)", id)
		}
		mgr, err := requireCgroup(st, "update")
		if err != nil {
			return err
		}
		spec := st.spec()
		if spec.Linux == nil {
			return errors.New("container has no linux section")
		}
		merged := MergeResources(spec.Linux.Resources, change)
		if err := mgr.Set(merged); err != nil {
			return fmt.Errorf("update container %q: %w", id, err)
		}
		spec.Linux.Resources = merged
		st.configChanged = true
		return s.save(st)
	})
}

// MergeResources returns base with every field change sets replaced.
func MergeResources(base, change *specs.LinuxResources) *specs.LinuxResources {
	out := &specs.LinuxResources{}
	if base != nil {
		c := *base
		out = &c
	}
	if change == nil {
		return out
	}
	if len(change.Devices) > 0 {
		out.Devices = change.Devices
	}
	if m := change.Memory; m != nil {
		mm := &specs.LinuxMemory{}
		if out.Memory != nil {
			c := *out.Memory
			mm = &c
		}
		setIf(&mm.Limit, m.Limit)
		setIf(&mm.Reservation, m.Reservation)
		setIf(&mm.Swap, m.Swap)
		setIf(&mm.Kernel, m.Kernel)
		setIf(&mm.KernelTCP, m.KernelTCP)
		setIf(&mm.Swappiness, m.Swappiness)
		setIf(&mm.DisableOOMKiller, m.DisableOOMKiller)
		setIf(&mm.UseHierarchy, m.UseHierarchy)
		setIf(&mm.CheckBeforeUpdate, m.CheckBeforeUpdate)
		out.Memory = mm
	}
	if cpu := change.CPU; cpu != nil {
		cc := &specs.LinuxCPU{}
		if out.CPU != nil {
			c := *out.CPU
			cc = &c
		}
		setIf(&cc.Shares, cpu.Shares)
		setIf(&cc.Quota, cpu.Quota)
		setIf(&cc.Burst, cpu.Burst)
		setIf(&cc.Period, cpu.Period)
		setIf(&cc.RealtimeRuntime, cpu.RealtimeRuntime)
		setIf(&cc.RealtimePeriod, cpu.RealtimePeriod)
		setIf(&cc.Idle, cpu.Idle)
		if cpu.Cpus != "" {
			cc.Cpus = cpu.Cpus
		}
		if cpu.Mems != "" {
			cc.Mems = cpu.Mems
		}
		out.CPU = cc
	}
	if change.Pids != nil {
		out.Pids = change.Pids
	}
	if b := change.BlockIO; b != nil {
		bb := &specs.LinuxBlockIO{}
		if out.BlockIO != nil {
			c := *out.BlockIO
			bb = &c
		}
		setIf(&bb.Weight, b.Weight)
		setIf(&bb.LeafWeight, b.LeafWeight)
		if b.WeightDevice != nil {
			bb.WeightDevice = b.WeightDevice
		}
		if b.ThrottleReadBpsDevice != nil {
			bb.ThrottleReadBpsDevice = b.ThrottleReadBpsDevice
		}
		if b.ThrottleWriteBpsDevice != nil {
			bb.ThrottleWriteBpsDevice = b.ThrottleWriteBpsDevice
		}
		if b.ThrottleReadIOPSDevice != nil {
			bb.ThrottleReadIOPSDevice = b.ThrottleReadIOPSDevice
		}
		if b.ThrottleWriteIOPSDevice != nil {
			bb.ThrottleWriteIOPSDevice = b.ThrottleWriteIOPSDevice
		}
		out.BlockIO = bb
	}
	if change.HugepageLimits != nil {
		out.HugepageLimits = change.HugepageLimits
	}
	if change.Network != nil {
		out.Network = change.Network
	}
	if change.Rdma != nil {
		out.Rdma = change.Rdma
	}
	if change.Unified != nil {
		u := map[string]string{}
		for k, v := range out.Unified {
			u[k] = v
		}
		for k, v := range change.Unified {
			u[k] = v
		}
		out.Unified = u
	}
	return out
}

func setIf[T any](dst **T, v *T) {
	if v != nil {
		c := *v
		*dst = &c
	}
}
