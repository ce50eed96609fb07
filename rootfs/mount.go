package rootfs

import (
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

// newMountCtx reads spec mount i: its options, its destination, how it is
// made and, for a bind, the host source: every check of a spec mount the
// parent can make before anything is mounted.
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

// isBindRemount: a "remount" mount with "bind" changes the flags of the
// mount at its destination, not of the filesystem.
func isBindRemount(o MountOptions) bool {
	return o.Flags&unix.MS_REMOUNT != 0 && o.Flags&unix.MS_BIND != 0
}

// needsBindRemount: MS_BIND ignores every other flag, so ro, nosuid, atime
// and friends need a second, MS_REMOUNT|MS_BIND pass.
func needsBindRemount(o MountOptions) bool {
	return o.Flags&^(unix.MS_BIND|unix.MS_REC) != 0 || o.Cleared&lockableFlags != 0
}

// userNSHostInstance is the host's instance of a filesystem a user
// namespace may not mount without its own network namespace (sysfs) or IPC
// namespace (mqueue): on EPERM it is bound instead, as runc does.
var userNSHostInstance = map[string]string{"sysfs": "/sys", "mqueue": "/dev/mqueue"}

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
