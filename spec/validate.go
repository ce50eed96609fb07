package spec

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"path/filepath"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"berth/cgroups/devices"
	"berth/libcontainer/caps"
	"berth/libcontainer/lsm"
	"berth/libcontainer/seccomp"
)

// Validate checks everything berth relies on and returns the first problem,
// as "config.json: <field path>: <what is wrong>". It does not look at the
// bundle: Load also checks the root filesystem with RootfsPath.
func Validate(s *specs.Spec) error {
	if s == nil {
		return fmt.Errorf("%s: no spec", ConfigName)
	}
	for _, check := range []func(*specs.Spec) error{
		checkVersion,
		checkRoot,
		checkProcess,
		checkMounts,
		checkHooks,
		checkLinux,
	} {
		if err := check(s); err != nil {
			return fmt.Errorf("%s: %w", ConfigName, err)
		}
	}
	return nil
}

func checkVersion(s *specs.Spec) error {
	if s.Version == "" {
		return errors.New("ociVersion: must be set")
	}
	if major, _, _ := strings.Cut(s.Version, "."); major != "1" {
		return fmt.Errorf("ociVersion %q: unsupported version (berth supports 1.x)", s.Version)
	}
	return nil
}

func checkRoot(s *specs.Spec) error {
	if s.Root == nil || s.Root.Path == "" {
		return errors.New("root.path: must be set")
	}
	return nil
}

func checkProcess(s *specs.Spec) error {
	p := s.Process
	if p == nil {
		return errors.New("process: must be set")
	}
	if len(p.Args) == 0 {
		return errors.New("process.args: must not be empty")
	}
	if p.Args[0] == "" {
		return errors.New("process.args[0]: must not be empty")
	}
	if p.Cwd == "" {
		return errors.New("process.cwd: must be set")
	}
	if !filepath.IsAbs(p.Cwd) {
		return fmt.Errorf("process.cwd %q: must be an absolute path", p.Cwd)
	}
	if err := checkUser(&p.User); err != nil {
		return err
	}
	for i, e := range p.Env {
		if strings.IndexByte(e, '=') <= 0 {
			return fmt.Errorf("process.env[%d] %q: must be NAME=VALUE", i, e)
		}
	}
	seen := map[string]int{}
	for i, r := range p.Rlimits {
		if _, ok := rlimits[r.Type]; !ok {
			return fmt.Errorf("process.rlimits[%d].type %q: unknown resource limit", i, r.Type)
		}
		if j, dup := seen[r.Type]; dup {
			return fmt.Errorf("process.rlimits[%d].type %q: duplicate of process.rlimits[%d]", i, r.Type, j)
		}
		seen[r.Type] = i
		if r.Soft > r.Hard {
			return fmt.Errorf("process.rlimits[%d] (%s): soft limit %d exceeds hard limit %d", i, r.Type, r.Soft, r.Hard)
		}
	}
	if _, _, err := caps.FromSpec(p.Capabilities); err != nil {
		return err
	}
	if p.OOMScoreAdj != nil && (*p.OOMScoreAdj < -1000 || *p.OOMScoreAdj > 1000) {
		return fmt.Errorf("process.oomScoreAdj %d: must be within -1000..1000", *p.OOMScoreAdj)
	}
	// Whether the host runs the LSM is create's question (lsm.CheckHost).
	if p.ApparmorProfile != "" {
		if err := lsm.ValidateProfile(p.ApparmorProfile); err != nil {
			return fmt.Errorf("process.apparmorProfile %q: %w", p.ApparmorProfile, err)
		}
	}
	if p.SelinuxLabel != "" {
		if err := lsm.ValidateLabel(p.SelinuxLabel); err != nil {
			return fmt.Errorf("process.selinuxLabel %q: %w", p.SelinuxLabel, err)
		}
	}
	return nil
}

// noID is (uid_t)-1, which set*id(2) read as "leave unchanged".
const noID = math.MaxUint32

