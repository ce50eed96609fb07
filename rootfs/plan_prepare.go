package rootfs

import (
	"fmt"
	"slices"

	"golang.org/x/sys/unix"

	"berth/nsenter"

	"berth/internal/mountinfo"
)

// What comes between the propagation change of "/" and the rootfs bind in
// the init's plan (OpPrepare with BitNoBind ... OpRootBind): the rootfs's
// parent made private and the overlay rootfs, decided here.

// mountIDs gives the ids of the mount holding path and of the mount on "/"
// of the mount namespace whose root is at prefix ("" for this one, or
// "/proc/<pid>/root"; a variable for the golden tests).
var mountIDs = func(prefix, path string) (holding, root uint64, err error) {
	fd, err := openInRoot(prefix, path, unix.O_NOFOLLOW)
	if err != nil {
		return 0, 0, fmt.Errorf("open %q: %w", prefix+path, err)
	}
	holding, _, err = mountIDOf(fd, "")
	unix.Close(fd)
	if err != nil {
		return 0, 0, fmt.Errorf("statx %q: %w", prefix+path, err)
	}
	if fd, err = openInRoot(prefix, "/", 0); err != nil {
		return 0, 0, fmt.Errorf("open %q: %w", prefix+"/", err)
	}
	root, _, err = mountIDOf(fd, "")
	unix.Close(fd)
	if err != nil {
		return 0, 0, fmt.Errorf("statx %q: %w", prefix+"/", err)
	}
	return holding, root, nil
}

// openInRoot opens path (absolute) of the mount namespace whose root is at
// prefix as an O_PATH descriptor, with extra open flags (O_NOFOLLOW).
// Below "/proc/<pid>/root" a symlink is resolved inside that root, as
// the init resolves it: the kernel would take an absolute one from the
// parent's root, and what the parent reads of a mount namespace it
// joined no process there can point at the parent's own files.
func openInRoot(prefix, path string, flags int) (int, error) {
	how := &unix.OpenHow{Flags: uint64(unix.O_PATH | unix.O_CLOEXEC | flags)}
	if prefix == "" {
		return unix.Openat2(unix.AT_FDCWD, path, how)
	}
	rfd, err := unix.Open(prefix, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	defer unix.Close(rfd)
	how.Resolve = unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS
	return unix.Openat2(rfd, path, how)
}

// planParentPrivate makes the rootfs's parent mount private, decided in the
// parent. A new mount namespace of the init is a copy of this one in which
// every mount keeps its propagation (a shared one joins the peer group of
// its original); a joined one is read through the init (Config.mounts).
// That mount table and the propagation change of "/" (prop) tell whether
// the mount holding the rootfs is still shared when the init gets there;
// then its mount point is made private (OpPrivate): pivot_root refuses a
// new root under a shared mount, and a shared parent would copy the
// rootfs bind out to its peers.
func planParentPrivate(c *Config, prop uintptr) ([]PlanOp, error) {
	rootfs := c.Rootfs
	if prop&unix.MS_REC != 0 && prop&^unix.MS_REC != unix.MS_SHARED {
		// rslave (the default), rprivate, runbindable: nothing stays shared.
		return nil, nil
	}
	prefix, err := c.rootPrefix()
	if err != nil {
		return nil, fmt.Errorf("prepare rootfs %q: %w", rootfs, err)
	}
	holding, root, err := mountIDs(prefix, rootfs)
	if err != nil {
		return nil, fmt.Errorf("prepare rootfs %q: %w", rootfs, err)
	}
	mounts, err := c.mounts()
	if err != nil {
		return nil, fmt.Errorf("prepare rootfs %q: %w", rootfs, err)
	}
	mp, shared, err := sharedAfter(mounts, holding, root, prop)
	if err != nil {
		return nil, fmt.Errorf("prepare rootfs %q: mount %d holding %q %w", rootfs, holding, rootfs, err)
	}
	if !shared {
		return nil, nil
	}
	return []PlanOp{{Code: nsenter.OpPrivate, S: [6]string{mp, rootfs}}}, nil
}

// sharedAfter says whether mount holding (in mounts) is shared once the
// mount on "/" (root) got prop, and gives its mount point. A recursive
// change reaches every mount; any other only the one on "/".
func sharedAfter(mounts []mountinfo.Mount, holding, root uint64, prop uintptr) (mountpoint string, shared bool, err error) {
	i := slices.IndexFunc(mounts, func(m mountinfo.Mount) bool { return uint64(m.ID) == holding })
	if i < 0 {
		return "", false, fmt.Errorf("not found in /proc/self/mountinfo")
	}
	m := mounts[i]
	if prop&unix.MS_REC != 0 || holding == root {
		return m.Mountpoint, prop&^unix.MS_REC == unix.MS_SHARED, nil
	}
	return m.Mountpoint, m.Shared(), nil
}

// kernelHasLowerdirPlus: overlayfs takes "lowerdir+" (Linux 6.8), so the
// overlay is made with the mount API (a variable for the golden tests).
var kernelHasLowerdirPlus = func() bool { return kernelAtLeast(6, 8) }

// planOverlay is mountOverlayRoot decided in the parent: the annotation and
// the bundle's directories checked, and either the lowers for the mount
// API or, before Linux 6.8, mount(2)'s option string (OpOverlay).
func planOverlay(c *Config) ([]PlanOp, error) {
	lowers, upper, work, ok, err := c.overlayDirs()
	if err != nil || !ok {
		return nil, err
	}
	op := PlanOp{
		Code: nsenter.OpOverlay,
		N:    [6]uint64{uint64(len(lowers))},
		S:    [6]string{c.Rootfs, upper, work, "", "annotation " + OverlayAnnotation},
		V:    [][]string{lowers},
	}
	if !kernelHasLowerdirPlus() {
		if op.S[3], err = overlayOptions(lowers, upper, work); err != nil {
			return nil, fmt.Errorf("annotation %s: %w", OverlayAnnotation, err)
		}
	}
	return []PlanOp{op}, nil
}
