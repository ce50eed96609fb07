package libcontainer

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"berth/cgroups"
	"berth/internal/subid"
	"berth/nsenter"
)

// DefaultRoot is the state directory when --root is not given: /run/berth
// for root; for anyone else a directory of their own, $XDG_RUNTIME_DIR/berth
// (or /run/user/UID/berth, where a login manager makes XDG_RUNTIME_DIR), as
// runc keeps a rootless caller's state out of the shared /run/runc. Root
// of a user namespace (a rootless engine's, as podman runs its runtime)
// counts as that engine's user unless $USER says root, as runc decides.
func DefaultRoot(euid int, inUserNS bool, xdgRuntimeDir, userEnv string, userSet bool) string {
	xdg := xdgRuntimeDir != "" && filepath.IsAbs(xdgRuntimeDir)
	if euid == 0 && (!inUserNS || !xdg || userSet && userEnv == "root") {
		return "/run/berth"
	}
	if xdg {
		return filepath.Join(xdgRuntimeDir, "berth")
	}
	return "/run/user/" + strconv.Itoa(euid) + "/berth"
}

// DefaultRootHere is DefaultRoot for this process.
func DefaultRootHere() string {
	u, set := os.LookupEnv("USER")
	return DefaultRoot(os.Geteuid(), os.Geteuid() == 0 && inUserNS(), os.Getenv("XDG_RUNTIME_DIR"), u, set)
}

// Rootless reports whether berth runs without root's powers on the host:
// the container's user namespace is then made by an unprivileged user,
// which the kernel limits (id maps, devices, sysfs, locked mount flags)
// and which may own no cgroup.
// It is decided once per process; --rootless true|false overrides it
// (SetRootless).
func Rootless() bool {
	switch rootlessMode {
	case "true":
		return true
	case "false":
		return false
	}
	return rootless()
}

// rootlessMode is the --rootless flag: "auto" (or "") detects.
var rootlessMode string

// SetRootless takes runc's --rootless: true or false force the rootless
// handling of cgroups and networking on or off (true: a cgroup berth may
// not create is done without, as for an unprivileged caller); auto, the
// default, detects it.
func SetRootless(mode string) error {
	switch mode {
	case "", "auto", "true", "false":
		rootlessMode = mode
		return nil
	}
	return fmt.Errorf("--rootless %q: want true, false or auto", mode)
}

var rootless = sync.OnceValue(func() bool { return os.Geteuid() != 0 || inUserNS() })

// delegateHint says how an unprivileged user gets a cgroup of its own.
const delegateHint = "run berth in a cgroup delegated to you (cgroup v2: systemd-run --user --scope -p Delegate=yes berth ...; " +
	"cgroup v1: root makes a cgroup in each hierarchy, chowns it to you, and you start berth in it)"

// rootlessCgroup decides the cgroup of a container created without root
// once making mgr's cgroup failed with createErr, by runc's rules: with
// linux.cgroupsPath empty and no limits asked for, a permission error
// means the container runs without a cgroup of its own (it stays in the
// caller's); a limit, or a cgroupsPath given, needs that cgroup and fails
// saying how to delegate one. Any other error stays an error.
func rootlessCgroup(l *specs.Linux, createErr error) (cgroups.Manager, error) {
	if !errors.Is(createErr, unix.EACCES) && !errors.Is(createErr, unix.EPERM) && !errors.Is(createErr, unix.EROFS) {
		return nil, fmt.Errorf("create cgroup (linux.cgroupsPath %q): %w", l.CgroupsPath, createErr)
	}
	if l.CgroupsPath != "" {
		return nil, fmt.Errorf("linux.cgroupsPath %q: a rootless container cannot create it (%v): %s, or leave linux.cgroupsPath empty",
			l.CgroupsPath, createErr, delegateHint)
	}
	if f := limitField(l.Resources); f != "" {
		return nil, fmt.Errorf("linux.resources.%s: a rootless container without a cgroup cannot have limits (%v): %s, or drop the limits",
			f, createErr, delegateHint)
	}
	return noCgroup{}, nil
}

