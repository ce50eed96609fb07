package doctor

import (
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	cghost "berth/cgroups/host"
	"berth/internal/subid"
)

// idmapHelpersCheck looks for the shadow-utils helpers that let an
// unprivileged user map more than its own id.
func idmapHelpersCheck() Check {
	c := Check{Name: "newuidmap/newgidmap"}
	var found, lack, powerless []string
	for _, name := range []string{"newuidmap", "newgidmap"} {
		p, err := exec.LookPath(name)
		if err != nil {
			lack = append(lack, name)
			continue
		}
		priv, ok := privilege(p)
		found = append(found, p+" ("+priv+")")
		if !ok {
			powerless = append(powerless, p)
		}
	}
	if len(lack) > 0 {
		c.Status = Warn
		c.Detail = "not found in PATH: " + strings.Join(lack, ", ")
		if len(found) > 0 {
			c.Detail += "; found " + strings.Join(found, ", ")
		}
		c.Hint = "apt-get install uidmap (needed only to run rootless with more than one id mapped)"
		return c
	}
	c.Status, c.Detail = OK, strings.Join(found, ", ")
	if len(powerless) > 0 {
		c.Status = Warn
		c.Hint = "an unprivileged user cannot write id maps with " + strings.Join(powerless, ", ") + ": reinstall uidmap (setuid root) or setcap cap_setuid+ep / cap_setgid+ep"
		return c
	}
	if _, err := os.Stat("/etc/subuid"); err != nil {
		c.Status = Warn
		c.Detail += "; no /etc/subuid"
		c.Hint = "give users subordinate ids (usermod --add-subuids) for rootless containers"
	}
	return c
}

// privilege tells how a helper gets the right to write maps: set-uid root
// or file capabilities; ok is false when it has neither.
func privilege(p string) (string, bool) {
	st, err := os.Stat(p)
	if err != nil {
		return "unreadable: " + errnoText(err), false
	}
	if st.Mode()&os.ModeSetuid != 0 {
		if sys, ok := st.Sys().(*syscall.Stat_t); ok && sys.Uid != 0 {
			return fmt.Sprintf("setuid to uid %d, not root", sys.Uid), false
		}
		return "setuid", true
	}
	if n, err := unix.Getxattr(p, "security.capability", nil); err == nil && n > 0 {
		return "file capabilities", true
	}
	return "neither setuid nor file capabilities", false
}

// otherRuntimes are the state directories other OCI runtimes use by
// default, and the file that marks a container in each.
var otherRuntimes = []struct{ name, dir, marker string }{
	{"runc", "/run/runc", "state.json"},
	{"crun", "/run/crun", "status"},
	{"youki", "/run/youki", "state.json"},
}

// otherRuntimesCheck reports containers other runtimes keep: berth list
// never shows them, and one with the same id and no cgroupsPath lands in
// the same cgroup as a berth container would (both use "<id>" under their
// own cgroup, as runc's cgroupfs driver does).
func otherRuntimesCheck(root string) Check {
	c := Check{Name: "other runtimes", Status: OK}
	abs, _ := filepath.Abs(root)
	var notes, absent []string
	for _, rt := range otherRuntimes {
		if abs == rt.dir || strings.HasPrefix(abs, rt.dir+"/") {
			c.Status = Fail
			c.Detail = fmt.Sprintf("--root %s is %s's state directory", abs, rt.name)
			c.Hint = "pick another --root: the two runtimes would read and delete each other's state"
			return c
		}
		entries, err := os.ReadDir(rt.dir)
		if err != nil {
			absent = append(absent, rt.dir)
			continue
		}
		var ids []string
		for _, e := range entries {
			if _, err := os.Stat(filepath.Join(rt.dir, e.Name(), rt.marker)); err == nil {
				ids = append(ids, e.Name())
			}
		}
		if len(ids) == 0 {
			notes = append(notes, rt.dir+" holds no containers")
			continue
		}
		c.Status = Warn
		notes = append(notes, fmt.Sprintf("%s has %d container(s) in %s: %s", rt.name, len(ids), rt.dir, strings.Join(ids, " ")))
		c.Hint = "berth list does not show them; give berth containers other ids or an explicit linux.cgroupsPath so their cgroups do not collide"
	}
	if len(notes) == 0 {
		c.Detail = "no state of other runtimes (" + strings.Join(absent, ", ") + " absent)"
		return c
	}
	c.Detail = strings.Join(notes, "; ")
	return c
}

// rootlessChecks are what a caller without root needs besides user
// namespaces (userNamespaceCheck) and the id map helpers
// (idmapHelpersCheck): subordinate ids, a cgroup of its own, a runtime
// directory for the state.
func (h *host) rootlessChecks(uid int, name, subuid, subgid, xdg string) []Check {
	return []Check{subidCheck(uid, name, subuid, subgid), h.rootlessCgroupCheck(uid), xdgCheck(uid, xdg)}
}

