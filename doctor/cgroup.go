package doctor

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

type cgroupMode int

const (
	cgroupNone cgroupMode = iota
	cgroupV1
	cgroupHybrid
	cgroupV2
)

func (m cgroupMode) String() string {
	return [...]string{"none", "v1 (legacy)", "hybrid (v1 controllers, v2 mounted at unified/)", "v2 (unified)"}[m]
}

// detectCgroupMode looks at what is mounted at base (/sys/fs/cgroup).
func detectCgroupMode(base string) cgroupMode {
	var st unix.Statfs_t
	if unix.Statfs(base, &st) != nil {
		return cgroupNone
	}
	switch st.Type {
	case unix.CGROUP2_SUPER_MAGIC:
		return cgroupV2
	case unix.TMPFS_MAGIC:
		var u unix.Statfs_t
		if unix.Statfs(filepath.Join(base, "unified"), &u) == nil && u.Type == unix.CGROUP2_SUPER_MAGIC {
			return cgroupHybrid
		}
		return cgroupV1
	}
	return cgroupNone
}

// parseProcCgroups lists the enabled controllers of /proc/cgroups
// ("#subsys_name hierarchy num_cgroups enabled").
func parseProcCgroups(text string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 4 || strings.HasPrefix(f[0], "#") {
			continue
		}
		if f[3] == "1" {
			out = append(out, f[0])
		}
	}
	return out
}

// wantControllers are the ones berth's resource support leans on.
var wantControllers = []string{"cpu", "memory", "pids"}

func missing(have []string, want []string) []string {
	var out []string
	for _, w := range want {
		if !slices.Contains(have, w) {
			out = append(out, w)
		}
	}
	return out
}

func (h *host) cgroupChecks() []Check {
	mode := Check{Name: "cgroup", Detail: h.cgroup.String()}
	ctrl := Check{Name: "cgroup controllers"}
	deleg := Check{Name: "cgroup delegation"}
	switch h.cgroup {
	case cgroupNone:
		mode.Status, mode.Detail = Fail, "nothing usable mounted at /sys/fs/cgroup"
		mode.Hint = "mount cgroup2 on /sys/fs/cgroup (mount -t cgroup2 none /sys/fs/cgroup)"
		ctrl.Status, ctrl.Detail = Fail, "no cgroup hierarchy"
		deleg.Status, deleg.Detail = Fail, "no cgroup hierarchy"
		return []Check{mode, ctrl, deleg}
	case cgroupV2:
		mode.Status = OK
	default:
		mode.Status = Warn
		mode.Hint = "boot with systemd.unified_cgroup_hierarchy=1 for cgroup v2: CLONE_INTO_CGROUP, eBPF device rules and delegation need it"
	}

	if h.cgroup == cgroupV2 {
		avail, err := readTrim("/sys/fs/cgroup/cgroup.controllers")
		if err != nil {
			ctrl.Status, ctrl.Detail = Fail, err.Error()
		} else {
			have := strings.Fields(avail)
			ctrl.Status, ctrl.Detail = OK, "available: "+strings.Join(have, " ")
			if m := missing(have, wantControllers); len(m) > 0 {
				ctrl.Status = Warn
				ctrl.Hint = "enable the " + strings.Join(m, ", ") + " controller(s) in the kernel; limits on them cannot be enforced"
			}
		}
		sub, err := readTrim("/sys/fs/cgroup/cgroup.subtree_control")
		if err != nil {
			deleg.Status, deleg.Detail = Fail, err.Error()
		} else {
			have := strings.Fields(sub)
			deleg.Status, deleg.Detail = OK, "root cgroup.subtree_control: "+strings.Join(have, " ")
			if len(have) == 0 {
				deleg.Detail = "root cgroup.subtree_control is empty"
			}
			if m := missing(have, wantControllers); len(m) > 0 {
				deleg.Status = Warn
				deleg.Hint = "child cgroups cannot use " + strings.Join(m, ", ") + ": echo +" + strings.Join(m, " +") + " > /sys/fs/cgroup/cgroup.subtree_control"
			}
		}
		return []Check{mode, ctrl, deleg}
	}

	data, err := os.ReadFile("/proc/cgroups")
	if err != nil {
		ctrl.Status, ctrl.Detail = Fail, err.Error()
	} else {
		have := parseProcCgroups(string(data))
		ctrl.Status, ctrl.Detail = OK, "v1 enabled: "+strings.Join(have, " ")
		if m := missing(have, wantControllers); len(m) > 0 {
			ctrl.Status = Warn
			ctrl.Hint = "enable the " + strings.Join(m, ", ") + " controller(s); limits on them cannot be enforced"
		}
	}
	deleg.Status = OK
	deleg.Detail = fmt.Sprintf("not applicable on %s: each v1 controller is its own hierarchy", strings.Fields(h.cgroup.String())[0])
	return []Check{mode, ctrl, deleg}
}

func (h *host) cloneIntoCgroupCheck() Check {
	c := Check{Name: "CLONE_INTO_CGROUP"}
	switch {
	case h.versionErr != nil:
		c.Status, c.Detail = Warn, "unknown kernel version"
	case !h.version.atLeast(5, 7):
		c.Status, c.Detail = Warn, "kernel "+h.version.String()+" is older than 5.7"
		c.Hint = "the init joins its cgroup by a cgroup.procs write instead, which is slower"
	case h.cgroup != cgroupV2:
		c.Status, c.Detail = Warn, "kernel has it, but cgroup controllers are not on v2"
		c.Hint = "the init joins its v1 cgroups by cgroup.procs writes (slower); cgroup v2 lets it be born in its cgroup"
	default:
		c.Status, c.Detail = OK, "kernel >= 5.7 with cgroup v2: the init is born in its cgroup"
	}
	return c
}
