package seccomp

import specs "github.com/opencontainers/runtime-spec/specs-go"

// Flags returns the seccomp(2) flags for c, for a loader outside this
// package (the nsenter stub's C exec path).
func Flags(c *specs.LinuxSeccomp) (uint32, error) {
	f, err := filterFlags(c)
	return uint32(f), err
}
