// Package fs2 is the cgroup v2 driver: one directory in the unified
// hierarchy, written through cgroupfs, with an eBPF device filter.
package fs2

import (
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"berth/cgroups"
	"berth/cgroups/host"
	"berth/cgroups/internal/cgfs"
)

// Manager drives one cgroup of the unified hierarchy.
type Manager struct {
	mount string // the cgroup2 mountpoint
	path  string // the cgroup path below it ("/berth/id")
	dir   string // mount + path
	// controllers Create enables in the ancestors; createControllers
	// unless a test must not write to cgroups it did not create.
	controllers []string
	// created: Create succeeded once (or the cgroup is an existing one
	// Load must not touch: no controller is enabled).
	created bool
}

var _ cgroups.Manager = (*Manager)(nil)

// New places cfg's cgroup in the cgroup2 mount at mount, whose root
// cgroup is mountRoot. A relative path goes under the parent of berth's
// own cgroup (own[""], host.OwnCgroups): berth's own usually holds
// processes, and a cgroup with processes cannot delegate controllers to
// children (the "no internal processes" rule). It creates nothing.
func New(mount, mountRoot string, cfg cgroups.Config, own map[string]string) (*Manager, error) {
	p := cfg.Path
	if cfg.Relative {
		base := host.InMount(own[""], mountRoot)
		if base != "/" {
			base = base[:strings.LastIndex(base, "/")]
		}
		var err error
		if p, err = cgroups.Under(base, cfg.Path); err != nil {
			return nil, err
		}
	}
	return &Manager{mount: mount, path: p, dir: mount + p}, nil
}

// Load is the manager of the saved directory dir, which must be under
// mount. With existing the cgroup is used as it is: Create makes nothing
// and enables no controller.
func Load(mount, dir string, existing bool) (*Manager, error) {
	if mount == "" || !strings.HasPrefix(dir, mount+"/") {
		return nil, fmt.Errorf("load cgroup: %s is not under the cgroup2 mount %q", dir, mount)
	}
	return &Manager{mount: mount, path: dir[len(mount):], dir: dir, created: existing}, nil
}

// Create makes the cgroup and, in each ancestor, enables the controllers
// berth uses (createControllers) that the ancestor offers but does not
// yet pass down. Ancestors that already pass them (the usual case under
// systemd) are only read.
func (m *Manager) Create() error {
	if m.created {
		return nil
	}
	if err := cgfs.Mkdir(m.dir); err != nil {
		return err
	}
	want := createControllers
	if m.controllers != nil {
		want = m.controllers
	}
	if err := m.enable(want, false); err != nil {
		slog.Debug("enable cgroup controllers", "dir", m.dir, "err", err)
	}
	m.created = true
	return nil
}

// Apply moves pid into the cgroup, unless it was born there.
func (m *Manager) Apply(pid int) error {
	if err := m.Create(); err != nil {
		return err
	}
	if b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup"); err == nil {
		if cur, ok := host.ProcCgroups(string(b))[""]; ok && cur == m.path {
			return nil
		}
	}
	t0 := time.Now()
	if err := cgfs.Write(m.dir, "cgroup.procs", strconv.Itoa(pid), ""); err != nil {
		return err
	}
	slog.Debug("join cgroup", "dir", m.dir, "elapsed", time.Since(t0).Round(time.Microsecond).String())
	return nil
}

// Set enables the controllers r needs, checks the cgroup has them, loads
// the device filter and writes the limits.
func (m *Manager) Set(r *specs.LinuxResources) error {
	if err := m.Create(); err != nil {
		return err
	}
	if err := m.requireControllers(r); err != nil {
		return err
	}
	pl, err := plan(r, m.dir, cgroups.FS{})
	if err != nil {
		return err
	}
	var specRules []specs.LinuxDeviceCgroup
	if r != nil {
		specRules = r.Devices
	}
	if err := m.setDevices(specRules); err != nil {
		return err
	}
	return pl.Run()
}

func (m *Manager) Pids() ([]int, error) { return cgfs.PidsUnder(m.dir) }

func (m *Manager) Signal(sig unix.Signal) error { return cgroups.SignalAll(m, sig) }

// Kill SIGKILLs every process, with cgroup.kill where the kernel has it
// (Linux 5.14+): one write, no race with forks, frozen or not.
func (m *Manager) Kill() error {
	if !cgfs.Exists(m.dir) {
		return nil
	}
	err := cgfs.Write(m.dir, "cgroup.kill", "1", "")
	if err == nil || !cgfs.IsNotExist(err) {
		return err
	}
	return cgroups.SignalAll(m, unix.SIGKILL)
}

func (m *Manager) Destroy() error {
	if err := cgfs.Remove(m.dir, time.Now().Add(cgfs.DestroyTimeout)); err != nil {
		return err
	}
	m.created = false
	return nil
}

func (m *Manager) Exists() bool { return cgfs.Exists(m.dir) }

func (m *Manager) Unified() bool { return true }

func (m *Manager) Path() string { return m.path }

func (m *Manager) Paths() map[string]string { return map[string]string{cgroups.UnifiedKey: m.dir} }

// JoinFiles is none: on v2 the process is born in its cgroup (StartIn).
func (m *Manager) JoinFiles() []string { return nil }