// subidCheck reports the subordinate ids the caller may map through
// newuidmap/newgidmap (the files' contents, "" when unreadable).
func subidCheck(uid int, name, subuid, subgid string) Check {
	c := Check{Name: "rootless: subordinate ids", Status: OK}
	var notes, lack []string
	for _, f := range []struct{ path, data string }{{"/etc/subuid", subuid}, {"/etc/subgid", subgid}} {
		rs := subid.Ranges(f.data, name, uid)
		if len(rs) == 0 {
			lack = append(lack, f.path)
			notes = append(notes, f.path+": none for "+name)
			continue
		}
		notes = append(notes, f.path+": "+subid.Format(rs))
	}
	c.Detail = strings.Join(notes, "; ")
	if len(lack) > 0 {
		c.Status = Warn
		c.Hint = fmt.Sprintf("only your own id can be mapped (berth spec --rootless); for more: usermod --add-subuids 100000-165535 --add-subgids 100000-165535 %s (as root)", name)
	}
	return c
}

// rootlessCgroupCheck tells whether the caller may make cgroups under its
// own: without that, a container runs in the caller's cgroup, and one
// that asks for limits (or names a cgroupsPath) is refused.
func (h *host) rootlessCgroupCheck(uid int) Check {
	c := Check{Name: "rootless: cgroups"}
	data, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		c.Status, c.Detail = Warn, "read /proc/self/cgroup: "+errnoText(err)
		return c
	}
	// The caller's cgroup in each reachable hierarchy, by mount point.
	dirs := map[string]string{}
	for _, m := range cghost.ParseProcCgroup(strings.TrimSpace(string(data))) {
		if m.Controllers == "" {
			if h.cg.v2Mount != "" {
				dirs[h.cg.v2Mount] = filepath.Join(h.cg.v2Mount, strings.TrimPrefix(m.Path, h.cg.v2Root))
			}
			continue
		}
		ctrls := strings.Split(m.Controllers, ",")
		for _, hi := range h.cg.v1 {
			if len(hi.controllers) > 0 && slices.Contains(ctrls, hi.controllers[0]) {
				dirs[hi.point] = filepath.Join(hi.point, m.Path)
			}
		}
	}
	var mine, notMine []string
	for _, point := range slices.Sorted(maps.Keys(dirs)) {
		if unix.Access(dirs[point], unix.W_OK) == nil {
			mine = append(mine, dirs[point])
		} else {
			notMine = append(notMine, dirs[point])
		}
	}
	switch {
	case len(dirs) == 0:
		c.Status, c.Detail = Warn, "no cgroup hierarchy of this process is reachable under "+cgroupBase
		c.Hint = "rootless containers run without a cgroup; limits are refused"
	case len(mine) == 0:
		c.Status = Warn
		c.Detail = fmt.Sprintf("no cgroup delegated to uid %d (none of %s is writable): containers run in your cgroup, without one of their own; limits and linux.cgroupsPath are refused",
			uid, strings.Join(notMine, " "))
		c.Hint = "delegate a cgroup: cgroup v2 with systemd: systemd-run --user --scope -p Delegate=yes berth ...; cgroup v1: root makes a cgroup in each hierarchy, chowns it to you, and you start berth in it"
	case len(notMine) > 0:
		c.Status = Warn
		c.Detail = fmt.Sprintf("delegated to uid %d: %s; not: %s (containers fail to make their cgroup there)", uid, strings.Join(mine, " "), strings.Join(notMine, " "))
		c.Hint = "delegate every hierarchy, or run without limits"
	default:
		c.Status, c.Detail = OK, fmt.Sprintf("delegated to uid %d: %s", uid, strings.Join(mine, " "))
	}
	return c
}

// xdgCheck looks at XDG_RUNTIME_DIR, under which a rootless berth keeps
// its state by default ($XDG_RUNTIME_DIR/berth).
func xdgCheck(uid int, xdg string) Check {
	c := Check{Name: "rootless: XDG_RUNTIME_DIR", Status: OK}
	fallback := fmt.Sprintf("/run/user/%d", uid)
	if xdg == "" {
		if st, err := os.Stat(fallback); err == nil && st.IsDir() {
			c.Detail = "not set; the state goes to " + fallback + "/berth"
			return c
		}
		c.Status = Warn
		c.Detail = "not set, and no " + fallback + ": the default state root " + fallback + "/berth cannot be made"
		c.Hint = "export XDG_RUNTIME_DIR=<a directory of yours, mode 0700, on tmpfs> (a login session's /run/user/UID), or pass --root"
		return c
	}
	st, err := os.Stat(xdg)
	if err != nil {
		c.Status, c.Detail = Warn, xdg+": "+errnoText(err)
		c.Hint = "make it (mode 0700, yours), or pass --root"
		return c
	}
	sys, _ := st.Sys().(*syscall.Stat_t)
	c.Detail = fmt.Sprintf("%s: mode %#o", xdg, st.Mode().Perm())
	if sys != nil {
		c.Detail += fmt.Sprintf(", owner uid %d", sys.Uid)
	}
	if !st.IsDir() || sys == nil || int(sys.Uid) != uid || st.Mode().Perm()&0o077 != 0 {
		c.Status = Warn
		c.Hint = "XDG_RUNTIME_DIR should be a directory of yours that nobody else can enter (mode 0700)"
	}
	return c
}
