package devices

import (
	"slices"
	"strconv"
	"strings"
)

// V1Write is one write to a cgroup v1 devices file.
type V1Write struct {
	File  string // "devices.allow" or "devices.deny"
	Value string // "a", or "c 1:3 rwm"
	Field string
}

// V1Writes returns the writes that make a v1 devices cgroup enforce rules,
// in order. A rule naming every device with every access is the kernel's
// "a" (which also resets the list); a type-"a" rule narrower than that
// becomes one char and one block entry, since the kernel only knows "a"
// as that reset.
func V1Writes(rules []Rule) []V1Write {
	out := make([]V1Write, 0, len(rules)+2)
	for _, r := range rules {
		file := "devices.deny"
		if r.Allow {
			file = "devices.allow"
		}
		if r.IsWildcard() && r.Access == RWM {
			out = append(out, V1Write{File: file, Value: "a", Field: r.Field})
			continue
		}
		types := []Type{r.Type}
		if r.Type == All {
			types = []Type{Char, Block}
		}
		for _, t := range types {
			out = append(out, V1Write{File: file, Value: v1Entry(t, r.Major, r.Minor, r.Access), Field: r.Field})
		}
	}
	return out
}

func v1Entry(t Type, major, minor int64, a Access) string {
	return string(t) + " " + num(major) + ":" + num(minor) + " " + a.String()
}

func num(n int64) string {
	if n == Wildcard {
		return "*"
	}
	return strconv.FormatInt(n, 10)
}

// V1List predicts what devices.list shows after V1Writes(rules), so a
// driver can leave an already-correct cgroup alone instead of resetting it
// (which denies everything to a running container for a moment). It
// follows the kernel's list arithmetic: with a deny default, an allow adds
// an exception (OR-ing the access into an exception for the same device),
// a deny takes access away from the exception for the same device; with an
// allow default the roles swap. ok is false when the kernel would not show
// the list (an allow default with exceptions).
func V1List(rules []Rule) (lines []string, ok bool) {
	allowAll := true // a fresh cgroup under an unrestricted parent
	var list []entry
	add := func(e entry) {
		for i := range list {
			if list[i].t == e.t && list[i].major == e.major && list[i].minor == e.minor {
				list[i].access |= e.access
				return
			}
		}
		list = append(list, e)
	}
	rm := func(e entry) {
		for i := range list {
			if list[i].t == e.t && list[i].major == e.major && list[i].minor == e.minor {
				list[i].access &^= e.access
				if list[i].access == 0 {
					list = slices.Delete(list, i, i+1)
				}
				return
			}
		}
	}
	for _, w := range V1Writes(rules) {
		allow := w.File == "devices.allow"
		if w.Value == "a" {
			allowAll, list = allow, nil
			continue
		}
		e, good := parseV1Entry(w.Value)
		if !good {
			return nil, false
		}
		if allow != allowAll {
			add(e)
		} else {
			rm(e)
		}
	}
	if allowAll {
		if len(list) > 0 {
			return nil, false
		}
		return []string{"a *:* rwm"}, true
	}
	for _, e := range list {
		lines = append(lines, v1Entry(e.t, e.major, e.minor, e.access))
	}
	return lines, true
}

type entry struct {
	t            Type
	major, minor int64
	access       Access
}

// parseV1Entry reads "c 1:3 rwm" as written by v1Entry or shown by
// devices.list.
func parseV1Entry(s string) (entry, bool) {
	f := strings.Fields(s)
	if len(f) != 3 || len(f[0]) != 1 {
		return entry{}, false
	}
	majmin := strings.SplitN(f[1], ":", 2)
	if len(majmin) != 2 {
		return entry{}, false
	}
	parse := func(x string) (int64, bool) {
		if x == "*" {
			return Wildcard, true
		}
		n, err := strconv.ParseInt(x, 10, 64)
		return n, err == nil
	}
	major, ok1 := parse(majmin[0])
	minor, ok2 := parse(majmin[1])
	a, err := ParseAccess(f[2])
	if !ok1 || !ok2 || err != nil {
		return entry{}, false
	}
	return entry{Type(f[0][0]), major, minor, a}, true
}

// SameV1List compares two devices.list contents as sets of lines.
func SameV1List(a, b []string) bool {
	norm := func(l []string) []string {
		out := make([]string, 0, len(l))
		for _, s := range l {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	return slices.Equal(norm(a), norm(b))
}
