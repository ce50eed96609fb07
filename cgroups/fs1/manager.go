// Package fs1 is the cgroup v1 driver: one directory per container in
// every mounted v1 hierarchy (legacy or hybrid host), written through
// cgroupfs. Each controller's share of Set and Stats lives in a file of
// its own behind the controller interface (controller.go).
package fs1

import (
	"fmt"
	"log/slog"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"berth/cgroups"
	"berth/cgroups/host"
	"berth/cgroups/internal/cgfs"
)

// Manager drives one cgroup in every v1 hierarchy (and, on a hybrid
// host, in the controller-less cgroup2 mount, so that tools reading
// "0::" in /proc/<pid>/cgroup see the container).
type Manager struct {
	path  string            // the cgroup path, for Path()
	paths map[string]string // controller ("cpu", "name=systemd", cgroups.UnifiedKey) -> directory
	// created: Create succeeded once (or the cgroup is an existing one
	// Load must not touch); later calls skip the checks.
	created bool
}

var _ cgroups.Manager = (*Manager)(nil)

// New places cfg's cgroup in each hierarchy of h. own is berth's own
// cgroups (host.OwnCgroups), needed for a relative path. It creates
// nothing.
func New(h *host.Layout, cfg cgroups.Config, own map[string]string) (*Manager, error) {
	m := &Manager{paths: make(map[string]string)}
	place := func(mountpoint, root, ownPath string) (string, string, error) {
		p := cfg.Path
		if cfg.Relative {
			var err error
			if p, err = cgroups.Under(host.InMount(ownPath, root), cfg.Path); err != nil {
				return "", "", err
			}
		}
		return mountpoint + p, p, nil
	}
	for _, hy := range h.V1 {
		dir, p, err := place(hy.Mountpoint, hy.Root, own[hy.Controllers[0]])
		if err != nil {
			return nil, err
		}
		for _, c := range hy.Controllers {
			m.paths[c] = dir
		}
		if m.path == "" || slices.Contains(hy.Controllers, "pids") {
			m.path = p
		}
	}
	if h.V2Mount != "" {
		dir, _, err := place(h.V2Mount, h.V2Root, own[""])
		if err != nil {
			return nil, err
		}
		m.paths[cgroups.UnifiedKey] = dir
	}
	return m, nil
}

// Load is the manager of saved directories (Paths of an earlier
// manager). h, when known, recovers Path(). With existing the cgroup is
// used as it is: Create makes nothing.
func Load(saved map[string]string, h *host.Layout, existing bool) *Manager {
	m := &Manager{paths: maps.Clone(saved), created: existing}
	if h != nil {
		m.path = pathFromDirs(m.paths, h)
	}
	return m
}

// pathFromDirs recovers the cgroup path of a loaded manager from its pids
// (or any) directory and the host's mount of that hierarchy.
func pathFromDirs(paths map[string]string, h *host.Layout) string {
	for _, hy := range h.V1 {
		for _, c := range hy.Controllers {
			if d, ok := paths[c]; ok && strings.HasPrefix(d, hy.Mountpoint+"/") {
				return path.Clean(d[len(hy.Mountpoint):])
			}
		}
	}
	return ""
}

// dirs is each distinct directory once, in a fixed order.
func (m *Manager) dirs() []string {
	d := slices.Collect(maps.Values(m.paths))
	slices.Sort(d)
	return slices.Compact(d)
}

func (m *Manager) Create() error {
	if m.created {
		return nil
	}
	cpuset := m.paths["cpuset"]
	for _, dir := range m.dirs() {
		var err error
		if dir == cpuset {
			_, _, err = mkdirCpuset(dir)
		} else {
			err = cgfs.Mkdir(dir)
		}
		if err != nil {
			return err
		}
	}
	m.created = true
	return nil
}

// Apply writes pid to cgroup.procs in every hierarchy. The first such
// write after a quiet spell waits for an RCU grace period in the kernel
// (the cgroup threadgroup lock switching to its slow mode); the ones
// right after it are cheap.
func (m *Manager) Apply(pid int) error {
	if err := m.Create(); err != nil {
		return err
	}
	v := strconv.Itoa(pid)
	for _, dir := range m.dirs() {
		t0 := time.Now()
		if err := cgfs.Write(dir, "cgroup.procs", v, ""); err != nil {
			return err
		}
		slog.Debug("join cgroup", "dir", dir, "elapsed", time.Since(t0).Round(time.Microsecond).String())
	}
	return nil
}

func (m *Manager) Set(r *specs.LinuxResources) error {
	if err := m.Create(); err != nil {
		return err
	}
	pl, err := plan(r, m.paths, cgroups.FS{})
	if err != nil {
		return err
	}
	return pl.Run()
}

// Pids lists the container's processes from one hierarchy (pids, else
// freezer, else any), including sub-cgroups.
func (m *Manager) Pids() ([]int, error) {
	return cgfs.PidsUnder(m.listDir())
}

func (m *Manager) listDir() string {
	for _, c := range []string{"pids", "freezer", "memory", "cpu", "devices"} {
		if d, ok := m.paths[c]; ok {
			return d
		}
	}
	return m.dirs()[0]
}

func (m *Manager) Signal(sig unix.Signal) error { return cgroups.SignalAll(m, sig) }

func (m *Manager) Kill() error {
	if !m.Exists() {
		return nil
	}
	return m.Signal(unix.SIGKILL)
}

func (m *Manager) Destroy() error {
	var errs []string
	deadline := time.Now().Add(cgfs.DestroyTimeout)
	for _, dir := range m.dirs() {
		if err := cgfs.Remove(dir, deadline); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	m.created = false
	return nil
}

func (m *Manager) Exists() bool {
	for _, dir := range m.dirs() {
		if cgfs.Exists(dir) {
			return true
		}
	}
	return false
}

func (m *Manager) Unified() bool { return false }

func (m *Manager) Path() string { return m.path }

func (m *Manager) Paths() map[string]string { return maps.Clone(m.paths) }

// JoinFiles lists every hierarchy's tasks file; the hybrid cgroup2
// directory is joined through the fd StartIn hands over instead.
func (m *Manager) JoinFiles() []string {
	unified := m.paths[cgroups.UnifiedKey]
	var out []string
	for _, dir := range m.dirs() {
		if dir != unified {
			out = append(out, dir+"/tasks")
		}
	}
	return out
}
