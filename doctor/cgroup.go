package doctor

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	cghost "berth/cgroups/host"
	"berth/internal/mountinfo"
)

// cgroupBase is where every runtime looks for cgroups.
const cgroupBase = "/sys/fs/cgroup"

type cgroupMode int

const (
	cgroupNone cgroupMode = iota
	cgroupV1
	cgroupHybrid
	cgroupV2
)

func (m cgroupMode) String() string {
	return [...]string{"none", "v1 (legacy)", "hybrid", "v2 (unified)"}[m]
}

// v1Hierarchy is one cgroup v1 mount the caller can reach.
type v1Hierarchy struct {
	point       string
	controllers []string // "memory", "cpu", or "name=systemd"
}

// cgroupInfo is the cgroup layout as this process sees it: what is
// mounted under /sys/fs/cgroup and really reachable there (a mount hidden
// under another counts for nothing).
type cgroupInfo struct {
	mode     cgroupMode
	baseType string // what /sys/fs/cgroup is when it is no cgroup2
	// v2Mount is the reachable cgroup2 mount (/sys/fs/cgroup, or
	// /sys/fs/cgroup/unified on a hybrid host), v2Root the cgroup it shows.
	v2Mount, v2Root string
	v1              []v1Hierarchy
	// own is this process's cgroup v2 path ("0::" in /proc/self/cgroup).
	own string
}

// probeCgroups asks the kernel (statfs) what each cgroup mount point really
// is, with mountinfo only naming the candidates and their controllers.
func probeCgroups(base string, mounts []mountinfo.Mount) cgroupInfo {
	var ci cgroupInfo
	if own, err := cghost.OwnCgroups(); err == nil {
		ci.own = own[""]
	}
	l, magic, err := cghost.Reachable(base, mounts)
	if err != nil {
		ci.baseType = "statfs: " + errnoText(err)
		return ci
	}
	ci.v2Mount, ci.v2Root = l.V2Mount, l.V2Root
	for _, hy := range l.V1 {
		ci.v1 = append(ci.v1, v1Hierarchy{point: hy.Mountpoint, controllers: hy.Controllers})
	}
	switch {
	case l.Unified:
		ci.mode = cgroupV2
		return ci
	case len(ci.v1) > 0 && ci.v2Mount != "":
		ci.mode = cgroupHybrid
	case len(ci.v1) > 0:
		ci.mode = cgroupV1
	}
	ci.baseType = cghost.FSTypeName(magic)
	return ci
}

// controllerUse says what a missing controller costs.
var controllerUse = map[string]string{
	"cpu":     "cpu shares, quota and period",
	"cpuset":  "cpuset cpus and mems",
	"memory":  "memory limits and OOM events",
	"pids":    "the pids limit",
	"devices": "device rules (containers could open any device node they can create)",
	"freezer": "pause and resume",
}

// wantV2 and wantV1 are the controllers berth's resource support leans on;
// v2 has a freezer of its own and filters devices with eBPF.
var (
	wantV2 = []string{"cpu", "cpuset", "memory", "pids"}
	wantV1 = []string{"cpu", "cpuset", "memory", "pids", "devices", "freezer"}
)

func missing(have []string, want []string) []string {
	var out []string
	for _, w := range want {
		if !slices.Contains(have, w) {
			out = append(out, w)
		}
	}
	return out
}

func costOf(ctrls []string) string {
	var out []string
	for _, c := range ctrls {
		out = append(out, c+": "+controllerUse[c])
	}
	return strings.Join(out, "; ")
}

