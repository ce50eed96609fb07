package rootfs

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// mountCtx names one spec mount in errors.
type mountCtx struct {
	index int
	m     specs.Mount
	dest  string // cleaned absolute destination inside the rootfs
	opts  MountOptions
	kind  mountKind
	src   string // a bind's host source, joined with the bundle when relative
}

// mountKind is how a spec mount is made.
type mountKind int

const (
	mountFresh   mountKind = iota // a new filesystem instance
	mountRemount                  // "remount": flags of an existing mount
	mountBind                     // a bind of a host path
	mountCgroup                   // "cgroup": the init's cgroups (cgroup.go)
)

func (mc *mountCtx) field() string { return fmt.Sprintf("spec mounts[%d]", mc.index) }

func (mc *mountCtx) source() string {
	if mc.m.Source != "" {
		return mc.m.Source
	}
	return mc.m.Type
}

// mountErr is the one error shape for a failed mount step, e.g.
// `mount "proc" on "/proc" (spec mounts[1]): operation not permitted`.
func (mc *mountCtx) mountErr(err error) error {
	return fmt.Errorf("mount %q on %q (%s): %w", mc.source(), mc.dest, mc.field(), err)
}

func (mc *mountCtx) stepErr(step string, err error) error {
	return fmt.Errorf("mount %q on %q (%s): %s: %w", mc.source(), mc.dest, mc.field(), step, err)
}

func (mc *mountCtx) mkdirErr(err error) error {
	return fmt.Errorf("mkdir %q in rootfs (%s.destination): %w", mc.dest, mc.field(), err)
}

// newMountCtx reads spec mount i: its options, its destination, how it is
// made and, for a bind, the host source. Setup and PlanSetup both start
// here, so the C and the Go init accept and refuse the same mounts.
func newMountCtx(c *Config, i int, m specs.Mount) (*mountCtx, error) {
	mc := &mountCtx{index: i, m: m}
	opts, err := ParseMountOptions(m.Options)
	if err != nil {
		return nil, fmt.Errorf("%s.options: %w", mc.field(), err)
	}
	mc.opts = opts
	if m.Destination == "" {
		return nil, fmt.Errorf("%s.destination: empty", mc.field())
	}
	// A relative destination (old runc accepted them) is taken from "/".
	mc.dest = filepath.Clean("/" + m.Destination)
	// One written as the host's path of a place in the rootfs names that
	// place, as runc takes it.
	if root := filepath.Clean(c.Rootfs); filepath.IsAbs(root) && root != "/" && strings.HasPrefix(mc.dest, root+"/") {
		mc.dest = strings.TrimPrefix(mc.dest, root)
	}
	switch {
	case opts.Flags&unix.MS_REMOUNT != 0:
		mc.kind = mountRemount
	case opts.Bind || m.Type == "bind":
		mc.kind = mountBind
		if m.Source == "" {
			return nil, fmt.Errorf("%s.source: empty for a bind mount", mc.field())
		}
		mc.src = m.Source
		if !filepath.IsAbs(mc.src) && c.Bundle != "" {
			mc.src = filepath.Join(c.Bundle, mc.src)
		}
	case m.Type == "cgroup":
		mc.kind = mountCgroup
	default:
		mc.kind = mountFresh
	}
	// Checked again where the destination is resolved (a symlink can lead
	// there too); here it fails before anything is made.
	if mc.dest == "/" && mc.kind != mountRemount {
		return nil, fmt.Errorf("%s.destination %q is the container's root: a mount there would cover the root filesystem", mc.field(), m.Destination)
	}
	return mc, nil
}

func (s *setup) mount(mc *mountCtx) error {
	switch mc.kind {
	case mountRemount:
		return s.mountRemount(mc)
	case mountBind:
		return s.mountBind(mc)
	case mountCgroup:
		return s.mountCgroup(mc)
	default:
		return s.mountFresh(mc)
	}
}

// mountRemount changes an existing mount; nothing is created.
func (s *setup) mountRemount(mc *mountCtx) error {
	t, err := resolveInRoot(s.rootFd, mc.dest, createNone, 0)
	if err != nil {
		return mc.stepErr("resolve destination", err)
	}
	defer t.close()
	if isBindRemount(mc.opts) {
		// Per-mount flags only: those a user namespace inherited locked
		// are kept, as for a bind mount's own flags.
		if err := remountBind(t.fd, mc.opts.Flags, mc.opts.Cleared); err != nil {
			return mc.mountErr(err)
		}
	} else if err := unix.Mount(mc.m.Source, procFd(t.fd), mc.m.Type, mc.opts.Flags, mc.opts.Data); err != nil {
		return mc.mountErr(err)
	}
	return s.afterMount(mc, t.fd)
}