// limitField names the first linux.resources field that needs a cgroup,
// "" when there is none (the device list a container without a cgroup
// has from its /dev anyway).
func limitField(r *specs.LinuxResources) string {
	if r == nil {
		return ""
	}
	switch {
	case r.Memory != nil:
		return "memory"
	case r.CPU != nil:
		return "cpu"
	case r.Pids != nil:
		return "pids"
	case r.BlockIO != nil:
		return "blockIO"
	case len(r.HugepageLimits) > 0:
		return "hugepageLimits"
	case r.Network != nil:
		return "network"
	case len(r.Rdma) > 0:
		return "rdma"
	case len(r.Unified) > 0:
		return "unified"
	}
	return ""
}

// noCgroup is the cgroup of a rootless container that has none: it is
// made in the caller's cgroup and its state records no cgroup paths, so
// every later command finds no cgroup (pause, update and stats refuse).
type noCgroup struct{}

var errNoCgroup = errors.New("the container has no cgroup (rootless, no cgroup delegated)")

func (noCgroup) Create() error                               { return nil }
func (noCgroup) Apply(int) error                             { return nil }
func (noCgroup) Freeze() error                               { return errNoCgroup }
func (noCgroup) Thaw() error                                 { return errNoCgroup }
func (noCgroup) Signal(unix.Signal) error                    { return errNoCgroup }
func (noCgroup) Kill() error                                 { return nil }
func (noCgroup) Destroy() error                              { return nil }
func (noCgroup) Exists() bool                                { return false }
func (noCgroup) Unified() bool                               { return false }
func (noCgroup) Path() string                                { return "" }
func (noCgroup) Paths() map[string]string                    { return nil }
func (noCgroup) Pids() ([]int, error)                        { return nil, errNoCgroup }
func (noCgroup) Stats() (*cgroups.Stats, error)              { return nil, errNoCgroup }
func (noCgroup) FreezerState() (cgroups.FreezerState, error) { return "", errNoCgroup }
func (noCgroup) JoinFiles() []string                         { return nil }
func (noCgroup) NotifyOOM() (*cgroups.OOMNotifier, error)    { return nil, errNoCgroup }

// Set accepts what a container without a cgroup can have: no limits
// (rootlessCgroup refused those before anything ran).
func (noCgroup) Set(r *specs.LinuxResources) error {
	if f := limitField(r); f != "" {
		return fmt.Errorf("linux.resources.%s: %w", f, errNoCgroup)
	}
	return nil
}

// idMaps is how the parent writes a new user namespace's id maps.
type idMaps struct {
	// uidHelper, gidHelper: through newuidmap/newgidmap (setuid helpers
	// that allow the ranges /etc/subuid and /etc/subgid give the caller),
	// because an unprivileged caller may itself map only its own id.
	uidHelper, gidHelper bool
	// denySetgroups: "deny" goes to /proc/<pid>/setgroups before an
	// unprivileged caller writes the gid map itself, which the kernel
	// requires (else a process could drop a group that denies it access);
	// the container can then never call setgroups.
	denySetgroups bool
	// unprivileged: the caller is not root, so the stub is dumpable
	// while the maps are written (see dumpable).
	unprivileged bool
}

// dumpable is the stub's BT_DUMPABLE mode for plan: an unprivileged
// caller (or its newuidmap) may open only /proc files of a process it
// owns, which a non-dumpable one's are not, so the stub is dumpable while
// the maps are written; and when it joins nothing, from then on, as runc
// leaves it: the caller's exec into the created container opens the
// init's /proc/<pid>/ns files, and no process of another security context
// shares a namespace with it.
func (p idMaps) dumpable(plan *nsPlan) uint32 {
	switch {
	case !p.unprivileged:
		return 0
	case len(plan.join) == 0:
		return nsenter.DumpableKeep
	}
	return nsenter.DumpableMaps
}

