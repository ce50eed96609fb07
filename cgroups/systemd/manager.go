package systemd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"berth/cgroups"
	"berth/cgroups/devices"
	"berth/cgroups/fs1"
	"berth/cgroups/fs2"
	"berth/cgroups/host"
)

// Manager is a container's cgroup as a systemd unit. The embedded fs
// driver works on the unit's cgroup for everything systemd is not asked
// about (see the package documentation).
type Manager struct {
	cgroups.Manager
	unit        Unit
	description string
	// loaded: the manager of an existing container's unit (Load), which
	// StartIn only joins (exec).
	loaded bool
	// host is the layout New found, where berth finds its own cgroups
	// again after the scope's start moved it (nil for a loaded manager).
	host *host.Layout
	// user: the unit is the caller's own systemd manager's (rootless),
	// reached over its session bus, not the system's.
	user bool
	// skipDevices: no device properties or program (SkipDevices).
	skipDevices bool
}

// Available reports whether systemd runs this host (sd_booted's test:
// /run/systemd/system exists only while systemd is PID 1).
func Available() bool {
	fi, err := os.Lstat("/run/systemd/system")
	return err == nil && fi.IsDir()
}

// New returns the manager of a new container's unit on a host laid out as
// h (package manager chooses this driver). On cgroup v2 the fs driver
// works on the unit's cgroup; on a v1 or hybrid host on the unit's path
// in every v1 hierarchy (and the hybrid cgroup2 mount): the directories
// of the controllers systemd manages are the scope's, the others (cpuset,
// freezer, net_cls, ...) are made by Create under the same path. user
// makes it a unit of the caller's own systemd manager (a rootless
// caller): its slices and scopes live under that manager's cgroup
// (user@UID.service, which systemd delegates to the user), which New asks
// it for over the session bus; that is cgroup v2 only. It makes nothing:
// the unit is started by StartIn, around the init's spawn.
func New(h *host.Layout, cgroupsPath, id string, user bool) (*Manager, error) {
	if !Available() {
		return nil, errors.New("--systemd-cgroup: systemd is not running on this host (no /run/systemd/system)")
	}
	if err := userOnV2(h, user); err != nil {
		return nil, err
	}
	u, err := ParsePath(cgroupsPath, id, user)
	if err != nil {
		return nil, err
	}
	if user {
		ctx := context.Background()
		b, err := connect(ctx, true)
		if err != nil {
			return nil, err
		}
		root, err := b.controlGroup()
		b.close()
		if err != nil {
			return nil, err
		}
		u.Path = UnderManager(root, u.Path)
	}
	var fs cgroups.Manager
	if h.Unified {
		fs, err = fs2.New(h.V2Mount, h.V2Root, cgroups.Config{Path: u.Path}, nil)
	} else {
		fs, err = fs1.New(h, cgroups.Config{Path: u.Path}, nil)
	}
	if err != nil {
		return nil, err
	}
	return &Manager{Manager: fs, unit: u, description: "berth container " + id, host: h, user: user}, nil
}

// userOnV2 refuses a user's own manager (user) on a cgroup v1 or hybrid
// host: systemd delegates no v1 hierarchy to a user manager, so the unit
// could hold the container but not limit it.
func userOnV2(h *host.Layout, user bool) error {
	if !user || h.Unified {
		return nil
	}
	return fmt.Errorf("--systemd-cgroup as an unprivileged user: this host's cgroups are %s, and systemd delegates no cgroup v1 hierarchy to a user's own manager; "+
		"the rootless systemd driver needs a cgroup v2 host (systemd.unified_cgroup_hierarchy=1), or run without --systemd-cgroup", h.Mode())
}

// UnderManager is the cgroup of a unit at path (from its manager's root,
// as ParsePath gives it) of a manager whose own cgroup is root.
func UnderManager(root, path string) string {
	if root == "" || root == "/" {
		return path
	}
	if path == "/" {
		return root
	}
	return root + path
}

// SkipDevices leaves the device rules alone: neither DevicePolicy and
// DeviceAllow nor a device program, which only the host's CAP_SYS_ADMIN
// may attach (a rootless caller's container has host nodes bound anyway).
func (m *Manager) SkipDevices() {
	m.skipDevices = true
	if s, ok := m.Manager.(interface{ SkipDevices() }); ok {
		s.SkipDevices()
	}
}

// Load returns the manager of an existing container's unit over the fs
// driver Load made of its saved paths; user: the unit is the caller's own
// manager's (New).
func Load(unit string, fs cgroups.Manager, user bool) (*Manager, error) {
	if unit == "" || strings.ContainsAny(unit, "/\x00\n") || !(strings.HasSuffix(unit, ".scope") || strings.HasSuffix(unit, ".slice")) {
		return nil, fmt.Errorf("load cgroup: systemd unit %q is not a scope or slice name", unit)
	}
	return &Manager{Manager: fs, unit: Unit{Name: unit}, loaded: true, user: user}, nil
}

