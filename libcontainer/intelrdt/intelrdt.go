// Package intelrdt places a container in a resctrl group (linux.intelRdt):
// the group named by closID, or one of the container's own, its schemata
// written, its init's pid written to the group's tasks, and a monitoring
// group when enableMonitoring asks. Every path and line is worked out by
// Prepare from the resctrl mount's root, so the logic is tested against
// a directory shaped like one.
package intelrdt

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"berth/internal/mountinfo"
)

// Plan is what Apply does and Remove undoes.
// It is kept in the container's state, for delete and update.
type Plan struct {
	Root     string   `json:"root"`               // the resctrl mount
	Group    string   `json:"group"`              // the CLOS group directory (the resctrl root itself for the default group)
	Create   bool     `json:"create,omitempty"`   // the group is missing: made by Apply
	Own      bool     `json:"own,omitempty"`      // the group is the container's (no closID, made by it): removed by Remove
	Schemata []string `json:"schemata,omitempty"` // lines written to the group's schemata file
	Mon      string   `json:"mon,omitempty"`      // the monitoring group directory made by Apply, or ""
}

// Root finds where resctrl is mounted (the first resctrl entry of the
// mountinfo table at path); an error names the field when it is not.
func Root(path string) (string, error) {
	mounts, err := mountinfo.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("linux.intelRdt: %w", err)
	}
	for _, m := range mounts {
		if m.FSType == "resctrl" {
			return m.Mountpoint, nil
		}
	}
	return "", errors.New("linux.intelRdt: resctrl is not mounted on this host (mount -t resctrl resctrl /sys/fs/resctrl, on a CPU with Intel RDT or AMD PQoS)")
}

// Prepare works out the plan for container id under the resctrl root,
// checking what the root offers. As the spec has it: closID names a
// shared group ("/" the default one), which is made when missing if
// schemata are asked (an error otherwise), must otherwise already hold
// them, and is never removed; without closID the container gets a group
// of its own, named by its id, removed at delete; l3CacheSchema, memBwSchema and each schemata
// line need the resource (L3, MB, ...) under info/; enableMonitoring needs
// monitoring (info/L3_MON) and makes mon_groups/<id> in the group.
func Prepare(root, id string, rdt *specs.LinuxIntelRdt) (*Plan, error) {
	if st, err := os.Stat(filepath.Join(root, "info")); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("linux.intelRdt: %s is not a resctrl root (no info/)", root)
	}
	var lines []string
	for _, l := range []struct{ field, value string }{{"l3CacheSchema", rdt.L3CacheSchema}, {"memBwSchema", rdt.MemBwSchema}} {
		for _, line := range strings.Split(l.value, "\n") {
			if line = strings.TrimSpace(line); line != "" {
				if err := checkLine(root, "linux.intelRdt."+l.field, line); err != nil {
					return nil, err
				}
				lines = append(lines, line)
			}
		}
	}
	for i, line := range rdt.Schemata {
		if line = strings.TrimSpace(line); line != "" {
			if err := checkLine(root, fmt.Sprintf("linux.intelRdt.schemata[%d]", i), line); err != nil {
				return nil, err
			}
			lines = append(lines, line)
		}
	}
	p := &Plan{Root: root, Group: root, Schemata: lines}
	switch name := rdt.ClosID; {
	case name == "/":
		// The default CLOS: the resctrl root, shared as any closID's.
		if err := p.shared(name); err != nil {
			return nil, err
		}
	case name == "":
		// The container's own group, named by its id: made (unless a
		// group of that name is left over) and removed at delete.
		if err := checkName("linux.intelRdt: the container's group (closID unset), its id", id); err != nil {
			return nil, err
		}
		p.Group = filepath.Join(root, id)
		switch _, err := os.Stat(p.Group); {
		case errors.Is(err, os.ErrNotExist):
			p.Create, p.Own = true, true
		case err != nil:
			return nil, fmt.Errorf("linux.intelRdt: group %s: %w", p.Group, err)
		}
	default:
		// closID's group is shared with whoever else names it: made when
		// missing and schemata are asked, and never removed.
		if err := checkName("linux.intelRdt.closID", name); err != nil {
			return nil, err
		}
		p.Group = filepath.Join(root, name)
		switch _, err := os.Stat(p.Group); {
		case errors.Is(err, os.ErrNotExist) && len(lines) > 0:
			p.Create = true
		case errors.Is(err, os.ErrNotExist):
			return nil, fmt.Errorf("linux.intelRdt.closID %q: no such group in %s (without schemata it must be made beforehand)", name, root)
		case err != nil:
			return nil, fmt.Errorf("linux.intelRdt.closID %q: %w", name, err)
		default:
			if err := p.shared(name); err != nil {
				return nil, err
			}
		}
	}
	if rdt.EnableMonitoring {
		if _, err := os.Stat(filepath.Join(root, "info", "L3_MON")); err != nil {
			return nil, errors.New("linux.intelRdt.enableMonitoring: this host's resctrl has no monitoring (info/L3_MON)")
		}
		p.Mon = filepath.Join(p.Group, "mon_groups", id)
	}
	return p, nil
}

// checkName checks a group name is one directory of the resctrl root,
// not one of the kernel's own.
func checkName(what, name string) error {
	if name == "." || name == ".." || strings.ContainsAny(name, "/\n") || name == "info" || name == "mon_groups" || name == "mon_data" {
		return fmt.Errorf("%s %q: not a resctrl group name", what, name)
	}
	return nil
}