func checkUser(u *specs.User) error {
	if u.UID == noID {
		return fmt.Errorf("process.user.uid %d: not a valid user id", u.UID)
	}
	if u.GID == noID {
		return fmt.Errorf("process.user.gid %d: not a valid group id", u.GID)
	}
	for i, g := range u.AdditionalGids {
		if g == noID {
			return fmt.Errorf("process.user.additionalGids[%d] %d: not a valid group id", i, g)
		}
	}
	if u.Umask != nil && *u.Umask > 0o777 {
		return fmt.Errorf("process.user.umask %#o: must be at most 0777", *u.Umask)
	}
	return nil
}

func checkMounts(s *specs.Spec) error {
	for i, m := range s.Mounts {
		if m.Destination == "" {
			return fmt.Errorf("mounts[%d].destination: must be set", i)
		}
		if !filepath.IsAbs(m.Destination) {
			return fmt.Errorf("mounts[%d].destination %q: must be an absolute path", i, m.Destination)
		}
		if (len(m.UIDMappings) == 0) != (len(m.GIDMappings) == 0) {
			return fmt.Errorf("mounts[%d]: uidMappings and gidMappings must be given together", i)
		}
	}
	return nil
}

func checkHooks(s *specs.Spec) error {
	if s.Hooks == nil {
		return nil
	}
	for _, l := range []struct {
		field string
		hooks []specs.Hook
	}{
		{"prestart", s.Hooks.Prestart},
		{"createRuntime", s.Hooks.CreateRuntime},
		{"createContainer", s.Hooks.CreateContainer},
		{"startContainer", s.Hooks.StartContainer},
		{"poststart", s.Hooks.Poststart},
		{"poststop", s.Hooks.Poststop},
	} {
		for i, h := range l.hooks {
			if !filepath.IsAbs(h.Path) {
				return fmt.Errorf("hooks.%s[%d].path %q: must be an absolute path", l.field, i, h.Path)
			}
			if h.Timeout != nil && *h.Timeout <= 0 {
				return fmt.Errorf("hooks.%s[%d].timeout %d: must be greater than zero", l.field, i, *h.Timeout)
			}
			for j, e := range h.Env {
				if strings.IndexByte(e, '=') <= 0 {
					return fmt.Errorf("hooks.%s[%d].env[%d] %q: must be NAME=VALUE", l.field, i, j, e)
				}
			}
		}
	}
	return nil
}

// nsProcName maps a spec namespace type to its /proc/<pid>/ns entry.
var nsProcName = map[specs.LinuxNamespaceType]string{
	specs.PIDNamespace:     "pid",
	specs.NetworkNamespace: "net",
	specs.MountNamespace:   "mnt",
	specs.IPCNamespace:     "ipc",
	specs.UTSNamespace:     "uts",
	specs.UserNamespace:    "user",
	specs.CgroupNamespace:  "cgroup",
	specs.TimeNamespace:    "time",
}

// namespaces indexes linux.namespaces by type.
type namespaces map[specs.LinuxNamespaceType]int

