package fs2

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"berth/cgroups"
	"berth/cgroups/internal/cgfs"
)

// createControllers are the controllers a v2 cgroup is created with (when
// its parents offer them): what Set, Stats and a later update need.
var createControllers = []string{"cpu", "cpuset", "io", "memory", "pids"}

// knownControllers are the names a unified key's prefix may be.
var knownControllers = map[string]bool{
	"cpu": true, "cpuset": true, "io": true, "memory": true, "pids": true,
	"hugetlb": true, "rdma": true, "misc": true, "perf_event": true,
}

// enable writes "+ctrl" to cgroup.subtree_control from the mount down to
// the cgroup's parent, for each wanted controller the level offers and
// does not delegate yet. A controller a level lacks is skipped below it.
// With strict, failures are errors.
func (m *Manager) enable(want []string, strict bool) error {
	var errs []string
	parts := strings.Split(strings.Trim(m.path, "/"), "/")
	cur := m.mount
	for _, part := range parts {
		avail, err := cgfs.ReadTrimmed(cur, "cgroup.controllers")
		if err != nil {
			return err
		}
		on, err := cgfs.ReadTrimmed(cur, "cgroup.subtree_control")
		if err != nil {
			return err
		}
		a, o := fields(avail), fields(on)
		var add, next []string
		for _, c := range want {
			if !a[c] {
				continue
			}
			next = append(next, c)
			if !o[c] {
				add = append(add, "+"+c)
			}
		}
		if len(add) > 0 {
			if err := cgfs.Write(cur, "cgroup.subtree_control", strings.Join(add, " "), ""); err != nil {
				// One at a time, to enable what can be.
				for _, c := range add {
					if err := cgfs.Write(cur, "cgroup.subtree_control", c, ""); err != nil {
						errs = append(errs, err.Error())
					}
				}
			}
		}
		want = next
		cur += "/" + part
	}
	if strict && len(errs) > 0 {
		return fmt.Errorf("enable controllers: %s", strings.Join(errs, "; "))
	}
	return nil
}

func (m *Manager) requireControllers(r *specs.LinuxResources) error {
	need := needed(r)
	if len(need) == 0 {
		return nil
	}
	want := slices.Sorted(maps.Keys(need))
	enableErr := m.enable(want, true)
	have, err := cgfs.ReadTrimmed(m.dir, "cgroup.controllers")
	if err != nil {
		return err
	}
	h := fields(have)
	for _, c := range want {
		if !h[c] {
			msg := fmt.Sprintf("%s: the %s controller is not available in %s (cgroup.controllers: %q)", need[c], c, m.dir, have)
			if enableErr != nil {
				msg += ": " + enableErr.Error()
			}
			return fmt.Errorf("%s", msg)
		}
	}
	return nil
}

// needed lists the controllers r needs, each with the first spec field
// that needs it (for the error when the controller is missing).
func needed(r *specs.LinuxResources) map[string]string {
	need := make(map[string]string)
	add := func(c, field string) {
		if _, ok := need[c]; !ok {
			need[c] = field
		}
	}
	if r == nil {
		return need
	}
	if m := r.Memory; m != nil && (cgfs.Deref(m.Limit) != 0 || cgfs.Deref(m.Swap) != 0 || cgfs.Deref(m.Reservation) != 0) {
		add("memory", "linux.resources.memory")
	}
	if c := r.CPU; c != nil {
		if c.Shares != nil || c.Quota != nil || c.Period != nil || c.Burst != nil || c.Idle != nil {
			add("cpu", "linux.resources.cpu")
		}
		if c.Cpus != "" || c.Mems != "" {
			add("cpuset", "linux.resources.cpu.cpus/mems")
		}
	}
	if _, ok := cgroups.PidsMax(r.Pids); ok {
		add("pids", "linux.resources.pids")
	}
	if b := r.BlockIO; b != nil && blockIOSet(b) {
		add("io", "linux.resources.blockIO")
	}
	if len(r.HugepageLimits) > 0 {
		add("hugetlb", "linux.resources.hugepageLimits")
	}
	if len(r.Rdma) > 0 {
		add("rdma", "linux.resources.rdma")
	}
	for _, k := range slices.Sorted(maps.Keys(r.Unified)) {
		if c, _, ok := strings.Cut(k, "."); ok && knownControllers[c] {
			add(c, fmt.Sprintf("linux.resources.unified[%q]", k))
		}
	}
	return need
}

func blockIOSet(b *specs.LinuxBlockIO) bool {
	return cgfs.Deref(b.Weight) != 0 || len(b.WeightDevice) > 0 || len(b.ThrottleReadBpsDevice) > 0 ||
		len(b.ThrottleWriteBpsDevice) > 0 || len(b.ThrottleReadIOPSDevice) > 0 || len(b.ThrottleWriteIOPSDevice) > 0
}

// fields splits a space-separated controller list.
func fields(s string) map[string]bool {
	out := make(map[string]bool)
	for _, f := range strings.Fields(s) {
		out[f] = true
	}
	return out
}