// planIDMaps decides how the maps of l are written by a caller with
// these effective ids: root writes them directly; anyone else writes a
// map of its own id alone directly and hands any other to the helper.
func planIDMaps(euid, egid int, l *specs.Linux) idMaps {
	if euid == 0 {
		return idMaps{}
	}
	ownOnly := func(m []specs.LinuxIDMapping, id int) bool {
		return len(m) == 1 && m[0].Size == 1 && int64(m[0].HostID) == int64(id)
	}
	p := idMaps{unprivileged: true}
	p.uidHelper = !ownOnly(l.UIDMappings, euid)
	p.gidHelper = !ownOnly(l.GIDMappings, egid)
	p.denySetgroups = !p.gidHelper
	return p
}

// check refuses, before anything runs, a plan this host cannot carry out
// or a process the user namespace cannot have, naming the spec field:
// lookPath finds a helper in PATH.
func (p idMaps) check(l *specs.Linux, proc *specs.Process, lookPath func(string) (string, error)) error {
	for _, h := range []struct {
		need        bool
		tool, field string
	}{{p.uidHelper, "newuidmap", "linux.uidMappings"}, {p.gidHelper, "newgidmap", "linux.gidMappings"}} {
		if !h.need {
			continue
		}
		if _, err := lookPath(h.tool); err != nil {
			return fmt.Errorf("%s: mapping more than your own id without root needs %s (package uidmap), not found in PATH", h.field, h.tool)
		}
	}
	if p.denySetgroups && proc != nil && len(proc.User.AdditionalGids) > 0 {
		return fmt.Errorf("process.user.additionalGids %v: setgroups is denied in a user namespace whose gid map an unprivileged caller writes itself; "+
			"map a gid range from /etc/subgid (newgidmap) or drop additionalGids", proc.User.AdditionalGids)
	}
	return nil
}

// write writes the maps of l for the stub pid.
func (p idMaps) write(pid int, l *specs.Linux) error {
	base := "/proc/" + strconv.Itoa(pid) + "/"
	if p.uidHelper {
		if err := runIDMapHelper("newuidmap", "linux.uidMappings", "/etc/subuid", pid, l.UIDMappings); err != nil {
			return err
		}
	} else if err := os.WriteFile(base+"uid_map", formatIDMap(l.UIDMappings), 0); err != nil {
		return fmt.Errorf("write uid_map (linux.uidMappings): %w", unwrapPathErr(err))
	}
	if p.denySetgroups {
		if err := os.WriteFile(base+"setgroups", []byte("deny"), 0); err != nil {
			return fmt.Errorf("write deny to /proc/%d/setgroups (before linux.gidMappings): %w", pid, unwrapPathErr(err))
		}
	}
	if p.gidHelper {
		return runIDMapHelper("newgidmap", "linux.gidMappings", "/etc/subgid", pid, l.GIDMappings)
	}
	if err := os.WriteFile(base+"gid_map", formatIDMap(l.GIDMappings), 0); err != nil {
		return fmt.Errorf("write gid_map (linux.gidMappings): %w", unwrapPathErr(err))
	}
	return nil
}

// helperArgs is newuidmap's (newgidmap's) command line: the pid, then
// "container host size" of every mapping.
func helperArgs(pid int, m []specs.LinuxIDMapping) []string {
	args := []string{strconv.Itoa(pid)}
	for _, e := range m {
		args = append(args, strconv.FormatUint(uint64(e.ContainerID), 10),
			strconv.FormatUint(uint64(e.HostID), 10), strconv.FormatUint(uint64(e.Size), 10))
	}
	return args
}

