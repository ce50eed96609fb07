// Package subid reads the subordinate id files (/etc/subuid, /etc/subgid)
// that newuidmap and newgidmap check a rootless caller's id maps against.
package subid

import (
	"strconv"
	"strings"
)

// Range is one "name:start:count" line.
type Range struct{ Start, Count uint64 }

// Ranges returns the ranges data (a subordinate id file) gives the user
// name, whose uid is uid (the owner may be written either way), in file
// order. Malformed lines and empty ranges are skipped, as the helpers skip
// them.
func Ranges(data, name string, uid int) []Range {
	var out []Range
	for _, line := range strings.Split(data, "\n") {
		f := strings.Split(strings.TrimSpace(line), ":")
		if len(f) != 3 || (f[0] != name && f[0] != strconv.Itoa(uid)) {
			continue
		}
		start, err1 := strconv.ParseUint(f[1], 10, 32)
		count, err2 := strconv.ParseUint(f[2], 10, 32)
		if err1 == nil && err2 == nil && count > 0 {
			out = append(out, Range{start, count})
		}
	}
	return out
}

// Format writes ranges as "start-end, ..." (inclusive ends).
func Format(rs []Range) string {
	var out []string
	for _, r := range rs {
		out = append(out, strconv.FormatUint(r.Start, 10)+"-"+strconv.FormatUint(r.Start+r.Count-1, 10))
	}
	return strings.Join(out, ", ")
}
