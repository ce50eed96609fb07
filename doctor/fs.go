package doctor

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"berth/internal/mountinfo"
)

// openTreeClone is OPEN_TREE_CLONE from <linux/mount.h>.
const openTreeClone = 1

// readMounts reads this process's mount table. In a chroot the kernel
// already shows mount points relative to the new root.
func readMounts() ([]mountinfo.Mount, error) {
	return mountinfo.Read()
}

// overlayCheck asks fsopen("overlay") for a filesystem context: the kernel
// answers ENODEV when it has no overlayfs (loading the module on demand,
// as any mount would). Nothing is mounted; the context is closed.
func (h *host) overlayCheck() Check {
	c := Check{Name: "overlayfs"}
	fd, err := unix.Fsopen("overlay", unix.FSOPEN_CLOEXEC)
	if err == nil {
		unix.Close(fd)
		c.Status, c.Detail = OK, `fsopen("overlay") works: image layers can be stacked without copying`
		return c
	}
	errno, _ := errnoOf(err)
	c.Status = Warn
	c.Hint = "load or build overlayfs (modprobe overlay; CONFIG_OVERLAY_FS) to stack image layers without copying"
	if errno == unix.ENODEV {
		c.Detail = `fsopen("overlay"): ` + errnoText(err) + ": the kernel has no overlay filesystem"
		return c
	}
	// fsopen itself is missing or refused: fall back to the registry.
	c.Detail = `fsopen("overlay"): ` + h.blocked(err)
	if data, ferr := os.ReadFile("/proc/filesystems"); ferr == nil && hasFilesystem(string(data), "overlay") {
		c.Status = OK
		c.Detail += "; overlay is in /proc/filesystems"
		c.Hint = ""
	} else if _, serr := os.Stat(filepath.Join("/lib/modules", h.release, "kernel/fs/overlayfs")); serr == nil {
		c.Detail += "; overlay module present but not loaded"
		c.Hint = "modprobe overlay"
	}
	return c
}

// hasFilesystem looks a name up in /proc/filesystems ("nodev\toverlay").
func hasFilesystem(text, name string) bool {
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && f[len(f)-1] == name {
			return true
		}
	}
	return false
}

// idmapCheck applies an idmap to a detached clone of the root mount: the
// clone belongs to no mount namespace and vanishes when its descriptor is
// closed, so the host's mounts are never touched.
func (h *host) idmapCheck() Check {
	c := Check{Name: "idmapped mounts"}
	// Without the probe only the version speaks, and says so.
	guess := func(why string) Check {
		c.Status, c.Detail = Warn, "not probed ("+why+")"
		c.Hint = "run berth doctor as root in the initial namespaces to probe them"
		if h.versionErr == nil && h.version.atLeast(5, 12) {
			c.Detail += "; kernel " + h.version.String() + " >= 5.12 should have them"
		} else {
			c.Hint = "kernel 5.12 or later brings mount_setattr(MOUNT_ATTR_IDMAP)"
		}
		return c
	}
	if h.usernsFd < 0 {
		return guess("no user namespace to map with: " + h.blocked(h.usernsErr))
	}
	tree, err := unix.OpenTree(unix.AT_FDCWD, "/", openTreeClone|unix.O_CLOEXEC)
	if err != nil {
		if errors.Is(err, unix.EPERM) {
			return guess("open_tree needs CAP_SYS_ADMIN")
		}
		c.Status, c.Detail = Warn, "open_tree: "+h.blocked(err)
		c.Hint = "kernel 5.12 or later brings idmapped mounts"
		return c
	}
	defer unix.Close(tree)
	fstype := "?"
	if m, ok := mountOf(h.mounts, "/"); ok {
		fstype = m.FSType
	}
	err = unix.MountSetattr(tree, "", unix.AT_EMPTY_PATH, &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_IDMAP, Userns_fd: uint64(h.usernsFd)})
	switch {
	case err == nil:
		c.Status, c.Detail = OK, fmt.Sprintf("supported (probed on a detached clone of the / mount, %s)", fstype)
	case errors.Is(err, unix.EINVAL):
		c.Status, c.Detail = Warn, fmt.Sprintf("mount_setattr(MOUNT_ATTR_IDMAP) on a clone of / (%s): %s: this filesystem cannot be idmapped", fstype, errnoText(err))
		c.Hint = "keep bundles on a filesystem that supports idmapping (ext4, xfs, btrfs, tmpfs >= 6.3) or shift ownership when unpacking"
	default:
		c.Status, c.Detail = Warn, "mount_setattr(MOUNT_ATTR_IDMAP): "+h.blocked(err)
		c.Hint = "kernel 5.12 or later brings idmapped mounts"
	}
	return c
}