func checkLinux(s *specs.Spec) error {
	l := s.Linux
	if l == nil {
		return errors.New("linux: must be set")
	}
	ns := namespaces{}
	for i, n := range l.Namespaces {
		if _, ok := nsProcName[n.Type]; !ok {
			return fmt.Errorf("linux.namespaces[%d].type %q: unknown namespace type", i, n.Type)
		}
		if j, dup := ns[n.Type]; dup {
			return fmt.Errorf("linux.namespaces[%d].type %q: duplicate of linux.namespaces[%d]", i, n.Type, j)
		}
		ns[n.Type] = i
		if n.Path != "" && !filepath.IsAbs(n.Path) {
			return fmt.Errorf("linux.namespaces[%d].path %q: must be an absolute path", i, n.Path)
		}
	}
	for _, check := range []func(*specs.Spec, namespaces) error{
		checkUserNamespace,
		checkMountNamespace,
		checkTimeNamespace,
		checkUTS,
		checkSysctl,
	} {
		if err := check(s, ns); err != nil {
			return err
		}
	}
	if err := checkDevices(l); err != nil {
		return err
	}
	for _, paths := range []struct {
		field string
		list  []string
	}{{"maskedPaths", l.MaskedPaths}, {"readonlyPaths", l.ReadonlyPaths}} {
		for i, p := range paths.list {
			if !filepath.IsAbs(p) {
				return fmt.Errorf("linux.%s[%d] %q: must be an absolute path", paths.field, i, p)
			}
		}
	}
	switch l.RootfsPropagation {
	case "", "private", "rprivate", "slave", "rslave", "shared", "rshared", "unbindable", "runbindable":
	default:
		return fmt.Errorf("linux.rootfsPropagation %q: must be one of private, slave, shared, unbindable (or their r- forms)", l.RootfsPropagation)
	}
	if l.Resources != nil {
		for i, d := range l.Resources.Devices {
			switch d.Type {
			case "", "a", "c", "b":
			default:
				return fmt.Errorf("linux.resources.devices[%d].type %q: must be a, c or b", i, d.Type)
			}
			if _, err := devices.ParseAccess(d.Access); err != nil {
				return fmt.Errorf("linux.resources.devices[%d].%w", i, err)
			}
		}
	}
	if l.Seccomp != nil {
		if err := checkSeccomp(l.Seccomp); err != nil {
			return err
		}
	}
	if l.MountLabel != "" {
		if err := lsm.ValidateLabel(l.MountLabel); err != nil {
			return fmt.Errorf("linux.mountLabel %q: %w", l.MountLabel, err)
		}
	}
	return nil
}

func checkUserNamespace(s *specs.Spec, ns namespaces) error {
	l := s.Linux
	for _, m := range []struct {
		field string
		maps  []specs.LinuxIDMapping
	}{{"uidMappings", l.UIDMappings}, {"gidMappings", l.GIDMappings}} {
		for i, e := range m.maps {
			if e.Size == 0 {
				return fmt.Errorf("linux.%s[%d].size: must be greater than zero", m.field, i)
			}
			if uint64(e.ContainerID)+uint64(e.Size) > noID || uint64(e.HostID)+uint64(e.Size) > noID {
				return fmt.Errorf("linux.%s[%d]: range past the largest id", m.field, i)
			}
		}
	}
	i, userns := ns[specs.UserNamespace]
	if !userns {
		if len(l.UIDMappings) > 0 || len(l.GIDMappings) > 0 {
			return errors.New("linux.uidMappings/gidMappings: given, but linux.namespaces has no user namespace")
		}
		return nil
	}
	if l.Namespaces[i].Path != "" {
		return nil // joining: the namespace already has its mappings
	}
	if len(l.UIDMappings) == 0 {
		return fmt.Errorf("linux.uidMappings: must not be empty when linux.namespaces[%d] creates a user namespace", i)
	}
	if len(l.GIDMappings) == 0 {
		return fmt.Errorf("linux.gidMappings: must not be empty when linux.namespaces[%d] creates a user namespace", i)
	}
	// An unmapped id makes setresuid fail with a bare EINVAL inside the
	// init; say which id instead.
	u := s.Process.User
	if !mapped(l.UIDMappings, u.UID) {
		return fmt.Errorf("process.user.uid %d: not mapped by linux.uidMappings", u.UID)
	}
	if !mapped(l.GIDMappings, u.GID) {
		return fmt.Errorf("process.user.gid %d: not mapped by linux.gidMappings", u.GID)
	}
	for j, g := range u.AdditionalGids {
		if !mapped(l.GIDMappings, g) {
			return fmt.Errorf("process.user.additionalGids[%d] %d: not mapped by linux.gidMappings", j, g)
		}
	}
	return nil
}

func mapped(maps []specs.LinuxIDMapping, id uint32) bool {
	for _, m := range maps {
		if id >= m.ContainerID && uint64(id) < uint64(m.ContainerID)+uint64(m.Size) {
			return true
		}
	}
	return false
}

