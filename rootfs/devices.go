package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// device is a node to create inside the rootfs.
type device struct {
	path         string
	typ          uint32 // S_IFCHR, S_IFBLK or S_IFIFO
	major, minor int64
	mode         uint32 // permission bits
	uid, gid     uint32
	field        string // where it came from, for errors
}

// defaultDevices are the nodes every container gets (runc's list).
var defaultDevices = []device{
	{path: "/dev/null", typ: unix.S_IFCHR, major: 1, minor: 3, mode: 0o666},
	{path: "/dev/zero", typ: unix.S_IFCHR, major: 1, minor: 5, mode: 0o666},
	{path: "/dev/full", typ: unix.S_IFCHR, major: 1, minor: 7, mode: 0o666},
	{path: "/dev/random", typ: unix.S_IFCHR, major: 1, minor: 8, mode: 0o666},
	{path: "/dev/urandom", typ: unix.S_IFCHR, major: 1, minor: 9, mode: 0o666},
	{path: "/dev/tty", typ: unix.S_IFCHR, major: 5, minor: 0, mode: 0o666},
}

// specDevices converts linux.devices.
func specDevices(spec *specs.Spec) ([]device, error) {
	if spec.Linux == nil {
		return nil, nil
	}
	var out []device
	for i, d := range spec.Linux.Devices {
		field := fmt.Sprintf("linux.devices[%d]", i)
		if !filepath.IsAbs(d.Path) {
			return nil, fmt.Errorf("%s.path: %q is not absolute", field, d.Path)
		}
		dev := device{
			path:  filepath.Clean(d.Path),
			major: d.Major,
			minor: d.Minor,
			mode:  0o666,
			field: field,
		}
		switch d.Type {
		case "c", "u":
			dev.typ = unix.S_IFCHR
		case "b":
			dev.typ = unix.S_IFBLK
		case "p":
			dev.typ = unix.S_IFIFO
			dev.major, dev.minor = 0, 0
		default:
			return nil, fmt.Errorf("%s.type: unknown device type %q", field, d.Type)
		}
		if d.FileMode != nil {
			dev.mode = uint32(d.FileMode.Perm())
		}
		if d.UID != nil {
			dev.uid = *d.UID
		}
		if d.GID != nil {
			dev.gid = *d.GID
		}
		out = append(out, dev)
	}
	return out, nil
}

// devicesFor lists the nodes setupDev makes, in order (the default ones
// the spec does not name, then linux.devices), and whether /dev/pts is a
// devpts (then /dev/ptmx links into it). skip: /dev is a bind mount from the
// host, where everything is there already and touching it would change the
// host's /dev. PlanSetup compiles the same list for the C init.
func devicesFor(spec *specs.Spec) (devs []device, devpts, skip bool, err error) {
	for _, m := range spec.Mounts {
		dest := filepath.Clean("/" + m.Destination)
		opts, _ := ParseMountOptions(m.Options)
		if dest == "/dev" && (opts.Bind || m.Type == "bind") {
			return nil, false, true, nil
		}
		if dest == "/dev/pts" && m.Type == "devpts" {
			devpts = true
		}
	}
	named, err := specDevices(spec)
	if err != nil {
		return nil, false, false, err
	}
	inSpec := map[string]bool{}
	for _, d := range named {
		inSpec[d.path] = true
	}
	for _, d := range defaultDevices {
		if !inSpec[d.path] {
			d.field = "default device " + d.path
			devs = append(devs, d)
		}
	}
	return append(devs, named...), devpts, false, nil
}

// setupDev creates the default devices, linux.devices and the /dev
// symlinks (devicesFor).
func (s *setup) setupDev() error {
	devs, devpts, skip, err := devicesFor(s.c.Spec)
	if err != nil || skip {
		return err
	}
	// Modes must come out exactly as asked, not masked.
	old := unix.Umask(0)
	defer unix.Umask(old)
	for _, d := range devs {
		if err := s.createDevice(d); err != nil {
			return err
		}
	}
	return s.devSymlinks(devpts)
}

