package libcontainer

import (
	"fmt"
	"strings"
)

// UpdateIntelRdt writes new L3 cache and memory bandwidth schemata (update
// --l3-cache-schema, --mem-bw-schema; "" leaves one alone) to the
// container's resctrl group and records them in its spec. A container
// without linux.intelRdt has no group to write to: that is an error, not
// a no-op.
func UpdateIntelRdt(root, id, l3, mb string) error {
	if l3 == "" && mb == "" {
		return nil
	}
	return withLock(root, id, func(s *store, st *State) error {
		if status := st.status(root); status == Stopped {
			return fmt.Errorf("cannot update container %q: it is stopped", id)
		}
		flag := "--l3-cache-schema"
		if l3 == "" {
			flag = "--mem-bw-schema"
		}
		if st.IntelRdt == nil {
			return fmt.Errorf("update container %q: %s: the container has no linux.intelRdt (resctrl group)", id, flag)
		}
		for _, u := range []struct{ flag, value string }{{"--l3-cache-schema", l3}, {"--mem-bw-schema", mb}} {
			if u.value == "" {
				continue
			}
			if err := st.IntelRdt.Update(u.flag, strings.Split(u.value, "\n")...); err != nil {
				return fmt.Errorf("update container %q: %w", id, err)
			}
		}
		spec := st.spec()
		if spec.Linux != nil && spec.Linux.IntelRdt != nil {
			if l3 != "" {
				spec.Linux.IntelRdt.L3CacheSchema = l3
			}
			if mb != "" {
				spec.Linux.IntelRdt.MemBwSchema = mb
			}
			st.configChanged = true
		}
		return s.save(st)
	})
}