// checkMountNamespace refuses what only a mount namespace of the container's
// own can hold: masked and read-only paths, device nodes, a read-only root
// and the root's propagation are mounts (or mount flags) that would
// otherwise land in the host's mount table, and skipping them would run the
// container without the protection they ask for. runc refuses masked and
// read-only paths the same way. A namespace joined by path counts.
func checkMountNamespace(s *specs.Spec, ns namespaces) error {
	if _, ok := ns[specs.MountNamespace]; ok {
		return nil
	}
	l := s.Linux
	var field string
	switch {
	case len(l.MaskedPaths) > 0:
		field = "linux.maskedPaths"
	case len(l.ReadonlyPaths) > 0:
		field = "linux.readonlyPaths"
	case len(l.Devices) > 0:
		field = "linux.devices"
	case s.Root != nil && s.Root.Readonly:
		field = "root.readonly"
	case l.RootfsPropagation != "":
		field = "linux.rootfsPropagation"
	default:
		return nil
	}
	return fmt.Errorf(`%s: cannot be applied without a mount namespace (linux.namespaces has no "mount")`, field)
}

func checkTimeNamespace(s *specs.Spec, ns namespaces) error {
	offsets := s.Linux.TimeOffsets
	if len(offsets) == 0 {
		return nil
	}
	for _, clock := range slices.Sorted(maps.Keys(offsets)) {
		if clock != "monotonic" && clock != "boottime" {
			return fmt.Errorf("linux.timeOffsets[%q]: unknown clock (want monotonic or boottime)", clock)
		}
		if offsets[clock].Nanosecs >= 1e9 {
			return fmt.Errorf("linux.timeOffsets[%q].nanosecs %d: must be below 1000000000", clock, offsets[clock].Nanosecs)
		}
	}
	i, ok := ns[specs.TimeNamespace]
	if !ok {
		return errors.New("linux.timeOffsets: requires a time namespace in linux.namespaces")
	}
	// Offsets can only be written before any process enters the namespace.
	if p := s.Linux.Namespaces[i].Path; p != "" {
		return fmt.Errorf("linux.timeOffsets: cannot be applied to the joined time namespace linux.namespaces[%d].path %q", i, p)
	}
	return nil
}

// checkUTS: hostname and domainname need a UTS namespace that is not the
// host's; like runc, one joined by path (a pod's) is fine.
func checkUTS(s *specs.Spec, ns namespaces) error {
	for _, f := range []struct{ field, value string }{{"hostname", s.Hostname}, {"domainname", s.Domainname}} {
		if f.value == "" {
			continue
		}
		if err := ns.require(s, specs.UTSNamespace); err != nil {
			return fmt.Errorf("%s %q: %w", f.field, f.value, err)
		}
	}
	return nil
}

func checkSysctl(s *specs.Spec, ns namespaces) error {
	for _, key := range slices.Sorted(maps.Keys(s.Linux.Sysctl)) {
		t, ok := sysctlNamespace(key)
		if !ok {
			return fmt.Errorf("linux.sysctl[%q]: not a namespaced sysctl; setting it would change the host", key)
		}
		if err := ns.require(s, t); err != nil {
			return fmt.Errorf("linux.sysctl[%q]: %w", key, err)
		}
	}
	return nil
}

// sysctlNamespace returns the namespace that scopes a sysctl; keys may use
// '/' or '.' as separator.
func sysctlNamespace(key string) (specs.LinuxNamespaceType, bool) {
	k := strings.ReplaceAll(key, "/", ".")
	switch {
	case strings.HasPrefix(k, "net."):
		return specs.NetworkNamespace, true
	case strings.HasPrefix(k, "fs.mqueue."),
		strings.HasPrefix(k, "kernel.shm"),
		strings.HasPrefix(k, "kernel.msg"),
		k == "kernel.sem", strings.HasPrefix(k, "kernel.sem_"):
		return specs.IPCNamespace, true
	case k == "kernel.hostname", k == "kernel.domainname":
		return specs.UTSNamespace, true
	}
	return "", false
}

