// Package devices turns linux.resources.devices into the ordered rule list
// both cgroup drivers enforce: the v1 driver writes it to devices.deny and
// devices.allow, the v2 driver compiles it to an eBPF program (package
// ebpf).
//
// # The effective list
//
// A container's list is always: deny everything, then the spec's rules in
// spec order, then the default allow-list (the nodes every container gets
// in /dev: null, zero, full, tty, random, urandom, console, ptmx and the
// pseudo-terminals under /dev/pts, all rwm). The defaults come last so a
// spec cannot lock a container out of /dev/null; a spec that wants more
// (e.g. a privileged container) allows more.
//
// linux.devices plays no part: it says which nodes exist in the
// container's /dev, not which may be used. A node it creates is usable
// only if linux.resources.devices (or the default allow-list) allows its
// type and numbers, as with runc; engines that pass a host device
// (docker --device, podman --device, a CRI device) write both.
//
// The defaults are narrower than runc 1.1's, which also allows mknod of
// every char and block device and /dev/net/tun (c 10:200): a spec that
// wants those says so.
//
// # Meaning
//
// For each access bit of a request (read, write, mknod) the last rule that
// names the bit and matches the device decides; a request is allowed when
// every bit it asks for is. Type "a" (or unset) and an unset major or
// minor are wildcards. This is what the v1 kernel does for the lists
// engines write (deny all, then allows); for lists that mix allows and
// denies on overlapping devices the v1 kernel's own list arithmetic is
// coarser, and the eBPF filter follows the rule above.
package devices

