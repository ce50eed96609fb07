package libcontainer

import (
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	"berth/cgroups"
	"berth/cgroups/manager"
)

// subCgroup is the manager of an existing sub-cgroup of the container,
// for exec --cgroup (runc's meaning). Each argument is PATH or
// CTRL[,CTRL]:PATH; on cgroup v2 there is one hierarchy, so only PATH (or
// ":PATH"). PATH is relative to the container's cgroup, which is "/" in
// the container's cgroup namespace: a leading "/" is allowed, ".."
// is not. On v2 the process is then born in the sub-cgroup (clone3
// CLONE_INTO_CGROUP, see cgroups.StartIn); the sub-cgroup is used as it
// is, no controller is enabled (see manager.LoadSub for why that
// matters).
func subCgroup(st *State, args []string) (cgroups.Manager, error) {
	if len(st.CgroupPaths) == 0 {
		return nil, fmt.Errorf("exec --cgroup: container %q has no cgroup", st.ID)
	}
	sub, err := parseSubCgroups(args, st.CgroupPaths)
	if err != nil {
		return nil, err
	}
	m, err := manager.LoadSub(st.CgroupPaths, sub)
	if err != nil {
		return nil, fmt.Errorf("exec --cgroup: %w", err)
	}
	return m, nil
}

// parseSubCgroups maps the keys of paths (controllers, or "unified") to
// the relative sub-cgroup path each --cgroup argument gives them.
func parseSubCgroups(args []string, paths map[string]string) (map[string]string, error) {
	_, v2 := paths["unified"]
	v2 = v2 && len(paths) == 1
	sub := map[string]string{}
	for _, arg := range args {
		ctrls, p, prefixed := strings.Cut(arg, ":")
		if !prefixed {
			p, ctrls = ctrls, ""
		}
		rel, err := subCgroupPath(arg, p)
		if err != nil {
			return nil, err
		}
		switch {
		case v2 && ctrls != "":
			return nil, fmt.Errorf("exec --cgroup %q: cgroup v2 has a single hierarchy: give the path without controllers (%q)", arg, p)
		case ctrls == "" && len(args) > 1:
			return nil, fmt.Errorf("exec --cgroup %q: a path for every controller must be the only --cgroup (use CTRL:PATH to give several)", arg)
		case ctrls == "":
			for key := range paths {
				sub[key] = rel
			}
			continue
		}
		for _, c := range strings.Split(ctrls, ",") {
			if _, ok := paths[c]; !ok {
				have := slices.Sorted(maps.Keys(paths))
				return nil, fmt.Errorf("exec --cgroup %q: the container has no %q cgroup (it has %s)", arg, c, strings.Join(have, ", "))
			}
			if _, dup := sub[c]; dup {
				return nil, fmt.Errorf("exec --cgroup %q: controller %s given twice", arg, c)
			}
			sub[c] = rel
		}
	}
	return sub, nil
}

// subCgroupPath checks p names the container's cgroup or one below it,
// and returns it relative and clean ("." for the container's own).
func subCgroupPath(arg, p string) (string, error) {
	rel := strings.TrimLeft(p, "/")
	if p == "" {
		return "", fmt.Errorf("exec --cgroup %q: empty path", arg)
	}
	if slices.Contains(strings.Split(rel, "/"), "..") {
		return "", fmt.Errorf("exec --cgroup %q: the path must stay inside the container's cgroup (no \"..\")", arg)
	}
	if rel == "" {
		return ".", nil
	}
	return path.Clean(rel), nil
}
