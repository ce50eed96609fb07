package fs1

import (
	"fmt"
	"time"

	"berth/cgroups"
	"berth/cgroups/internal/cgfs"
)

func (m *Manager) freezerDir() (string, error) {
	d, ok := m.paths["freezer"]
	if !ok {
		return "", fmt.Errorf("the freezer controller is not mounted on this host")
	}
	return d, nil
}

// Freeze writes FROZEN and polls freezer.state until the kernel reports
// every task frozen, writing FROZEN again now and then (a task in an
// uninterruptible sleep can leave the cgroup FREEZING). After
// cgfs.FreezeTimeout it thaws and fails.
func (m *Manager) Freeze() error {
	dir, err := m.freezerDir()
	if err != nil {
		return err
	}
	deadline := time.Now().Add(cgfs.FreezeTimeout)
	var b cgfs.Backoff
	for i := 0; ; i++ {
		if i%16 == 0 {
			if err := cgfs.Write(dir, "freezer.state", string(cgroups.Frozen), ""); err != nil {
				return err
			}
		}
		st, err := cgfs.ReadTrimmed(dir, "freezer.state")
		if err != nil {
			return err
		}
		if cgroups.FreezerState(st) == cgroups.Frozen {
			return nil
		}
		if time.Now().After(deadline) {
			m.Thaw()
			return fmt.Errorf("freeze %s: still %s after %v", dir, st, cgfs.FreezeTimeout)
		}
		b.Wait()
	}
}

func (m *Manager) Thaw() error {
	dir, err := m.freezerDir()
	if err != nil {
		return err
	}
	deadline := time.Now().Add(cgfs.FreezeTimeout)
	var b cgfs.Backoff
	for {
		if err := cgfs.Write(dir, "freezer.state", string(cgroups.Thawed), ""); err != nil {
			return err
		}
		st, err := cgfs.ReadTrimmed(dir, "freezer.state")
		if err != nil {
			return err
		}
		if cgroups.FreezerState(st) == cgroups.Thawed {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("thaw %s: still %s after %v", dir, st, cgfs.FreezeTimeout)
		}
		b.Wait()
	}
}

func (m *Manager) FreezerState() (cgroups.FreezerState, error) {
	dir, ok := m.paths["freezer"]
	if !ok {
		return cgroups.Thawed, nil
	}
	st, err := cgfs.ReadTrimmed(dir, "freezer.state")
	if err != nil {
		if cgfs.IsNotExist(err) {
			return cgroups.Thawed, nil
		}
		return "", err
	}
	return cgroups.FreezerState(st), nil
}
