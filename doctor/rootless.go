package doctor

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
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