func stateRootCheck(root string) Check {
	c := Check{Name: "state root"}
	abs, err := filepath.Abs(root)
	if err != nil {
		c.Status, c.Detail = Fail, err.Error()
		return c
	}
	mounts, _ := readMounts()
	fsOf := func(p string) (mountinfo.Mount, bool) {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		return mountOf(mounts, p)
	}

	st, err := os.Stat(abs)
	if errors.Is(err, fs.ErrNotExist) {
		parent := filepath.Dir(abs)
		for {
			if _, err := os.Stat(parent); err == nil || parent == "/" {
				break
			}
			parent = filepath.Dir(parent)
		}
		m, _ := fsOf(parent)
		if err := unix.Access(parent, unix.W_OK); err != nil || mountinfo.HasOption(m.Options, "ro") {
			c.Status, c.Detail = Fail, fmt.Sprintf("%s does not exist and %s (%s) is not writable", abs, parent, m.FSType)
			c.Hint = "pick a writable --root, or create " + abs + " (mode 0700)"
			return c
		}
		c.Status, c.Detail = OK, fmt.Sprintf("%s does not exist yet; it will be made in %s (%s, writable)", abs, parent, m.FSType)
		return tmpfsNote(c, m)
	}
	if err != nil {
		c.Status, c.Detail = Fail, err.Error()
		return c
	}
	if !st.IsDir() {
		c.Status, c.Detail = Fail, abs+" is not a directory"
		c.Hint = "point --root at a directory"
		return c
	}
	sys := st.Sys().(*syscall.Stat_t)
	perm := st.Mode().Perm()
	m, _ := fsOf(abs)
	containers := 0
	if entries, err := os.ReadDir(abs); err == nil {
		for _, e := range entries {
			if _, err := os.Stat(filepath.Join(abs, e.Name(), "state.json")); err == nil {
				containers++
			}
		}
	}
	c.Detail = fmt.Sprintf("%s: %s, mode %#o, owner uid %d, %d container(s)", abs, m.FSType, perm, sys.Uid, containers)

	probe, err := os.CreateTemp(abs, ".doctor-probe-*")
	if err != nil {
		c.Status = Fail
		c.Detail += "; not writable: " + errnoText(err)
		c.Hint = "make " + abs + " writable for uid " + fmt.Sprint(os.Geteuid()) + ", or pick another --root"
		return c
	}
	// berth serialises every command on a container with flock.
	lockErr := unix.Flock(int(probe.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	probe.Close()
	os.Remove(probe.Name())
	if lockErr != nil {
		c.Status = Fail
		c.Detail += "; flock: " + errnoText(lockErr)
		c.Hint = "berth locks container state with flock: put --root on a local filesystem such as tmpfs"
		return c
	}

	switch {
	case perm&0o022 != 0:
		c.Status = Fail
		c.Hint = fmt.Sprintf("others can write container state: chmod 0700 %s", abs)
	case int(sys.Uid) != os.Geteuid():
		c.Status = Warn
		c.Hint = fmt.Sprintf("owned by uid %d, not by the caller (uid %d)", sys.Uid, os.Geteuid())
	case perm&0o077 != 0:
		c.Status = Warn
		c.Hint = fmt.Sprintf("others can read container state: chmod 0700 %s", abs)
	default:
		c.Status = OK
	}
	return tmpfsNote(c, m)
}

// tmpfsNote warns about state that outlives a reboot: after one, every
// recorded container would look stopped, never cleaned up.
func tmpfsNote(c Check, m mountinfo.Mount) Check {
	if m.FSType == "tmpfs" || m.FSType == "ramfs" || m.FSType == "" || c.Status != OK {
		return c
	}
	c.Status = Warn
	c.Hint = "the state is on " + m.FSType + " and survives a reboot as stale containers; keep it on tmpfs (like /run), or clean it at boot"
	return c
}