// createDevice makes one node unless something is already at its path
// (like runc, an existing entry is left as it is; Finalize checks /dev/null
// before trusting it). It uses mknod, or a bind mount of the host's node
// where mknod is not allowed (user namespace).
func (s *setup) createDevice(d device) error {
	parent, err := resolveInRoot(s.rootFd, filepath.Dir(d.path), createDir, 0o755)
	if err != nil {
		return fmt.Errorf("mkdir %q in rootfs (%s): %w", filepath.Dir(d.path), d.field, err)
	}
	defer parent.close()
	name := filepath.Base(d.path)
	var st unix.Stat_t
	err = unix.Fstatat(parent.fd, name, &st, unix.AT_SYMLINK_NOFOLLOW)
	exists := err == nil
	if err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("stat %q (%s): %w", d.path, d.field, err)
	}
	bindMode := s.c.UserNS
	if exists && !(bindMode && st.Mode&unix.S_IFMT == unix.S_IFREG) {
		return nil
	}
	if !bindMode {
		err := unix.Mknodat(parent.fd, name, d.typ|d.mode, int(unix.Mkdev(uint32(d.major), uint32(d.minor))))
		if err == nil {
			if err := unix.Fchownat(parent.fd, name, int(d.uid), int(d.gid), unix.AT_SYMLINK_NOFOLLOW); err != nil {
				return fmt.Errorf("chown %q (%s): %w", d.path, d.field, err)
			}
			return nil
		}
		if errors.Is(err, unix.EEXIST) {
			return nil
		}
		if !errors.Is(err, unix.EPERM) {
			return fmt.Errorf("mknod %q (%s): %w", d.path, d.field, err)
		}
	}
	return s.bindDevice(d, parent.fd, name)
}

// bindDevice binds the host's node at the same path onto an empty file.
func (s *setup) bindDevice(d device, parentFd int, name string) error {
	f, err := unix.Openat(parentFd, name, unix.O_CREAT|unix.O_NOFOLLOW|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("create %q for a bind of the host device (%s): %w", d.path, d.field, err)
	}
	unix.Close(f)
	dst, err := unix.Openat(parentFd, name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %q (%s): %w", d.path, d.field, err)
	}
	defer unix.Close(dst)
	src, err := unix.Open(d.path, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open host device %q (%s): %w", d.path, d.field, err)
	}
	defer unix.Close(src)
	if err := unix.Mount(procFd(src), procFd(dst), "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind mount host device %q (%s): %w", d.path, d.field, err)
	}
	return nil
}

// devSymlinks makes the /dev symlinks programs expect. /dev/ptmx points
// into the container's devpts only when it has one at /dev/pts.
func (s *setup) devSymlinks(devpts bool) error {
	dev, err := resolveInRoot(s.rootFd, "/dev", createDir, 0o755)
	if err != nil {
		return fmt.Errorf("mkdir \"/dev\" in rootfs: %w", err)
	}
	defer dev.close()
	links := [][2]string{
		{"/proc/self/fd", "fd"},
		{"/proc/self/fd/0", "stdin"},
		{"/proc/self/fd/1", "stdout"},
		{"/proc/self/fd/2", "stderr"},
	}
	// Before the pivot /proc is the host's: no kcore there, no link.
	if _, err := os.Stat("/proc/kcore"); err == nil {
		links = append(links, [2]string{"/proc/kcore", "core"})
	}
	for _, l := range links {
		if err := unix.Symlinkat(l[0], dev.fd, l[1]); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("symlink /dev/%s -> %s: %w", l[1], l[0], err)
		}
	}
	if devpts {
		if err := unix.Unlinkat(dev.fd, "ptmx", 0); err != nil && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("remove /dev/ptmx: %w", err)
		}
		if err := unix.Symlinkat("pts/ptmx", dev.fd, "ptmx"); err != nil {
			return fmt.Errorf("symlink /dev/ptmx -> pts/ptmx: %w", err)
		}
	}
	return nil
}