func (h *host) cgroupChecks() []Check {
	ci := h.cg
	mode := Check{Name: "cgroup"}
	ctrl := Check{Name: "cgroup controllers"}
	deleg := Check{Name: "cgroup delegation"}
	switch ci.mode {
	case cgroupNone:
		mode.Status = Fail
		mode.Detail = fmt.Sprintf("nothing usable at %s (%s, no cgroup hierarchy reachable under it)", cgroupBase, ci.baseType)
		mode.Hint = "mount cgroup2 there (mount -t cgroup2 cgroup2 " + cgroupBase + "); without cgroups no resource limit can be applied"
		ctrl.Status, ctrl.Detail = Fail, "no cgroup hierarchy at "+cgroupBase
		ctrl.Hint = mode.Hint
		deleg.Status, deleg.Detail = Fail, "no cgroup hierarchy at "+cgroupBase
		deleg.Hint = mode.Hint
		return []Check{mode, ctrl, deleg}
	case cgroupV2:
		mode.Status = OK
		mode.Detail = fmt.Sprintf("v2 (unified) at %s, berth's cgroup %s", cgroupBase, ci.own)
		return append([]Check{mode}, h.cgroupV2Checks(ctrl, deleg)...)
	}

	var names []string
	for _, hi := range ci.v1 {
		names = append(names, filepath.Base(hi.point))
	}
	mode.Status = Warn
	mode.Detail = fmt.Sprintf("%s: %d v1 hierarchies (%s)", ci.mode, len(ci.v1), strings.Join(names, " "))
	if ci.v2Mount != "" {
		mode.Detail += ", cgroup2 at " + ci.v2Mount
	}
	mode.Hint = "boot with systemd.unified_cgroup_hierarchy=1 (or cgroup_no_v1=all) for cgroup v2: CLONE_INTO_CGROUP, eBPF device rules and delegation need it"

	var mounted []string
	for _, hi := range ci.v1 {
		mounted = append(mounted, hi.controllers...)
	}
	enabled := []string{}
	if data, err := os.ReadFile("/proc/cgroups"); err == nil {
		enabled = cghost.EnabledControllers(string(data))
	}
	usable := slices.DeleteFunc(slices.Clone(mounted), func(c string) bool { return !slices.Contains(enabled, c) })
	ctrl.Status, ctrl.Detail = OK, "mounted: "+strings.Join(usable, " ")
	if idle := missing(mounted, enabled); len(idle) > 0 {
		ctrl.Detail += "; enabled but not mounted: " + strings.Join(idle, " ")
	}
	if m := missing(usable, wantV1); len(m) > 0 {
		ctrl.Status = Warn
		ctrl.Detail += fmt.Sprintf("; no reachable hierarchy under %s for %s", cgroupBase, strings.Join(m, ", "))
		ctrl.Hint = "mount them (mount -t cgroup -o NAME cgroup " + cgroupBase + "/NAME); without them berth cannot enforce " + costOf(m)
	}
	deleg.Status = OK
	deleg.Detail = fmt.Sprintf("not applicable on %s: v1 controllers are not delegated", strings.Fields(ci.mode.String())[0])
	return []Check{mode, ctrl, deleg}
}