import (
	"fmt"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Access is a set of device permissions.
type Access uint8

// The device permissions a rule grants or takes away.
const (
	Read Access = 1 << iota
	Write
	Mknod

	RWM = Read | Write | Mknod
)

// Type is a device type: 'a' (all), 'c' (char) or 'b' (block).
type Type byte

// Device types.
const (
	All   Type = 'a'
	Char  Type = 'c'
	Block Type = 'b'
)

// Wildcard as a major or minor number matches every number.
const Wildcard int64 = -1

// The largest device numbers Linux has (12-bit major, 20-bit minor).
const (
	maxMajor = 1<<12 - 1
	maxMinor = 1<<20 - 1
)

// Rule is one entry of the device list.
type Rule struct {
	Allow  bool
	Type   Type
	Major  int64 // Wildcard or 0..4095
	Minor  int64 // Wildcard or 0..1048575
	Access Access
	// Field names where the rule comes from, for error messages:
	// "linux.resources.devices[2]" or "default allow-list (/dev/null)".
	Field string
}

// ParseAccess reads a "rwm" permission string; "" means all three, as the
// v1 kernel reads a rule without permissions. An "a" is accepted and
// ignored, as runc does ("rwa" is "rw"), but an access of nothing else
// names no permission and is refused (runc fails on it too, obscurely).
func ParseAccess(s string) (Access, error) {
	if s == "" {
		return RWM, nil
	}
	var a Access
	for _, c := range s {
		switch c {
		case 'r':
			a |= Read
		case 'w':
			a |= Write
		case 'm':
			a |= Mknod
		case 'a':
		default:
			return 0, fmt.Errorf("access %q: must be made of r, w and m", s)
		}
	}
	if a == 0 {
		return 0, fmt.Errorf("access %q: names none of r, w and m (an a is ignored)", s)
	}
	return a, nil
}

// String is the permission in the kernel's "rwm" order.
func (a Access) String() string {
	var b strings.Builder
	if a&Read != 0 {
		b.WriteByte('r')
	}
	if a&Write != 0 {
		b.WriteByte('w')
	}
	if a&Mknod != 0 {
		b.WriteByte('m')
	}
	return b.String()
}

// FromSpec validates linux.resources.devices and returns it as rules, in
// order.
func FromSpec(specRules []specs.LinuxDeviceCgroup) ([]Rule, error) {
	rules := make([]Rule, 0, len(specRules))
	for i, d := range specRules {
		field := "linux.resources.devices[" + strconv.Itoa(i) + "]"
		r := Rule{Allow: d.Allow, Major: Wildcard, Minor: Wildcard, Field: field}
		switch d.Type {
		case "", "a":
			r.Type = All
		case "c":
			r.Type = Char
		case "b":
			r.Type = Block
		default:
			return nil, fmt.Errorf("%s.type: %q is not a, c or b", field, d.Type)
		}
		if d.Major != nil {
			if *d.Major < 0 || *d.Major > maxMajor {
				return nil, fmt.Errorf("%s.major: %d is out of range 0..%d", field, *d.Major, maxMajor)
			}
			r.Major = *d.Major
		}
		if d.Minor != nil {
			if *d.Minor < 0 || *d.Minor > maxMinor {
				return nil, fmt.Errorf("%s.minor: %d is out of range 0..%d", field, *d.Minor, maxMinor)
			}
			r.Minor = *d.Minor
		}
		a, err := ParseAccess(d.Access)
		if err != nil {
			return nil, fmt.Errorf("%s.%w", field, err)
		}
		r.Access = a
		rules = append(rules, r)
	}
	return rules, nil
}

// Defaults is the allow-list every container gets after its spec rules.
var Defaults = []Rule{
	dflt(Char, 1, 3, "/dev/null"),
	dflt(Char, 1, 5, "/dev/zero"),
	dflt(Char, 1, 7, "/dev/full"),
	dflt(Char, 5, 0, "/dev/tty"),
	dflt(Char, 1, 8, "/dev/random"),
	dflt(Char, 1, 9, "/dev/urandom"),
	dflt(Char, 5, 1, "/dev/console"),
	dflt(Char, 5, 2, "/dev/ptmx"),
	dflt(Char, 136, Wildcard, "/dev/pts/*"),
}

func dflt(t Type, major, minor int64, path string) Rule {
	return Rule{Allow: true, Type: t, Major: major, Minor: minor, Access: RWM, Field: "default allow-list (" + path + ")"}
}

// DenyAll is the rule every effective list starts with.
var DenyAll = Rule{Allow: false, Type: All, Major: Wildcard, Minor: Wildcard, Access: RWM, Field: "default deny-all"}

// Effective is the list a container's cgroup enforces: deny all, the
// spec's rules, the defaults.
func Effective(specRules []specs.LinuxDeviceCgroup) ([]Rule, error) {
	rules, err := FromSpec(specRules)
	if err != nil {
		return nil, err
	}
	out := make([]Rule, 0, 1+len(rules)+len(Defaults))
	out = append(out, DenyAll)
	out = append(out, rules...)
	return append(out, Defaults...), nil
}

// Matches reports whether r names the device (ignoring access).
func (r Rule) Matches(t Type, major, minor int64) bool {
	return (r.Type == All || r.Type == t) &&
		(r.Major == Wildcard || r.Major == major) &&
		(r.Minor == Wildcard || r.Minor == minor)
}

// IsWildcard reports whether r names every device.
func (r Rule) IsWildcard() bool {
	return r.Type == All && r.Major == Wildcard && r.Minor == Wildcard
}

// Allowed is the reference meaning of a rule list: for every bit of want,
// the last rule that names the bit and matches the device must allow it.
// No matching rule means denied.
func Allowed(rules []Rule, t Type, major, minor int64, want Access) bool {
	if want == 0 {
		return true
	}
	for _, bit := range []Access{Read, Write, Mknod} {
		if want&bit == 0 {
			continue
		}
		ok := false
		for i := len(rules) - 1; i >= 0; i-- {
			r := rules[i]
			if r.Access&bit != 0 && r.Matches(t, major, minor) {
				ok = r.Allow
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// AllowsAll reports whether the list grants every access to every device,
// so a driver can skip enforcing it (a privileged container).
func AllowsAll(rules []Rule) bool {
	for _, bit := range []Access{Read, Write, Mknod} {
		ok := false
		for i := len(rules) - 1; i >= 0; i-- {
			r := rules[i]
			if r.Access&bit == 0 {
				continue
			}
			if r.IsWildcard() {
				ok = r.Allow
				break
			}
			if !r.Allow {
				// A deny on some device after the last allow-all.
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}