// runIDMapHelper runs newuidmap or newgidmap. The helper checks the ranges
// against the subordinate id file itself; when it refuses, the error
// quotes it and names what that file gives the caller.
func runIDMapHelper(tool, field, subidFile string, pid int, m []specs.LinuxIDMapping) error {
	var stderr strings.Builder
	cmd := exec.Command(tool, helperArgs(pid, m)...)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.Join(strings.Fields(stderr.String()), " ")
		if msg == "" {
			msg = err.Error()
		}
		return fmt.Errorf("%s: %s %s: %s (%s)", field, tool, strings.Join(cmd.Args[1:], " "), msg, subidRanges(subidFile))
	}
	return nil
}

// subidRanges says which ranges subidFile gives the caller, for messages.
func subidRanges(subidFile string) string {
	u, err := user.LookupId(strconv.Itoa(os.Geteuid()))
	name := strconv.Itoa(os.Geteuid())
	if err == nil {
		name = u.Username
	}
	data, err := os.ReadFile(subidFile)
	if err != nil {
		return subidFile + ": " + unwrapPathErr(err).Error()
	}
	rs := subid.Ranges(string(data), name, os.Geteuid())
	if len(rs) == 0 {
		return subidFile + " has no range for " + name
	}
	return subidFile + " gives " + name + " " + subid.Format(rs)
}

// setgroupsDenied reports whether the new user namespace of l is made
// with setgroups denied (planIDMaps, for this caller).
func setgroupsDenied(l *specs.Linux) bool {
	if l == nil {
		return false
	}
	for _, ns := range l.Namespaces {
		if ns.Type == specs.UserNamespace && ns.Path == "" {
			return planIDMaps(os.Geteuid(), os.Getegid(), l).denySetgroups
		}
	}
	return false
}

// rootlessNetwork refuses, for a rootless caller, what needs the host's
// network privileges: the veth pair of the berth.net.* annotations (and
// the bridge, addresses and routes on the host behind it) and moving host
// interfaces (linux.netDevices).
func rootlessNetwork(rootless, veth, netDevices bool) error {
	if !rootless {
		return nil
	}
	if veth {
		return errors.New("berth.net.* annotations (--net-* options): built-in veth networking needs root on the host; " +
			"a rootless container gets its network from the engine (slirp4netns, pasta) or shares the caller's")
	}
	if netDevices {
		return errors.New("linux.netDevices: moving host interfaces into the container needs root on the host")
	}
	return nil
}

// inUserNS reports whether berth itself runs in a user namespace other
// than the host's (a rootless engine's, as podman's): root there has no
// power over the host's devices, cgroups or network either. Read once.
var inUserNS = sync.OnceValue(func() bool {
	data, err := os.ReadFile("/proc/self/uid_map")
	if err != nil {
		return false
	}
	f := strings.Fields(string(data))
	return !(len(f) == 3 && f[0] == "0" && f[1] == "0" && f[2] == "4294967295")
})

// pidNamespaceMembers lists the host pids of the processes in the
// container's own pid namespace (ok false when it has none: it shares
// one, or the init is gone). Processes whose namespace the caller may not
// read are not the container's: the container runs as the caller.
func pidNamespaceMembers(st *State) ([]int, bool) {
	own := false
	for _, ns := range st.view().namespaces() {
		own = own || ns.Type == specs.PIDNamespace && ns.Path == ""
	}
	if !own || !alive(st.Pid, st.PidStart) {
		return nil, false
	}
	want, err := os.Readlink("/proc/" + strconv.Itoa(st.Pid) + "/ns/pid")
	if err != nil || !alive(st.Pid, st.PidStart) {
		return nil, false
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, false
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ns, err := os.Readlink("/proc/" + e.Name() + "/ns/pid"); err == nil && ns == want {
			pids = append(pids, pid)
		}
	}
	return pids, true
}

// rootlessDevices makes a rootless caller's cgroup manager leave the
// device rules alone (the kernel lets only the host's CAP_SYS_ADMIN set
// them); the container's /dev holds only nodes bound from the host.
func rootlessDevices(m cgroups.Manager) {
	if s, ok := m.(interface{ SkipDevices() }); ok && Rootless() {
		s.SkipDevices()
	}
}