func (h *host) cgroupV2Checks(ctrl, deleg Check) []Check {
	ci := h.cg
	avail, err := readTrim(filepath.Join(ci.v2Mount, "cgroup.controllers"))
	if err != nil {
		ctrl.Status, ctrl.Detail = Fail, "read "+ci.v2Mount+"/cgroup.controllers: "+errnoText(err)
		ctrl.Hint = "is " + ci.v2Mount + " a cgroup2 mount?"
	} else {
		have := strings.Fields(avail)
		ctrl.Status, ctrl.Detail = OK, fmt.Sprintf("available at %s (cgroup %s): %s", ci.v2Mount, ci.v2Root, strings.Join(have, " "))
		if m := missing(have, wantV2); len(m) > 0 {
			ctrl.Status = Warn
			ctrl.Detail += "; missing: " + strings.Join(m, " ")
			ctrl.Hint = "they are not in " + ci.v2Mount + "/cgroup.controllers (bound to a v1 hierarchy, disabled, or not delegated to this cgroup namespace); berth cannot enforce " + costOf(m)
		}
	}

	// An absolute cgroupsPath lands under the root; a relative one (and
	// the default) under the parent of berth's own cgroup. Each gets only
	// the controllers its parent's cgroup.subtree_control hands down.
	deleg.Status = OK
	parents := []string{ci.v2Mount}
	own := ""
	if ci.own != "" {
		own = filepath.Join(ci.v2Mount, strings.TrimPrefix(ci.own, ci.v2Root))
		if p := filepath.Dir(own); own != ci.v2Mount && p != ci.v2Mount && strings.HasPrefix(p, ci.v2Mount+"/") {
			parents = append(parents, p)
		}
	}
	var notes, hints []string
	for i, dir := range parents {
		what := "root"
		if i > 0 {
			what = "relative cgroupsPath parent " + dir
		}
		sub, err := readTrim(filepath.Join(dir, "cgroup.subtree_control"))
		if err != nil {
			deleg.Status = Fail
			notes = append(notes, "read "+dir+"/cgroup.subtree_control: "+errnoText(err))
			hints = append(hints, "is "+dir+" a cgroup2 directory?")
			continue
		}
		have := strings.Fields(sub)
		if len(have) == 0 {
			notes = append(notes, what+" cgroup.subtree_control is empty: child cgroups get no controllers")
		} else {
			notes = append(notes, what+" cgroup.subtree_control: "+strings.Join(have, " "))
		}
		if m := missing(have, wantV2); len(m) > 0 {
			if deleg.Status == OK {
				deleg.Status = Warn
			}
			hints = append(hints, "cgroups under "+dir+" cannot use "+strings.Join(m, ", ")+": echo +"+strings.Join(m, " +")+" > "+dir+"/cgroup.subtree_control")
		}
	}
	if os.Geteuid() != 0 && own != "" {
		// A rootless berth can only make cgroups under one it owns.
		if err := unix.Access(filepath.Join(own, "cgroup.procs"), unix.W_OK); err != nil {
			if deleg.Status == OK {
				deleg.Status = Warn
			}
			notes = append(notes, fmt.Sprintf("%s is not delegated to uid %d (%s)", own, os.Geteuid(), errnoText(err)))
			hints = append(hints, "rootless containers get no cgroup: run berth in a delegated cgroup (systemd-run --user --scope -p Delegate=yes)")
		} else {
			notes = append(notes, fmt.Sprintf("%s is delegated to uid %d", own, os.Geteuid()))
		}
	}
	deleg.Detail = strings.Join(notes, "; ")
	deleg.Hint = strings.Join(hints, "; ")
	return []Check{ctrl, deleg}
}

// cloneIntoCgroupCheck starts a probe child with clone3(CLONE_INTO_CGROUP)
// into berth's own cgroup v2 cgroup: born where its parent already is, it
// changes nothing.
func (h *host) cloneIntoCgroupCheck() Check {
	c := Check{Name: "CLONE_INTO_CGROUP"}
	ci := h.cg
	if ci.v2Mount == "" {
		c.Status = Warn
		c.Detail = fmt.Sprintf("not probed: no cgroup2 hierarchy reachable under %s (%s)", cgroupBase, ci.mode)
		c.Hint = "the init joins its cgroups by cgroup.procs writes instead (slower); cgroup v2 lets it be born in its cgroup"
		return c
	}
	dir := ci.v2Mount
	if ci.own != "" {
		dir = filepath.Join(ci.v2Mount, strings.TrimPrefix(ci.own, ci.v2Root))
	}
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		c.Status, c.Detail = Warn, "not probed: open "+dir+": "+errnoText(err)
		c.Hint = "berth's own cgroup is not reachable: the init would join its cgroup by a cgroup.procs write"
		return c
	}
	defer unix.Close(fd)
	err = spawnProbe(&syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: fd}, nil)
	switch {
	case err != nil && os.Geteuid() != 0 && (errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM)):
		c.Status, c.Detail = Warn, "clone3(CLONE_INTO_CGROUP) into "+dir+": "+h.blocked(err)
		c.Hint = "berth's cgroup is not delegated to this user: rootless containers get no cgroup of their own (see rootless: cgroups)"
	case err != nil:
		c.Status, c.Detail = Warn, "clone3(CLONE_INTO_CGROUP) into "+dir+": "+h.blocked(err)
		c.Hint = "kernel 5.7 or later; without it the init joins its cgroup by a cgroup.procs write (slower)"
	case ci.mode != cgroupV2:
		c.Status = Warn
		c.Detail = "clone3(CLONE_INTO_CGROUP) works on the cgroup2 hierarchy at " + ci.v2Mount + ", but the controllers are on v1"
		c.Hint = "on v1 the init is forked by a thread moved into its cgroups (a \"0\" written to tasks); cgroup v2 lets it be born there by clone3 alone"
	default:
		c.Status, c.Detail = OK, "works: a probe child was born in "+dir+" by clone3(CLONE_INTO_CGROUP)"
	}
	return c
}
