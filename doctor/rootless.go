package doctor

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// idmapHelpersCheck looks for the shadow-utils helpers that let an
// unprivileged user map more than its own id.
func idmapHelpersCheck() Check {
	c := Check{Name: "newuidmap/newgidmap"}
	var found, lack []string
	for _, name := range []string{"newuidmap", "newgidmap"} {
		p, err := exec.LookPath(name)
		if err != nil {
			lack = append(lack, name)
			continue
		}
		found = append(found, p+" ("+privilege(p)+")")
	}
	if len(lack) > 0 {
		c.Status = Warn
		c.Detail = "not found: " + strings.Join(lack, ", ")
		if len(found) > 0 {
			c.Detail += "; found " + strings.Join(found, ", ")
		}
		c.Hint = "apt-get install uidmap (needed only to run rootless with more than one id mapped)"
		return c
	}
	c.Status, c.Detail = OK, strings.Join(found, ", ")
	if _, err := os.Stat("/etc/subuid"); err != nil {
		c.Status = Warn
		c.Detail += "; no /etc/subuid"
		c.Hint = "give users subordinate ids (usermod --add-subuids) for rootless containers"
	}
	return c
}

// privilege tells how a helper gets the right to write maps: set-uid root
// or file capabilities.
func privilege(p string) string {
	st, err := os.Stat(p)
	if err != nil {
		return "unreadable"
	}
	if st.Mode()&os.ModeSetuid != 0 {
		return "setuid"
	}
	if n, err := unix.Getxattr(p, "security.capability", nil); err == nil && n > 0 {
		return "file capabilities"
	}
	return "neither setuid nor file capabilities: it will fail for other users"
}

// otherRuntimesCheck reports runc's and crun's default state directories:
// engines may have containers there that berth's list never shows.
func otherRuntimesCheck(root string) Check {
	c := Check{Name: "other runtimes", Status: OK}
	abs, _ := filepath.Abs(root)
	var notes []string
	for _, dir := range []string{"/run/runc", "/run/crun"} {
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		notes = append(notes, fmt.Sprintf("%s (%d entries)", dir, len(entries)))
		if abs == dir || strings.HasPrefix(abs, dir+"/") {
			c.Status = Warn
			c.Hint = fmt.Sprintf("--root %s is %s's state directory: the two runtimes would read each other's state", abs, filepath.Base(dir))
		}
	}
	if len(notes) == 0 {
		c.Detail = "no /run/runc or /run/crun"
		return c
	}
	c.Detail = "state dirs present: " + strings.Join(notes, ", ")
	return c
}
