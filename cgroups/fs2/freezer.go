package fs2

import (
	"fmt"
	"time"

	"berth/cgroups"
	"berth/cgroups/internal/cgfs"
)

// Freeze writes cgroup.freeze and waits for cgroup.events to say
// "frozen 1" (every process stopped). After cgfs.FreezeTimeout it thaws and
// fails.
func (m *Manager) Freeze() error {
	if err := cgfs.Write(m.dir, "cgroup.freeze", "1", ""); err != nil {
		if cgfs.IsNotExist(err) && cgfs.Exists(m.dir) {
			return fmt.Errorf("freeze %s: this kernel has no cgroup v2 freezer (Linux 5.2+): %w", m.dir, err)
		}
		return err
	}
	if err := m.waitFrozen(true); err != nil {
		m.Thaw()
		return err
	}
	return nil
}

func (m *Manager) Thaw() error {
	if err := cgfs.Write(m.dir, "cgroup.freeze", "0", ""); err != nil {
		return err
	}
	return m.waitFrozen(false)
}

func (m *Manager) waitFrozen(want bool) error {
	deadline := time.Now().Add(cgfs.FreezeTimeout)
	var b cgfs.Backoff
	for {
		frozen, err := m.eventsFrozen()
		if err != nil {
			return err
		}
		if frozen == want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s/cgroup.events: frozen is still %v after %v", m.dir, frozen, cgfs.FreezeTimeout)
		}
		b.Wait()
	}
}

func (m *Manager) eventsFrozen() (bool, error) {
	kv, err := cgfs.ReadKV(m.dir, "cgroup.events")
	if err != nil {
		return false, err
	}
	return kv["frozen"] == 1, nil
}

func (m *Manager) FreezerState() (cgroups.FreezerState, error) {
	want, err := cgfs.ReadTrimmed(m.dir, "cgroup.freeze")
	if err != nil {
		if cgfs.IsNotExist(err) {
			return cgroups.Thawed, nil
		}
		return "", err
	}
	if want != "1" {
		return cgroups.Thawed, nil
	}
	frozen, err := m.eventsFrozen()
	if err != nil {
		return "", err
	}
	if frozen {
		return cgroups.Frozen, nil
	}
	return cgroups.Freezing, nil
}
