package systemd

import (
	"fmt"
	"strings"
)

// DefaultPrefix is the unit prefix of a container whose cgroupsPath is
// empty.
const DefaultPrefix = "berth"

// Unit is where a container's cgroup lives under systemd.
type Unit struct {
	// Name is the unit: "prefix-name.scope" or a ".slice".
	Name string
	// Slice is the slice a scope is placed in ("Slice=" of the unit); for
	// a slice unit its parent slice, which its name implies.
	Slice string
	// Path is the unit's cgroup, from the root of the hierarchy.
	Path string
}

// IsSlice reports a slice unit (no process can be placed by PIDs=).
func (u Unit) IsSlice() bool { return strings.HasSuffix(u.Name, ".slice") }

// ParsePath reads linux.cgroupsPath in systemd's form "slice:prefix:name".
// An empty path is ":berth:<id>". An empty slice is system.slice, or
// user.slice for a user manager; "-" and "-.slice" are the root slice.
// The unit is "prefix-name.scope" ("name.scope" without a prefix), or name
// itself when it ends in ".slice": the prefix is then unused, as in runc,
// and a slice part, when given, must be the parent the slice's name
// implies, since systemd places a slice by its name alone.
func ParsePath(cgroupsPath, id string, userManager bool) (Unit, error) {
	p := cgroupsPath
	if p == "" {
		p = ":" + DefaultPrefix + ":" + id
	}
	parts := strings.Split(p, ":")
	if len(parts) != 3 {
		return Unit{}, fmt.Errorf("linux.cgroupsPath %q: the systemd cgroup driver wants \"slice:prefix:name\"", cgroupsPath)
	}
	slice, prefix, name := parts[0], parts[1], parts[2]
	if slice == "" {
		slice = "system.slice"
		if userManager {
			slice = "user.slice"
		}
	}
	if slice == "-" {
		slice = "-.slice"
	}
	parent, err := ExpandSlice(slice)
	if err != nil {
		return Unit{}, fmt.Errorf("linux.cgroupsPath %q: %w", cgroupsPath, err)
	}
	if name == "" {
		return Unit{}, fmt.Errorf("linux.cgroupsPath %q: the name (after the second colon) is empty", cgroupsPath)
	}
	if strings.HasSuffix(name, ".slice") {
		path, err := ExpandSlice(name)
		if err != nil {
			return Unit{}, fmt.Errorf("linux.cgroupsPath %q: %w", cgroupsPath, err)
		}
		implied := parentSlice(name)
		if parts[0] != "" && slice != implied {
			return Unit{}, fmt.Errorf("linux.cgroupsPath %q: slice %s lives under %s (systemd places a slice by its name), not under %s", cgroupsPath, name, implied, slice)
		}
		return Unit{Name: name, Slice: implied, Path: path}, nil
	}
	if err := checkUnitWord(prefix, "prefix"); err != nil {
		return Unit{}, fmt.Errorf("linux.cgroupsPath %q: %w", cgroupsPath, err)
	}
	if err := checkUnitWord(name, "name"); err != nil {
		return Unit{}, fmt.Errorf("linux.cgroupsPath %q: %w", cgroupsPath, err)
	}
	unit := name + ".scope"
	if prefix != "" {
		unit = prefix + "-" + unit
	}
	if len(unit) > 255 {
		return Unit{}, fmt.Errorf("linux.cgroupsPath %q: unit name %s is longer than systemd's 255 characters", cgroupsPath, unit)
	}
	if parent == "/" {
		return Unit{Name: unit, Slice: slice, Path: "/" + unit}, nil
	}
	return Unit{Name: unit, Slice: slice, Path: parent + "/" + unit}, nil
}

// ExpandSlice turns a slice name into its cgroup path: systemd nests
// slices by the dashes in their names, so a-b-c.slice is
// /a.slice/a-b.slice/a-b-c.slice; -.slice, the root slice, is "/".
func ExpandSlice(slice string) (string, error) {
	if slice == "-.slice" {
		return "/", nil
	}
	base, ok := strings.CutSuffix(slice, ".slice")
	if !ok || base == "" {
		return "", fmt.Errorf("slice %q: a slice name ends in \".slice\"", slice)
	}
	if strings.ContainsAny(base, "/\x00\n") {
		return "", fmt.Errorf("slice %q: a slice name has no slash (nesting is by dashes: a-b.slice is under a.slice)", slice)
	}
	if strings.HasPrefix(base, "-") || strings.HasSuffix(base, "-") || strings.Contains(base, "--") {
		return "", fmt.Errorf("slice %q: a dash starts, ends or doubles in it, which names no parent slice", slice)
	}
	var b strings.Builder
	prefix := ""
	for _, part := range strings.Split(base, "-") {
		prefix += part
		b.WriteString("/" + prefix + ".slice")
		prefix += "-"
	}
	return b.String(), nil
}

// parentSlice is the slice a slice unit's name places it in.
func parentSlice(slice string) string {
	base := strings.TrimSuffix(slice, ".slice")
	if i := strings.LastIndexByte(base, '-'); i > 0 {
		return base[:i] + ".slice"
	}
	return "-.slice"
}

// checkUnitWord refuses what cannot be part of a unit name: systemd allows
// ASCII letters, digits and ":-_.\" in unit names ("@" only for
// templates), and a colon would not survive the "slice:prefix:name" form.
func checkUnitWord(s, what string) error {
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.', c == '\\':
		default:
			return fmt.Errorf("%s %q: %q cannot be in a systemd unit name", what, s, c)
		}
	}
	return nil
}
