package rootfs

import (
	"fmt"
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
