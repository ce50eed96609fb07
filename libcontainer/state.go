package libcontainer

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"berth/libcontainer/intelrdt"
	"berth/network"
	"berth/spec"
)

// Status values, as the OCI runtime spec names them.
const (
	Creating = "creating"
	Created  = "created"
	Running  = "running"
	Stopped  = "stopped"
)

const (
	stateFile = "state.json"
	fifoName  = "exec.fifo"
)

// State is what berth keeps on disk for one container, in <root>/<id>/state.json.
type State struct {
	ID     string `json:"id"`
	Bundle string `json:"bundle"`
	Rootfs string `json:"rootfs"`
	Pid    int    `json:"pid"`
	// PidStart is the init's start time (clock ticks after boot, /proc/<pid>/stat
	// field 22); together with Pid it identifies the process even after its pid
	// is reused.
	PidStart uint64    `json:"pid_start"`
	Created  time.Time `json:"created"`
	Owner    int       `json:"owner"`
	Status   string    `json:"status"` // the last status written; the live one is derived
	// Config is the container's spec. A loaded state keeps it as raw JSON
	// (RawConfig) until something needs all of it (spec()): decoding the
	// whole spec costs a short-lived berth process ~1 ms of reflection,
	// and start, delete, kill and state need only a few fields (view()).
	Config    *specs.Spec     `json:"-"`
	RawConfig json.RawMessage `json:"config,omitempty"`
	// configChanged marks Config as edited since RawConfig was made (update).
	configChanged bool
	// held: loaded under the directory's lock (withLock), so no create
	// of it is running.
	held     bool
	partial  *specView
	execPart *execView
	NsPaths  map[string]string `json:"ns_paths,omitempty"`
	// CgroupPaths are the container's cgroup directories by controller.
	CgroupPaths map[string]string `json:"cgroup_paths,omitempty"`
	// SetgroupsDenied: the container's user namespace was made with
	// setgroups denied (an unprivileged caller wrote its gid map).
	SetgroupsDenied bool `json:"setgroups_denied,omitempty"`
	// SystemdUnit is the container's unit under the systemd cgroup driver
	// (--systemd-cgroup); its cgroup is CgroupPaths.
	SystemdUnit string `json:"systemd_unit,omitempty"`
	// SystemdUser: SystemdUnit is the caller's own systemd manager's
	// (rootless), reached over its session bus.
	SystemdUser bool `json:"systemd_user,omitempty"`
	// Network is the veth set up from the berth.net.* annotations.
	Network *network.Result `json:"network,omitempty"`
	// NetDevices are the host interfaces moved in (linux.netDevices).
	NetDevices []network.MovedDevice `json:"net_devices,omitempty"`
	// IntelRdt is the container's resctrl placement (linux.intelRdt).
	IntelRdt *intelrdt.Plan `json:"intel_rdt,omitempty"`
}

// validateID keeps an id usable as a single path element and readable in logs.
func validateID(id string) error {
	if id == "" {
		return errors.New("container id must not be empty")
	}
	if len(id) > 1024 {
		return fmt.Errorf("container id %.20q...: longer than 1024 bytes", id)
	}
	if strings.HasPrefix(id, ".") {
		// Names starting with a dot are berth's own (.network) under the root.
		return fmt.Errorf("invalid container id %q: must not start with a dot", id)
	}
	for _, r := range id {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_+-.", r)
		if !ok {
			return fmt.Errorf("invalid container id %q: only letters, digits and _+-. are allowed", id)
		}
	}
	return nil
}

// store is the state directory of one container.
type store struct {
	dir  string
	lock *os.File
}

func containerDir(root, id string) string { return filepath.Join(root, id) }