// isBindRemount: a "remount" mount with "bind" changes the flags of the
// mount at its destination, not of the filesystem.
func isBindRemount(o MountOptions) bool {
	return o.Flags&unix.MS_REMOUNT != 0 && o.Flags&unix.MS_BIND != 0
}

func (s *setup) mountBind(mc *mountCtx) error {
	if mc.idmapped() {
		return fmt.Errorf("%s: an idmapped mount is made by the C init only", mc.field())
	}
	src := mc.src
	// The source is the host's (trusted) path; holding it open pins what
	// is bound, whatever happens to the name later.
	srcFd, err := unix.Open(src, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open bind source %q (%s.source): %w", src, mc.field(), err)
	}
	defer unix.Close(srcFd)
	var st unix.Stat_t
	if err := unix.Fstat(srcFd, &st); err != nil {
		return fmt.Errorf("stat bind source %q (%s.source): %w", src, mc.field(), err)
	}
	kind, perm := createDir, uint32(0o755)
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		kind, perm = createFile, 0o644
	}
	t, err := s.resolveDest(mc, kind, perm)
	if err != nil {
		return err
	}
	defer t.close()
	if err := checkProcDest(t.path, "bind", srcFd); err != nil {
		return fmt.Errorf("%s.destination: %w", mc.field(), err)
	}
	if err := unix.Mount(procFd(srcFd), procFd(t.fd), "", unix.MS_BIND|mc.opts.Flags&unix.MS_REC, ""); err != nil {
		return mc.mountErr(err)
	}
	mnt, err := s.reopenMount(t)
	if err != nil {
		return mc.stepErr("reopen", err)
	}
	defer unix.Close(mnt)
	if needsBindRemount(mc.opts) {
		if err := remountBind(mnt, mc.opts.Flags, mc.opts.Cleared); err != nil {
			return mc.stepErr("remount", err)
		}
	}
	return s.afterMount(mc, mnt)
}

// needsBindRemount: MS_BIND ignores every other flag, so ro, nosuid, atime
// and friends need a second, MS_REMOUNT|MS_BIND pass.
func needsBindRemount(o MountOptions) bool {
	return o.Flags&^(unix.MS_BIND|unix.MS_REC) != 0 || o.Cleared&lockableFlags != 0
}

// remountBind applies per-mount flags to the mount fd is the root of. In a
// user namespace the kernel refuses to clear flags the mount inherited
// locked (EPERM); then the mount's current flags are kept unless the caller
// explicitly asked to clear one of them, in which case the request cannot be
// honoured and the error stands.
func remountBind(fd int, flags, cleared uintptr) error {
	flags = flags&^(unix.MS_BIND|unix.MS_REC|unix.MS_REMOUNT) | unix.MS_BIND | unix.MS_REMOUNT
	err := unix.Mount("", procFd(fd), "", flags, "")
	if !errors.Is(err, unix.EPERM) {
		return err
	}
	var st unix.Statfs_t
	if serr := unix.Fstatfs(fd, &st); serr != nil {
		return err
	}
	cur := statfsToMountFlags(st.Flags)
	if cur&cleared != 0 {
		return err
	}
	const atimes = unix.MS_NOATIME | unix.MS_RELATIME | unix.MS_STRICTATIME
	if flags&atimes != 0 {
		cur &^= atimes
	}
	if flags|cur == flags {
		return err
	}
	return unix.Mount("", procFd(fd), "", flags|cur, "")
}

