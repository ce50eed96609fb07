package systemd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
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
// freezer, net_cls, ...) are made by Create under the same path. It makes
// nothing: the unit is started by StartIn, around the init's spawn.
func New(h *host.Layout, cgroupsPath, id string) (*Manager, error) {
	if !Available() {
		return nil, errors.New("--systemd-cgroup: systemd is not running on this host (no /run/systemd/system)")
	}
	u, err := ParsePath(cgroupsPath, id, os.Geteuid() != 0)
	if err != nil {
		return nil, err
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
	return &Manager{Manager: fs, unit: u, description: "berth container " + id, host: h}, nil
}

// Load returns the manager of an existing container's unit over the fs
// driver Load made of its saved paths.
func Load(unit string, fs cgroups.Manager) (*Manager, error) {
	if unit == "" || strings.ContainsAny(unit, "/\x00\n") || !(strings.HasSuffix(unit, ".scope") || strings.HasSuffix(unit, ".slice")) {
		return nil, fmt.Errorf("load cgroup: systemd unit %q is not a scope or slice name", unit)
	}
	return &Manager{Manager: fs, unit: Unit{Name: unit}, loaded: true}, nil
}

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
	b, err := connect(ctx)
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
	ctx := context.Background()
	b, err := connect(ctx)
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
	b, err := connect(ctx)
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

// OwnDirs is berth's own cgroup directory in each hierarchy of h, from
// own (host.OwnCgroups): the cgroup2 one on a v2 host; on a v1 or hybrid
// host one per v1 hierarchy and the hybrid cgroup2 mount's, since a
// scope's start moves berth in each hierarchy systemd manages.
func OwnDirs(h *host.Layout, own map[string]string) []string {
	var dirs []string
	add := func(mountpoint, root, p string, ok bool) {
		if ok && mountpoint != "" {
			dirs = append(dirs, strings.TrimSuffix(mountpoint+host.InMount(p, root), "/"))
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
	b, err := connect(ctx)
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
