package cgfs

import "strconv"

// Itoa, Utoa and Devnum format values as cgroup files take them.
func Itoa(v int64) string          { return strconv.FormatInt(v, 10) }
func Utoa(v uint64) string         { return strconv.FormatUint(v, 10) }
func Devnum(maj, min int64) string { return Itoa(maj) + ":" + Itoa(min) }

// MaxOr formats a limit where negative means none: "max".
func MaxOr(v int64) string {
	if v < 0 {
		return "max"
	}
	return strconv.FormatInt(v, 10)
}

// BoolNum is a flag file's "1" or "0".
func BoolNum(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// Deref is *p, or the zero value (unset) for nil.
func Deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