// require fails unless the spec has a namespace of type t that is not the
// runtime's own (a path to our own namespace is the host's).
func (ns namespaces) require(s *specs.Spec, t specs.LinuxNamespaceType) error {
	i, ok := ns[t]
	if !ok {
		article := "a"
		if t == specs.IPCNamespace {
			article = "an"
		}
		return fmt.Errorf("requires %s %s namespace in linux.namespaces", article, t)
	}
	p := s.Linux.Namespaces[i].Path
	if p == "" {
		return nil
	}
	var want, own unix.Stat_t
	if unix.Stat(p, &want) != nil || unix.Stat("/proc/self/ns/"+nsProcName[t], &own) != nil {
		return nil // the runtime reports a bad path when it joins
	}
	if want.Dev == own.Dev && want.Ino == own.Ino {
		return fmt.Errorf("linux.namespaces[%d].path %q is the host's %s namespace", i, p, t)
	}
	return nil
}

func checkDevices(l *specs.Linux) error {
	seen := map[string]int{}
	for i, d := range l.Devices {
		if !filepath.IsAbs(d.Path) {
			return fmt.Errorf("linux.devices[%d].path %q: must be an absolute path", i, d.Path)
		}
		if j, dup := seen[d.Path]; dup {
			return fmt.Errorf("linux.devices[%d].path %q: duplicate of linux.devices[%d]", i, d.Path, j)
		}
		seen[d.Path] = i
		switch d.Type {
		case "c", "b", "u":
			if d.Major < 0 || d.Minor < 0 {
				return fmt.Errorf("linux.devices[%d] (%s): major and minor must not be negative", i, d.Path)
			}
			// JSON cannot tell a missing number from 0, but 0:0 is no
			// device at all, so it is the omission.
			if d.Major == 0 && d.Minor == 0 {
				return fmt.Errorf("linux.devices[%d] (%s): major and minor are required for type %q", i, d.Path, d.Type)
			}
		case "p":
		default:
			return fmt.Errorf("linux.devices[%d].type %q: must be c, b, u or p", i, d.Type)
		}
	}
	return nil
}

// checkSeccomp compiles the filter once so a bad profile fails create with
// its field named, before any process exists, and checks what
// SCMP_ACT_NOTIFY needs (see libcontainer/seccomp_notify.go).
func checkSeccomp(sc *specs.LinuxSeccomp) error {
	if sc.ListenerMetadata != "" && sc.ListenerPath == "" {
		return errors.New("linux.seccomp.listenerMetadata: must not be set without linux.seccomp.listenerPath")
	}
	if sc.ListenerPath != "" && !filepath.IsAbs(sc.ListenerPath) {
		return fmt.Errorf("linux.seccomp.listenerPath %q: must be an absolute path", sc.ListenerPath)
	}
	for i, r := range sc.Syscalls {
		if r.Action != specs.ActNotify {
			continue
		}
		if sc.ListenerPath == "" {
			return fmt.Errorf("linux.seccomp.listenerPath: required when linux.seccomp.syscalls[%d].action is SCMP_ACT_NOTIFY", i)
		}
		for _, name := range r.Names {
			if notifyDeadlocks[name] {
				return fmt.Errorf("linux.seccomp.syscalls[%d]: SCMP_ACT_NOTIFY cannot be used for %s: the runtime needs it to hand the listener to the agent", i, name)
			}
		}
	}
	if _, err := seccomp.Compile(sc); err != nil {
		return fmt.Errorf("linux.seccomp: %w", err)
	}
	return nil
}

// notifyDeadlocks are the syscalls the init makes between loading the
// filter and the agent having the listener: notified, they would wait for
// an agent that cannot answer yet. sendmsg carries the fd to the runtime;
// write is refused as runc refuses it (its transport), so that a profile
// berth accepts loads in runc too.
var notifyDeadlocks = map[string]bool{"sendmsg": true, "write": true}