// User reports a unit of the caller's own systemd manager.
func (m *Manager) User() bool { return m.user }

// UnitName is the container's unit.
func (m *Manager) UnitName() string { return m.unit.Name }

// Create makes nothing: a scope must hold a process when it starts, so it
// is started by StartIn. (The cgroup's path is known: Paths works.)
func (m *Manager) Create() error { return nil }

// Apply puts pid into the unit's cgroup; the unit must be running.
func (m *Manager) Apply(pid int) error { return m.Manager.Apply(pid) }

// StartIn starts the unit and runs start, which forks the container's
// init, so that the init is born in the unit's cgroup. A scope starts with
// berth itself as its process (PIDs=[getpid]); berth goes back to its own
// cgroup once start has returned, whether the init was made or not. For a
// loaded manager (exec) the unit runs already: start is born in its
// cgroup. A start refused because the unit exists is ErrUnitExists.
func (m *Manager) StartIn(start func(cgroupFD int) error) (err error) {
	if m.loaded {
		return m.withCgroupFD(start)
	}
	ctx := context.Background()
	b, err := connect(ctx, m.user)
	if err != nil {
		return err
	}
	defer b.close()
	var back []string
	if !m.unit.IsSlice() {
		own, err := host.OwnCgroups()
		if err != nil {
			return err
		}
		if back = OwnDirs(m.host, own); len(back) == 0 {
			return errors.New("read own cgroup: /proc/self/cgroup names none of the host's hierarchies")
		}
		if dir := TrackingDir(m.host, own); dir != "" {
			if err := checkNotAloneInScope(dir, os.Getpid()); err != nil {
				return err
			}
		}
	}
	props := StartProperties(m.unit, m.description, os.Getpid())
	if !m.Manager.Unified() {
		props = StartPropertiesV1(m.unit, m.description, os.Getpid())
	}
	if err := b.start(ctx, m.unit.Name, props); err != nil {
		if !m.unit.IsSlice() {
			// A start job that failed may still have moved berth.
			_ = moveSelf(back)
		}
		return err
	}
	if !m.unit.IsSlice() {
		defer func() {
			if merr := moveSelf(back); merr != nil && err == nil {
				err = merr
			}
		}()
	}
	if !m.Manager.Unified() {
		// systemd made the unit's directories in the hierarchies it
		// manages; the others are made the fs way, and the init joins
		// them all itself (JoinFiles), as with the fs driver.
		if err := m.Manager.Create(); err != nil {
			return fmt.Errorf("systemd unit %s: %w", m.unit.Name, err)
		}
	}
	return m.withCgroupFD(start)
}

// withCgroupFD runs start with an fd of the unit's cgroup2 directory, for
// clone3 CLONE_INTO_CGROUP, or -1 on a v1 host without a cgroup2 mount.
func (m *Manager) withCgroupFD(start func(cgroupFD int) error) error {
	dir := m.Paths()[cgroups.UnifiedKey]
	if dir == "" {
		return start(-1)
	}
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("systemd unit %s: open its cgroup %s: %w", m.unit.Name, dir, err)
	}
	defer unix.Close(fd)
	return start(fd)
}

// Set gives the unit the properties systemd has for r, then writes all of
// r to the cgroup files as the fs driver does.
//
// On cgroup v1 systemd applies a device list by writing "a" to
// devices.deny and then each allowed device: in between, the container's
// processes cannot open even /dev/null. So the container is frozen while
// systemd sets the properties (unless it is paused already), as runc does.
func (m *Manager) Set(r *specs.LinuxResources) (err error) {
	v1 := !m.Manager.Unified()
	var props []Prop
	if v1 {
		props, err = ResourcePropertiesV1(r, procDevices())
	} else {
		props, err = ResourceProperties(r, procDevices())
	}
	if err != nil {
		return err
	}
	if m.skipDevices {
		props = withoutDevices(props)
	}
	ctx := context.Background()
	b, err := connect(ctx, m.user)
	if err != nil {
		return err
	}
	defer b.close()
	if v1 {
		if st, ferr := m.Manager.FreezerState(); ferr == nil && st == cgroups.Thawed {
			if err := m.Manager.Freeze(); err != nil {
				return fmt.Errorf("systemd unit %s: freeze while systemd sets its device list: %w", m.unit.Name, err)
			}
			defer func() {
				if terr := m.Manager.Thaw(); terr != nil && err == nil {
					err = fmt.Errorf("systemd unit %s: thaw after setting its properties: %w", m.unit.Name, terr)
				}
			}()
		}
	}
	if err := b.set(ctx, m.unit.Name, props); err != nil {
		return err
	}
	if v1 {
		if err := b.settle(ctx, m.unit.Name); err != nil {
			return err
		}
		if err := m.rejoinV1(); err != nil {
			return err
		}
	}
	return m.Manager.Set(r)
}