// shared checks an existing group named by closID already holds the
// schemata asked (it is shared: they are compared, not written).
func (p *Plan) shared(name string) error {
	if len(p.Schemata) > 0 {
		have, err := os.ReadFile(filepath.Join(p.Group, "schemata"))
		if err != nil {
			return fmt.Errorf("linux.intelRdt.closID %q: %w", name, err)
		}
		for _, l := range p.Schemata {
			if !hasLine(string(have), l) {
				return fmt.Errorf("linux.intelRdt: the existing group %q (closID) has no schemata line %q", name, l)
			}
		}
	}
	p.Schemata = nil
	return nil
}

// checkLine checks a schemata line ("L3:0=ffff;1=ffff", "MB:0=70") names
// a resource the root offers.
func checkLine(root, field, line string) error {
	res, _, ok := strings.Cut(line, ":")
	res = strings.TrimSpace(res)
	if !ok || res == "" || strings.ContainsAny(res, "/.") {
		return fmt.Errorf("%s %q: not a schemata line (RESOURCE:ID=VALUE;...)", field, line)
	}
	if _, err := os.Stat(filepath.Join(root, "info", res)); err != nil {
		// CDP splits L3 into L3CODE and L3DATA, whose info is under L3CODE.
		if _, err2 := os.Stat(filepath.Join(root, "info", res+"CODE")); err2 != nil {
			return fmt.Errorf("%s %q: this host's resctrl has no %s resource (info/%s)", field, line, res, res)
		}
	}
	return nil
}

// hasLine reports whether schemata text (as the kernel shows it: every
// domain, a cache mask zero-padded to the mask's width, a bandwidth
// space-padded) holds line: each domain the line names has its value
// there. Values are compared without padding or case.
func hasLine(text, line string) bool {
	res, want, ok := schemataLine(line)
	if !ok {
		return false
	}
	for _, l := range strings.Split(text, "\n") {
		r, have, ok := schemataLine(l)
		if !ok || r != res {
			continue
		}
		for dom, v := range want {
			if have[dom] != v {
				return false
			}
		}
		return true
	}
	return false
}

// schemataLine splits "RESOURCE:ID=VALUE;..." into the resource and the
// value of each domain, spaces dropped, values lower-case without leading
// zeros.
func schemataLine(line string) (string, map[string]string, bool) {
	line = strings.Join(strings.Fields(line), "")
	res, rest, ok := strings.Cut(line, ":")
	if !ok || res == "" {
		return "", nil, false
	}
	doms := map[string]string{}
	for _, d := range strings.Split(rest, ";") {
		id, v, ok := strings.Cut(d, "=")
		if !ok || id == "" || v == "" {
			return "", nil, false
		}
		if v = strings.TrimLeft(strings.ToLower(v), "0"); v == "" {
			v = "0"
		}
		doms[id] = v
	}
	return res, doms, true
}

// Apply makes the group (when it is the container's), writes its
// schemata one line a write (resctrl takes one resource per write), and
// puts pid into it and into the monitoring group.
func (p *Plan) Apply(pid int) error {
	if p.Create {
		if err := os.Mkdir(p.Group, 0o755); err != nil {
			return fmt.Errorf("linux.intelRdt: make group %s: %w", p.Group, err)
		}
	}
	for _, l := range p.Schemata {
		if err := writeFile(filepath.Join(p.Group, "schemata"), l+"\n"); err != nil {
			return fmt.Errorf("linux.intelRdt: schemata %q: %w", l, err)
		}
	}
	if p.Mon != "" {
		if err := os.Mkdir(p.Mon, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("linux.intelRdt.enableMonitoring: make %s: %w", p.Mon, err)
		}
	}
	return p.Join(pid)
}

// Join puts pid into the group and its monitoring group: the init at
// create, and each exec'd process (resctrl's group is inherited at fork,
// so a process of the container forks its children into it, but one
// berth starts from outside starts in berth's).
func (p *Plan) Join(pid int) error {
	if err := writeFile(filepath.Join(p.Group, "tasks"), strconv.Itoa(pid)); err != nil {
		return fmt.Errorf("linux.intelRdt: add pid %d to %s: %w", pid, p.Group, err)
	}
	if p.Mon != "" {
		if err := writeFile(filepath.Join(p.Mon, "tasks"), strconv.Itoa(pid)); err != nil {
			return fmt.Errorf("linux.intelRdt.enableMonitoring: add pid %d to %s: %w", pid, p.Mon, err)
		}
	}
	return nil
}

// Remove removes the monitoring group, and the group when it is the
// container's own (a closID group stays, made at create or not: others
// may share it). Missing directories are fine.
func (p *Plan) Remove() error {
	for _, d := range []string{p.Mon, map[bool]string{true: p.Group}[p.Own]} {
		if d == "" {
			continue
		}
		if err := os.Remove(d); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("linux.intelRdt: remove %s: %w", d, err)
		}
	}
	return nil
}

func writeFile(path, s string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(s)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Update writes new schemata lines (`berth update --l3-cache-schema`,
// `--mem-bw-schema`; field names the flag) to the group, each checked
// against the resources the root offers.
func (p *Plan) Update(field string, lines ...string) error {
	for _, l := range lines {
		if l = strings.TrimSpace(l); l == "" {
			continue
		}
		if err := checkLine(p.Root, field, l); err != nil {
			return err
		}
		if err := writeFile(filepath.Join(p.Group, "schemata"), l+"\n"); err != nil {
			return fmt.Errorf("%s %q: write %s/schemata: %w", field, l, p.Group, err)
		}
	}
	return nil
}