// checkRootIfThere is checkStateRoot for the commands that read a state
// root (a missing one holds no container, as before): the state they act
// on is what another user could have put there.
func checkRootIfThere(root string) error {
	err := checkStateRoot(root, os.Geteuid())
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// checkStateRoot refuses a state root that another user could change
// (MkdirAll keeps one that exists, or follows a symlink to one: an
// XDG_RUNTIME_DIR inherited from another user's session, or made by
// another user in a shared directory): whoever may replace a container's
// directory there chooses the state later commands act on as the caller,
// the pid kill signals and the hooks delete runs. The root must be a
// directory of the caller's (euid) that nobody else may write.
func checkStateRoot(root string, euid int) error {
	var st unix.Stat_t
	if err := unix.Stat(root, &st); err != nil {
		return fmt.Errorf("state root %s: stat: %w", root, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return fmt.Errorf("state root %s: not a directory", root)
	}
	if int(st.Uid) != euid || st.Mode&0o022 != 0 {
		return fmt.Errorf("state root %s: owner uid %d, mode %04o: must be a directory of uid %d that nobody else can write "+
			"(another user could change the state of its containers; set XDG_RUNTIME_DIR to a directory of yours, or pass --root)",
			root, st.Uid, st.Mode&0o7777, euid)
	}
	return nil
}

// lockDir takes an exclusive flock on the container's directory. A waiter that
// gets the lock after the directory was deleted sees ErrNotExist.
func lockDir(dir string) (*store, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("flock %s: %w", dir, err)
	}
	// The directory may have been removed while we waited.
	var held, now unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &held); err != nil {
		f.Close()
		return nil, err
	}
	if err := unix.Stat(dir, &now); err != nil || now.Ino != held.Ino || now.Dev != held.Dev {
		f.Close()
		return nil, os.ErrNotExist
	}
	return &store{dir: dir, lock: f}, nil
}

func (s *store) unlock() {
	if s.lock != nil {
		s.lock.Close()
		s.lock = nil
	}
}

func (s *store) load() (*State, error) {
	data, err := os.ReadFile(filepath.Join(s.dir, stateFile))
	if errors.Is(err, os.ErrNotExist) {
		return s.unwritten()
	}
	if err != nil {
		return nil, err
	}
	st := &State{}
	if err := spec.DecodeJSON(data, st); err != nil {
		return nil, fmt.Errorf("state %s: %w", filepath.Join(s.dir, stateFile), err)
	}
	return st, nil
}

// unwritten is the state of a container directory without state.json: a
// create between its mkdir and its first state write, or one killed
// there. Create writes state.json (naming the cgroup) before it makes the
// cgroup or starts a process, so such a directory holds nothing to kill or
// remove but itself (and maybe a temp file of the write): its status is
// "creating" while the create holds the directory's lock, "stopped" once
// it is gone (status), and delete removes it. The directory's mtime and
// owner stand in for the created time and owner.
func (s *store) unwritten() (*State, error) {
	var fi unix.Stat_t
	if err := unix.Stat(s.dir, &fi); err != nil {
		if err == unix.ENOENT {
			return nil, os.ErrNotExist
		}
		return nil, fmt.Errorf("container directory %s: %w", s.dir, err)
	}
	return &State{
		ID:      filepath.Base(s.dir),
		Created: time.Unix(fi.Mtim.Unix()).UTC(),
		Owner:   int(fi.Uid),
		Status:  Creating,
	}, nil
}

// specView is the part of the spec that start, delete, kill and state use.
type specView struct {
	Annotations map[string]string `json:"annotations,omitempty"`
	Hooks       *specs.Hooks      `json:"hooks,omitempty"`
	Linux       *viewLinux        `json:"linux,omitempty"`
}

// viewLinux is what specView takes of linux: the namespaces, and the uid
// mappings (exec decides from them how to run berth's binary, selfExe).
type viewLinux struct {
	Namespaces  []specs.LinuxNamespace `json:"namespaces,omitempty"`
	UIDMappings []specs.LinuxIDMapping `json:"uidMappings,omitempty"`
}

// spec returns the whole spec, decoding it on first use. A state whose
// config cannot be decoded yields an empty spec (and a logged error).
func (st *State) spec() *specs.Spec {
	if st.Config == nil {
		st.Config = &specs.Spec{}
		if len(st.RawConfig) > 0 {
			if err := spec.DecodeJSON(st.RawConfig, st.Config); err != nil {
				slog.Error("container state: config", "id", st.ID, "err", err)
			}
		}
	}
	return st.Config
}