// Destroy stops the unit (systemd kills what is left in it and removes its
// cgroup), resets its failed state, and removes whatever is left of the
// cgroup. A unit systemd no longer has (a scope that emptied is stopped
// and collected by systemd) is no error. Without the bus the cgroup is
// still removed, so that delete can always clean up: systemd collects an
// empty scope by itself.
func (m *Manager) Destroy() error {
	ctx := context.Background()
	b, err := connect(ctx, m.user)
	if err != nil {
		slog.Warn("systemd unit not stopped: its cgroup is removed, systemd collects the empty unit", "unit", m.unit.Name, "err", err)
		return m.Manager.Destroy()
	}
	defer b.close()
	if err := b.stop(ctx, m.unit.Name); err != nil {
		return err
	}
	if err := b.resetFailed(ctx, m.unit.Name); err != nil {
		return err
	}
	return m.Manager.Destroy()
}

func withoutDevices(props []Prop) []Prop {
	var out []Prop
	for _, p := range props {
		if p.Name != "DevicePolicy" && p.Name != "DeviceAllow" {
			out = append(out, p)
		}
	}
	return out
}

// OwnDirs is berth's own cgroup directory in each hierarchy of h, from
// own (host.OwnCgroups): the cgroup2 one on a v2 host; on a v1 or hybrid
// host one per v1 hierarchy and the hybrid cgroup2 mount's, since a
// scope's start moves berth in each hierarchy systemd manages.
func OwnDirs(h *host.Layout, own map[string]string) []string {
	var dirs []string
	add := func(mountpoint, root, p string, ok bool) {
		if ok && mountpoint != "" {
			dirs = append(dirs, ownDir(mountpoint, root, p))
		}
	}
	for _, hy := range h.V1 {
		p, ok := own[hy.Controllers[0]]
		add(hy.Mountpoint, hy.Root, p, ok)
	}
	p, ok := own[""]
	add(h.V2Mount, h.V2Root, p, ok)
	return dirs
}

func ownDir(mountpoint, root, p string) string {
	return strings.TrimSuffix(mountpoint+host.InMount(p, root), "/")
}

// TrackingDir is berth's own directory, from own (host.OwnCgroups), in
// the hierarchy where systemd keeps its units' processes: on a v1 or
// hybrid host the name=systemd hierarchy's (which systemd keeps in both
// modes; a hybrid host's cgroup2 one holds the same path), else the
// cgroup2 one. "" when h has neither.
func TrackingDir(h *host.Layout, own map[string]string) string {
	if p, ok := own["name=systemd"]; ok {
		for _, hy := range h.V1 {
			if slices.Contains(hy.Controllers, "name=systemd") {
				return ownDir(hy.Mountpoint, hy.Root, p)
			}
		}
	}
	if p, ok := own[""]; ok && h.V2Mount != "" {
		return ownDir(h.V2Mount, h.V2Root, p)
	}
	return ""
}

// checkNotAloneInScope refuses to start a scope when berth is the only
// process of its own cgroup dir and that is a systemd scope (systemd-run
// --scope berth ...): moving berth into the container's scope would empty
// it, and systemd stops an empty scope, killing berth as it comes back.
func checkNotAloneInScope(dir string, pid int) error {
	if !strings.HasSuffix(dir, ".scope") {
		return nil
	}
	b, err := os.ReadFile(dir + "/cgroup.procs")
	if err != nil {
		return fmt.Errorf("read own cgroup %s: %w", dir, err)
	}
	if strings.TrimSpace(string(b)) != strconv.Itoa(pid) {
		return nil
	}
	return fmt.Errorf("--systemd-cgroup: berth is the only process of its cgroup %s, a systemd scope, which starting the container's scope would empty "+
		"and systemd then stop, berth with it: run berth from a process that stays in the scope (systemd-run --scope sh -c 'berth ...')", dir)
}

// moveSelf moves berth (every thread) back into each cgroup directory of
// dirs; every one is tried, the first failure is returned.
func moveSelf(dirs []string) error {
	var first error
	for _, dir := range dirs {
		if err := os.WriteFile(dir+"/cgroup.procs", []byte(strconv.Itoa(os.Getpid())), 0); err != nil {
			if first == nil {
				first = fmt.Errorf("move berth back to its cgroup %s: %w", dir, err)
			}
			continue
		}
		slog.Debug("systemd: berth back in its cgroup", "dir", dir)
	}
	return first
}

// procDevices is the major names of /proc/devices, for DeviceAllow.
func procDevices() func(devices.Type, int64) (string, bool) {
	b, err := os.ReadFile("/proc/devices")
	if err != nil {
		slog.Debug("read /proc/devices", "err", err)
	}
	return ParseProcDevices(string(b))
}

// Version asks systemd over the system bus for its version ("252.39-1~deb12u2").
func Version(ctx context.Context) (string, error) {
	b, err := connect(ctx, false)
	if err != nil {
		return "", err
	}
	defer b.close()
	v, err := b.version(ctx)
	if err != nil {
		return "", fmt.Errorf("systemd over D-Bus: Version: %w", err)
	}
	return v, nil
}