// mountFresh mounts a new filesystem instance (tmpfs, proc, sysfs, ...).
func (s *setup) mountFresh(mc *mountCtx) error {
	typ := mc.m.Type
	if typ == "proc" || typ == "sysfs" {
		if err := s.checkPlainDir(mc); err != nil {
			return err
		}
	}
	t, err := s.resolveDest(mc, createDir, 0o755)
	if err != nil {
		return err
	}
	defer t.close()
	// A symlink swapped in after checkPlainDir would be followed here.
	if (typ == "proc" || typ == "sysfs") && t.path != mc.dest {
		return fmt.Errorf("%s: filesystem %q must be mounted on an ordinary directory, but %q led to %q", mc.field(), typ, mc.dest, t.path)
	}
	if err := checkProcDest(t.path, typ, -1); err != nil {
		return fmt.Errorf("%s.destination: %w", mc.field(), err)
	}
	flags := mc.opts.Flags
	copyUp := mc.opts.TmpCopyUp && typ == "tmpfs"
	if copyUp {
		// The copy needs a writable tmpfs; ro is applied after it.
		flags &^= unix.MS_RDONLY
	}
	label := mountLabel(s.c.Spec)
	err = unix.Mount(mc.m.Source, procFd(t.fd), typ, flags, labelData(typ, mc.opts.Data, label))
	if err != nil && errors.Is(err, unix.EPERM) && s.c.UserNS {
		if host := userNSHostInstance[typ]; host != "" {
			if ferr := s.bindHost(mc, t, host); ferr != nil {
				return mc.mountErr(fmt.Errorf("%w (falling back to a bind of the host's %s: %v)", err, host, ferr))
			}
			return nil
		}
	}
	if err != nil {
		return mc.mountErr(err)
	}
	mnt, err := s.reopenMount(t)
	if err != nil {
		return mc.stepErr("reopen", err)
	}
	defer unix.Close(mnt)
	if err := mqueueLabel(typ, mnt, label); err != nil {
		return mc.stepErr("label", err)
	}
	if copyUp {
		if err := copyTree(t.fd, mnt); err != nil {
			return mc.stepErr("tmpcopyup", err)
		}
		if mc.opts.Flags&unix.MS_RDONLY != 0 {
			if err := remountBind(mnt, mc.opts.Flags, mc.opts.Cleared); err != nil {
				return mc.stepErr("remount read-only", err)
			}
		}
	}
	return s.afterMount(mc, mnt)
}

// userNSHostInstance is the host's instance of a filesystem a user
// namespace may not mount without its own network namespace (sysfs) or IPC
// namespace (mqueue): on EPERM it is bound instead, as runc does.
var userNSHostInstance = map[string]string{"sysfs": "/sys", "mqueue": "/dev/mqueue"}

// bindHost recursively binds a host path onto the resolved target with the
// mount's flags, as a stand-in for a filesystem the namespace may not mount.
func (s *setup) bindHost(mc *mountCtx, t *target, hostPath string) error {
	srcFd, err := unix.Open(hostPath, unix.O_PATH|unix.O_CLOEXEC|unix.O_DIRECTORY, 0)
	if err != nil {
		return err
	}
	defer unix.Close(srcFd)
	if err := unix.Mount(procFd(srcFd), procFd(t.fd), "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return err
	}
	mnt, err := s.reopenMount(t)
	if err != nil {
		return err
	}
	defer unix.Close(mnt)
	if err := remountBind(mnt, mc.opts.Flags, mc.opts.Cleared); err != nil {
		return err
	}
	// The host's tree comes with its submounts (/sys/fs/cgroup): read-only
	// must hold for them too (CVE-2023-25809).
	if mc.opts.Flags&unix.MS_RDONLY != 0 {
		attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}
		if err := unix.MountSetattr(mnt, "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, &attr); err != nil {
			return fmt.Errorf("mount_setattr (recursive read-only): %w", err)
		}
	}
	return s.afterMount(mc, mnt)
}

// afterMount applies what mount(2) cannot do in the same call: propagation
// changes and recursive (mount_setattr) attributes.
func (s *setup) afterMount(mc *mountCtx, mnt int) error {
	if a := mc.opts.RecAttr; a != nil {
		attr := *a
		if err := unix.MountSetattr(mnt, "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, &attr); err != nil {
			return mc.stepErr("mount_setattr (recursive options)", err)
		}
	}
	for _, p := range mc.opts.Propagation {
		if err := unix.Mount("", procFd(mnt), "", p, ""); err != nil {
			return mc.stepErr("set propagation", err)
		}
	}
	return nil
}