// view returns the few fields of the spec most commands need, without
// decoding the rest.
func (st *State) view() *specView {
	if st.partial != nil {
		return st.partial
	}
	v := &specView{}
	if c := st.Config; c != nil {
		v.Annotations, v.Hooks = c.Annotations, c.Hooks
		if c.Linux != nil {
			v.Linux = &viewLinux{c.Linux.Namespaces, c.Linux.UIDMappings}
		}
		return v // not cached: Config may still change
	}
	if len(st.RawConfig) > 0 {
		if err := spec.DecodeJSON(st.RawConfig, v); err != nil {
			slog.Error("container state: config", "id", st.ID, "err", err)
		}
	}
	st.partial = v
	return v
}

// execView is what exec and the CLI's exec need of the spec: the
// container's process (the base of an exec'd one) and seccomp profile.
type execView struct {
	Process *specs.Process `json:"process,omitempty"`
	Linux   *execLinux     `json:"linux,omitempty"`
}

// execLinux is what an exec takes of linux: the seccomp profile, and the
// container-wide process attributes every process of it gets.
type execLinux struct {
	Seccomp      *specs.LinuxSeccomp      `json:"seccomp,omitempty"`
	Personality  *specs.LinuxPersonality  `json:"personality,omitempty"`
	MemoryPolicy *specs.LinuxMemoryPolicy `json:"memoryPolicy,omitempty"`
}

func (st *State) execView() *execView {
	if st.execPart != nil {
		return st.execPart
	}
	v := &execView{}
	if c := st.Config; c != nil || len(st.RawConfig) == 0 {
		c = st.spec()
		v.Process = c.Process
		if c.Linux != nil {
			v.Linux = &execLinux{c.Linux.Seccomp, c.Linux.Personality, c.Linux.MemoryPolicy}
		}
		return v
	}
	if err := spec.DecodeJSON(st.RawConfig, v); err != nil {
		slog.Error("container state: config", "id", st.ID, "err", err)
	}
	st.execPart = v
	return v
}

// linux is the part of linux an exec's record is compiled from.
func (v *execView) linux() *specs.Linux {
	if v.Linux == nil {
		return &specs.Linux{}
	}
	return &specs.Linux{Seccomp: v.Linux.Seccomp, Personality: v.Linux.Personality, MemoryPolicy: v.Linux.MemoryPolicy}
}

func (v *specView) namespaces() []specs.LinuxNamespace {
	if v.Linux == nil {
		return nil
	}
	return v.Linux.Namespaces
}

// containerIDs is the container's user namespace, for selfExe.
func (v *specView) containerIDs() containerIDs {
	if v.Linux == nil {
		return containerIDs{}
	}
	return containerIDsOf(v.Linux.Namespaces, v.Linux.UIDMappings)
}

// save writes state.json atomically: a crash leaves the old or the new file,
// never half of one.
func (s *store) save(st *State) error {
	if st.Config != nil && (st.RawConfig == nil || st.configChanged) {
		// Encoded once per process unless changed: each encoding of a
		// whole spec costs ~0.2 ms, and create and start save 4 times.
		raw, err := json.Marshal(st.Config)
		if err != nil {
			return err
		}
		st.RawConfig, st.configChanged = raw, false
	}
	// The config goes in as it is: encoding/json would check and compact
	// it again on every save (~0.1 ms each, three saves per run).
	raw := st.RawConfig
	st.RawConfig = nil
	data, err := json.Marshal(st)
	st.RawConfig = raw
	if err != nil {
		return err
	}
	if len(raw) > 0 {
		data = append(append(append([]byte(`{"config":`), raw...), ','), data[1:]...)
	}
	tmp, err := os.CreateTemp(s.dir, ".state-*")
	if err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write state %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), filepath.Join(s.dir, stateFile)); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	return nil
}

// writeFileAtomic writes a file (pid files) through a temp file and rename so a
// reader never sees it half written.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
