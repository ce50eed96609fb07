package image

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// IDMap maps Size ids starting at ContainerID onto host ids starting at
// HostID, as a user namespace's uid_map line does.
type IDMap struct {
	ContainerID uint32
	HostID      uint32
	Size        uint32
}

// ParseIDMap parses "container:host:size".
func ParseIDMap(s string) (IDMap, error) {
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return IDMap{}, fmt.Errorf("id map %q: want container:host:size", s)
	}
	var v [3]uint32
	for i, p := range parts {
		n, err := strconv.ParseUint(p, 10, 32)
		if err != nil {
			return IDMap{}, fmt.Errorf("id map %q: %q is not an id: %w", s, p, err)
		}
		v[i] = uint32(n)
	}
	m := IDMap{ContainerID: v[0], HostID: v[1], Size: v[2]}
	if m.Size == 0 {
		return IDMap{}, fmt.Errorf("id map %q: size must be at least 1", s)
	}
	if uint64(m.ContainerID)+uint64(m.Size) > math.MaxUint32+1 || uint64(m.HostID)+uint64(m.Size) > math.MaxUint32+1 {
		return IDMap{}, fmt.Errorf("id map %q: range passes 2^32", s)
	}
	return m, nil
}

// shiftID maps a container id to the host; without maps ids are kept.
func shiftID(maps []IDMap, id int, kind string) (int, error) {
	if len(maps) == 0 {
		return id, nil
	}
	for _, m := range maps {
		if id >= int(m.ContainerID) && int64(id) < int64(m.ContainerID)+int64(m.Size) {
			return int(m.HostID) + id - int(m.ContainerID), nil
		}
	}
	return 0, fmt.Errorf("%s %d is not covered by the %s map", kind, id, kind)
}
