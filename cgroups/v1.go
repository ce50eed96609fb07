package cgroups

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
)

// unifiedKey is the Paths key of a cgroup v2 directory: the only key of a
// v2 manager, and the hybrid cgroup2 mount's directory on a v1 host.
const unifiedKey = "unified"

// v1Manager drives one cgroup in every v1 hierarchy (and, on a hybrid
// host, in the controller-less cgroup2 mount, so that tools reading
// "0::" in /proc/<pid>/cgroup see the container).
type v1Manager struct {
	path  string            // the cgroup path, for Path()
	paths map[string]string // controller ("cpu", "name=systemd", unifiedKey) -> directory
	// created: Create succeeded once; later calls skip the checks.
	created bool
}

// newV1 places cgPath in each hierarchy of h.
func newV1(h *hostCgroups, cgPath string, relative bool, own map[string]string) (*v1Manager, error) {
	m := &v1Manager{paths: make(map[string]string)}
	place := func(mountpoint, root, ownPath string) (string, string, error) {
		p := cgPath
		if relative {
			var err error
			if p, err = under(inMount(ownPath, root), cgPath); err != nil {
				return "", "", err
			}
		}
		return mountpoint + p, p, nil
	}
	for _, hy := range h.v1 {
		dir, p, err := place(hy.mountpoint, hy.root, own[hy.controllers[0]])
		if err != nil {
			return nil, err
		}
		for _, c := range hy.controllers {
			m.paths[c] = dir
		}
		if m.path == "" || slices.Contains(hy.controllers, "pids") {
			m.path = p
		}
	}
	if h.v2Mount != "" {
		dir, _, err := place(h.v2Mount, h.v2Root, own[""])
		if err != nil {
			return nil, err
		}
		m.paths[unifiedKey] = dir
	}
	return m, nil
}

// dirs is each distinct directory once, in a fixed order.
func (m *v1Manager) dirs() []string {
	d := slices.Collect(maps.Values(m.paths))
	slices.Sort(d)
	return slices.Compact(d)
}

func (m *v1Manager) Create() error {
	if m.created {
		return nil
	}
	cpuset := m.paths["cpuset"]
	for _, dir := range m.dirs() {
		var err error
		if dir == cpuset {
			_, _, err = mkdirCpuset(dir)
		} else {
			err = mkdirCgroup(dir)
		}
		if err != nil {
			return err
		}
	}
	m.created = true
	return nil
}

// mkdirCpuset creates a v1 cpuset cgroup and returns its cpus and mems.
// A cpuset cgroup starts with none, takes no process while it has none
// (ENOSPC), and may have only what its parent has: the new directories,
// and every existing ancestor left empty (a pod cgroup an engine made and
// never filled), get their parent's cpuset.cpus and cpuset.mems, top
// down, as runc does. The walk up stops at the first level that has both:
// the kernel keeps a child's sets within its parent's, so every level
// above it has them too, and the hierarchy's root always does.
func mkdirCpuset(dir string) (cpus, mems string, err error) {
	cpus, mems, err = readCpuset(dir)
	existed := err == nil
	if existed && cpus != "" && mems != "" {
		return cpus, mems, nil
	}
	if err != nil && !isNotExist(err) {
		return "", "", err
	}
	parent := path.Dir(dir)
	if parent == dir {
		return "", "", fmt.Errorf("cpuset cgroup %s: no cgroup hierarchy above it", dir)
	}
	pcpus, pmems, err := mkdirCpuset(parent)
	if err != nil {
		return "", "", err
	}
	if !existed {
		if err := unix.Mkdir(dir, 0o755); err != nil && err != unix.EEXIST {
			return "", "", fmt.Errorf("mkdir %s: %w", dir, err)
		}
		// cgroup.clone_children in the parent, or a racing creator,
		// may have filled it already.
		if cpus, mems, err = readCpuset(dir); err != nil {
			return "", "", err
		}
	}
	const what = "copied from the parent cpuset"
	if cpus == "" {
		if err := writeFile(dir, "cpuset.cpus", pcpus, what); err != nil {
			return "", "", err
		}
		cpus = pcpus
	}
	if mems == "" {
		if err := writeFile(dir, "cpuset.mems", pmems, what); err != nil {
			return "", "", err
		}
		mems = pmems
	}
	return cpus, mems, nil
}

func readCpuset(dir string) (cpus, mems string, err error) {
	if cpus, err = readTrimmed(dir, "cpuset.cpus"); err != nil {
		return "", "", err
	}
	if mems, err = readTrimmed(dir, "cpuset.mems"); err != nil {
		return "", "", err
	}
	return cpus, mems, nil
}

