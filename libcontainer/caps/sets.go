package caps

import (
	"fmt"
	"math/bits"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Sets holds the five capability sets as bit masks (bit n = capability n),
// the same layout the kernel uses and /proc/<pid>/status prints.
type Sets struct {
	Bounding    uint64
	Effective   uint64
	Permitted   uint64
	Inheritable uint64
	Ambient     uint64
}

// FromSpec converts the spec's capability lists into masks.
//
// A nil c yields empty sets: the process keeps no capability at all (runc
// does the same). A name berth does not know, and a capability the running
// kernel lacks, is left out with a warning: the runtime spec says a runtime
// should not fail when a capability cannot be granted and must log a
// warning, and runc goes on the same way (so one config works on older
// kernels). The caller logs the warnings in the parent, never into the
// container's stdio.
//
// Set relations the kernel would reject with a bare EPERM at capset time are
// reported here with the field named instead: effective must be a subset of
// permitted, and inheritable a subset of bounding (capset refuses to add
// inheritable bits outside the bounding set, which is dropped first).
// Ambient capabilities missing from permitted or inheritable cannot be
// raised; like runc, they are dropped with a warning.
func FromSpec(c *specs.LinuxCapabilities) (*Sets, []string, error) {
	s := &Sets{}
	if c == nil {
		return s, nil, nil
	}
	last := LastCap()
	var warnings []string
	lists := []struct {
		field string
		names []string
		mask  *uint64
	}{
		{"bounding", c.Bounding, &s.Bounding},
		{"effective", c.Effective, &s.Effective},
		{"permitted", c.Permitted, &s.Permitted},
		{"inheritable", c.Inheritable, &s.Inheritable},
		{"ambient", c.Ambient, &s.Ambient},
	}
	for _, l := range lists {
		for i, name := range l.names {
			n, err := Parse(name)
			if err != nil {
				warnings = append(warnings, fmt.Sprintf("process.capabilities.%s[%d]: %v; ignored", l.field, i, err))
				continue
			}
			if n > last {
				warnings = append(warnings, fmt.Sprintf(
					"process.capabilities.%s[%d]: %s is not supported by the running kernel (last capability %d); ignored",
					l.field, i, name, last))
				continue
			}
			*l.mask |= 1 << n
		}
	}
	if extra := s.Effective &^ s.Permitted; extra != 0 {
		return nil, nil, fmt.Errorf("process.capabilities.effective: %s is not in the permitted set", Name(lowest(extra)))
	}
	if extra := s.Inheritable &^ s.Bounding; extra != 0 {
		return nil, nil, fmt.Errorf("process.capabilities.inheritable: %s is not in the bounding set", Name(lowest(extra)))
	}
	if extra := s.Ambient &^ (s.Permitted & s.Inheritable); extra != 0 {
		for m := extra; m != 0; m &= m - 1 {
			warnings = append(warnings, fmt.Sprintf(
				"process.capabilities.ambient: %s is not in both the permitted and inheritable sets, so it cannot be raised; ignored",
				Name(lowest(m))))
		}
		s.Ambient &^= extra
	}
	return s, warnings, nil
}

func lowest(mask uint64) int { return bits.TrailingZeros64(mask) }
