package cgroups

import (
	"fmt"

	"berth/cgroups/internal/cgfs"
)

// CheckNotFrozen fails when the cgroup of m already exists and is frozen
// or freezing, by itself or through an ancestor: a container started in
// it would stop in its init before running anything, and create would
// wait for it forever (runc refuses such a cgroup too). It reads the v1
// freezer's freezer.state, and in a cgroup2 directory (v2, or a hybrid
// host's controller-less one, which has a freezer of its own)
// cgroup.freeze and the "frozen" key of cgroup.events. A cgroup that does
// not exist yet passes.
func CheckNotFrozen(m Manager) error {
	paths := m.Paths()
	if dir, ok := paths["freezer"]; ok {
		st, err := cgfs.ReadTrimmed(dir, "freezer.state")
		if err != nil && !cgfs.IsNotExist(err) {
			return fmt.Errorf("read %s/freezer.state: %w", dir, err)
		}
		if st == string(Frozen) || st == string(Freezing) {
			return fmt.Errorf("cgroup %s is frozen (freezer.state %s): thaw it or use another cgroup", dir, st)
		}
	}
	if dir, ok := paths[UnifiedKey]; ok {
		self, err := cgfs.ReadTrimmed(dir, "cgroup.freeze")
		if err != nil && !cgfs.IsNotExist(err) {
			return fmt.Errorf("read %s/cgroup.freeze: %w", dir, err)
		}
		if self == "1" {
			return fmt.Errorf("cgroup %s is frozen (cgroup.freeze 1): thaw it or use another cgroup", dir)
		}
		if err == nil {
			ev, err := cgfs.ReadKV(dir, "cgroup.events")
			if err != nil && !cgfs.IsNotExist(err) {
				return fmt.Errorf("read %s/cgroup.events: %w", dir, err)
			}
			if ev["frozen"] == 1 {
				return fmt.Errorf("cgroup %s is frozen through a parent (cgroup.events: frozen 1): thaw it or use another cgroup", dir)
			}
		}
	}
	return nil
}