// Apply writes pid to cgroup.procs in every hierarchy. The first such
// write after a quiet spell waits for an RCU grace period in the kernel
// (the cgroup threadgroup lock switching to its slow mode); the ones
// right after it are cheap.
func (m *v1Manager) Apply(pid int) error {
	if err := m.Create(); err != nil {
		return err
	}
	v := strconv.Itoa(pid)
	for _, dir := range m.dirs() {
		t0 := time.Now()
		if err := writeFile(dir, "cgroup.procs", v, ""); err != nil {
			return err
		}
		slog.Debug("join cgroup", "dir", dir, "elapsed", time.Since(t0).Round(time.Microsecond).String())
	}
	return nil
}

func (m *v1Manager) Set(r *specs.LinuxResources) error {
	if err := m.Create(); err != nil {
		return err
	}
	pl, err := planV1(r, m.paths, fsProber{})
	if err != nil {
		return err
	}
	return pl.run()
}

func (m *v1Manager) freezerDir() (string, error) {
	d, ok := m.paths["freezer"]
	if !ok {
		return "", fmt.Errorf("the freezer controller is not mounted on this host")
	}
	return d, nil
}

// Freeze writes FROZEN and polls freezer.state until the kernel reports
// every task frozen, writing FROZEN again now and then (a task in an
// uninterruptible sleep can leave the cgroup FREEZING). After
// freezeTimeout it thaws and fails.
func (m *v1Manager) Freeze() error {
	dir, err := m.freezerDir()
	if err != nil {
		return err
	}
	deadline := time.Now().Add(freezeTimeout)
	var b backoff
	for i := 0; ; i++ {
		if i%16 == 0 {
			if err := writeFile(dir, "freezer.state", string(Frozen), ""); err != nil {
				return err
			}
		}
		st, err := readTrimmed(dir, "freezer.state")
		if err != nil {
			return err
		}
		if FreezerState(st) == Frozen {
			return nil
		}
		if time.Now().After(deadline) {
			m.Thaw()
			return fmt.Errorf("freeze %s: still %s after %v", dir, st, freezeTimeout)
		}
		b.wait()
	}
}

func (m *v1Manager) Thaw() error {
	dir, err := m.freezerDir()
	if err != nil {
		return err
	}
	deadline := time.Now().Add(freezeTimeout)
	var b backoff
	for {
		if err := writeFile(dir, "freezer.state", string(Thawed), ""); err != nil {
			return err
		}
		st, err := readTrimmed(dir, "freezer.state")
		if err != nil {
			return err
		}
		if FreezerState(st) == Thawed {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("thaw %s: still %s after %v", dir, st, freezeTimeout)
		}
		b.wait()
	}
}

func (m *v1Manager) FreezerState() (FreezerState, error) {
	dir, ok := m.paths["freezer"]
	if !ok {
		return Thawed, nil
	}
	st, err := readTrimmed(dir, "freezer.state")
	if err != nil {
		if isNotExist(err) {
			return Thawed, nil
		}
		return "", err
	}
	return FreezerState(st), nil
}

// Pids lists the container's processes from one hierarchy (pids, else
// freezer, else any), including sub-cgroups.
func (m *v1Manager) Pids() ([]int, error) {
	return pidsUnder(m.listDir())
}

func (m *v1Manager) listDir() string {
	for _, c := range []string{"pids", "freezer", "memory", "cpu", "devices"} {
		if d, ok := m.paths[c]; ok {
			return d
		}
	}
	return m.dirs()[0]
}

func (m *v1Manager) Signal(sig unix.Signal) error { return signalAll(m, sig) }

func (m *v1Manager) Kill() error {
	if !m.Exists() {
		return nil
	}
	return m.Signal(unix.SIGKILL)
}

func (m *v1Manager) Destroy() error {
	var errs []string
	deadline := time.Now().Add(destroyTimeout)
	for _, dir := range m.dirs() {
		if err := removeCgroup(dir, deadline); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	m.created = false
	return nil
}

func (m *v1Manager) Exists() bool {
	for _, dir := range m.dirs() {
		if exists(dir) {
			return true
		}
	}
	return false
}

func (m *v1Manager) Unified() bool { return false }

func (m *v1Manager) Path() string { return m.path }

func (m *v1Manager) Paths() map[string]string { return maps.Clone(m.paths) }

// pathFromDirs recovers the cgroup path of a loaded manager from its pids
// (or any) directory and the host's mount of that hierarchy.
func pathFromDirs(paths map[string]string, h *hostCgroups) string {
	for _, hy := range h.v1 {
		for _, c := range hy.controllers {
			if d, ok := paths[c]; ok && strings.HasPrefix(d, hy.mountpoint+"/") {
				return path.Clean(d[len(hy.mountpoint):])
			}
		}
	}
	return ""
}