// resolveDest resolves a mount's destination inside the root, creating it
// as asked, and refuses one that is the root itself (through any spelling
// or symlink: "/", "/data" -> "/", "..", "/bin/.."): a mount there would
// cover the root after /proc, /sys and /dev were set up, and the container
// would get a /proc of the volume's making.
func (s *setup) resolveDest(mc *mountCtx, kind createKind, perm uint32) (*target, error) {
	t, err := resolveInRoot(s.rootFd, mc.dest, kind, perm)
	if err != nil {
		return nil, mc.mkdirErr(err)
	}
	if t.parentFd < 0 {
		t.close()
		return nil, fmt.Errorf("%s.destination %q resolves to the container's root: a mount there would cover the root filesystem", mc.field(), mc.dest)
	}
	return t, nil
}

func (s *setup) reopenMount(t *target) (int, error) { return reopenMount(t) }

// reopenMount returns an O_PATH descriptor of the mount just made on t.
// t.fd still names the object underneath, so the new mount is looked up
// again by name in the pinned parent directory, without following
// symlinks, and must be a mount root on a different mount than before.
// t is never the root: nothing is mounted there.
func reopenMount(t *target) (int, error) {
	if t.parentFd < 0 {
		return -1, fmt.Errorf("%q is the container's root", t.path)
	}
	oldID, _, err := mountIDOf(t.fd, "")
	if err != nil {
		return -1, err
	}
	fd, err := unix.Openat(t.parentFd, t.name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	id, isRoot, err := mountIDOf(fd, "")
	if err != nil {
		unix.Close(fd)
		return -1, err
	}
	if id == oldID || !isRoot {
		unix.Close(fd)
		return -1, fmt.Errorf("%q is not the new mount (changed under us?)", t.path)
	}
	return fd, nil
}

// checkPlainDir refuses proc and sysfs on anything but a real directory:
// an image could otherwise make /proc a symlink and have the container's
// procfs land somewhere else (runc refuses this too).
func (s *setup) checkPlainDir(mc *mountCtx) error {
	if mc.dest == "/" {
		return nil
	}
	parent, err := resolveInRoot(s.rootFd, filepath.Dir(mc.dest), createDir, 0o755)
	if err != nil {
		return mc.mkdirErr(err)
	}
	defer parent.close()
	var st unix.Stat_t
	err = unix.Fstatat(parent.fd, filepath.Base(mc.dest), &st, unix.AT_SYMLINK_NOFOLLOW)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return mc.stepErr("stat destination", err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		what := "not a directory"
		if st.Mode&unix.S_IFMT == unix.S_IFLNK {
			what = "a symlink"
		}
		return fmt.Errorf("%s: filesystem %q must be mounted on an ordinary directory, but %q is %s",
			mc.field(), mc.m.Type, mc.dest, what)
	}
	return nil
}

// procMountAllowed are the files under /proc that may be covered (lxcfs
// and similar provide container-aware versions of them).
var procMountAllowed = map[string]bool{
	"/proc/cpuinfo":                true,
	"/proc/diskstats":              true,
	"/proc/meminfo":                true,
	"/proc/stat":                   true,
	"/proc/swaps":                  true,
	"/proc/uptime":                 true,
	"/proc/loadavg":                true,
	"/proc/slabinfo":               true,
	"/proc/pressure/cpu":           true,
	"/proc/pressure/io":            true,
	"/proc/pressure/memory":        true,
	"/proc/net/dev":                true,
	"/proc/sys/kernel/ns_last_pid": true,
}

// procRootIno is the inode number of every procfs root directory.
const procRootIno = 1

// checkProcDest keeps spec mounts from covering the container's procfs
// (where the init later writes its own settings): on /proc itself only a
// procfs may go, below it only the files in procMountAllowed. dest is the
// resolved path, so a symlink cannot route around the check.
func checkProcDest(dest, typ string, srcFd int) error {
	if dest == "/proc" {
		if typ == "proc" {
			return nil
		}
		if typ == "bind" && srcFd >= 0 {
			var sfs unix.Statfs_t
			var st unix.Stat_t
			if unix.Fstatfs(srcFd, &sfs) == nil && sfs.Type == unix.PROC_SUPER_MAGIC &&
				unix.Fstat(srcFd, &st) == nil && st.Ino == procRootIno {
				return nil
			}
		}
		return fmt.Errorf("%q cannot be mounted on /proc: only a procfs (or a bind of a procfs root) can", typ)
	}
	if strings.HasPrefix(dest, "/proc/") && !procMountAllowed[dest] {
		return fmt.Errorf("%q is inside /proc and cannot be a mount destination", dest)
	}
	return nil
}
