package rootfs

import (
	"errors"
	"fmt"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Config is what Setup and Finalize need to know about the container.
type Config struct {
	Spec *specs.Spec
	// Rootfs is the absolute, symlink-free host path of the rootfs.
	Rootfs string
	// Bundle is the bundle directory; relative bind-mount sources are
	// resolved against it (OCI: "relative to the bundle"). When empty they
	// are relative to the working directory.
	Bundle string
	// NoPivot moves the rootfs onto / and chroots instead of pivot_root.
	NoPivot bool
	// UserNS: the container has its own user namespace, so mknod is
	// impossible (device nodes are bind-mounted from the host) and sysfs or
	// mqueue may refuse to mount (the host's are bind-mounted instead).
	UserNS bool
	// CgroupNS: the container has its own cgroup namespace, so a "cgroup"
	// mount can be a fresh cgroup filesystem instead of host bind mounts.
	CgroupNS bool
	// OwnCgroups maps each hierarchy's controller list ("" for cgroup2) to
	// the init's cgroup path as the host sees it (its /proc/<pid>/cgroup
	// read by the parent: inside a cgroup namespace the init sees only
	// "/"). Nil: read /proc/self/cgroup.
	OwnCgroups map[string]string
	// OwnCgroupsFrom, when OwnCgroups is nil, gives them when first needed
	// (the plan is compiled while the init is still being made); asked
	// once per "cgroup" mount.
	OwnCgroupsFrom func() (map[string]string, error)
	// JoinedMountNSPid, when set, says the init joins an existing mount
	// namespace (linux.namespaces mount with a path) and gives the init's
	// pid once it is in it: the plan's mount facts are read there
	// (mountns.go).
	JoinedMountNSPid func() (int, error)
	// BeforePivot runs after every mount and device is in place and before
	// pivot_root (the createContainer hook point). May be nil.
	BeforePivot func() error
	// BeforePivotOps is BeforePivot for the C init's plan (PlanSetup):
	// the createContainer hooks, placed right after the hooks point.
	BeforePivotOps []PlanOp
	// Mark, when set, is told each step done (berth --debug timings).
	Mark func(step string)
}

func (c *Config) mark(step string) {
	if c.Mark != nil {
		c.Mark(step)
	}
}

// setup carries Setup's state from one step to the next.
type setup struct {
	c      *Config
	rootFd int // O_PATH descriptor of the rootfs bind mount
}

// Setup builds the container's root filesystem and makes it "/": root
// propagation, the rootfs made a mount point whose parent is not shared,
// every spec mount in order, /dev nodes and symlinks, BeforePivot, then
// pivot_root (or MS_MOVE and chroot) and chdir("/").
func Setup(c *Config) error {
	if c == nil || c.Spec == nil {
		return errors.New("rootfs: no spec")
	}
	if !filepath.IsAbs(c.Rootfs) {
		return fmt.Errorf("rootfs %q is not an absolute path", c.Rootfs)
	}
	var propName string
	if c.Spec.Linux != nil {
		propName = c.Spec.Linux.RootfsPropagation
	}
	prop, err := rootPropagation(propName)
	if err != nil {
		return err
	}
	// Before anything is mounted: with the default rslave nothing below can
	// propagate back to the host's mount namespace.
	if err := unix.Mount("", "/", "", prop, ""); err != nil {
		return fmt.Errorf("set propagation of / (linux.rootfsPropagation %q): %w", propName, err)
	}
	if err := makeParentPrivate(c.Rootfs); err != nil {
		return fmt.Errorf("prepare rootfs %q: %w", c.Rootfs, err)
	}
	if err := c.mountOverlayRoot(); err != nil {
		return err
	}
	if err := unix.Mount(c.Rootfs, c.Rootfs, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind mount rootfs %q on itself: %w", c.Rootfs, err)
	}
	rootFd, err := openRoot(c.Rootfs)
	if err != nil {
		return err
	}
	s := &setup{c: c, rootFd: rootFd}
	defer func() { unix.Close(s.rootFd) }()

	c.mark("rootfs: propagation, bind")
	var devRO *mountCtx
	for i, m := range c.Spec.Mounts {
		mc, err := newMountCtx(c, i, m)
		if err != nil {
			return err
		}
		// A read-only /dev is made read-only after its nodes (PlanSetup).
		if mc.kind == mountFresh && mc.dest == "/dev" && mc.opts.Flags&unix.MS_RDONLY != 0 {
			ro := *mc
			devRO = &ro
			mc.opts.Flags &^= unix.MS_RDONLY
		}
		if err := s.mount(mc); err != nil {
			return err
		}
	}
	c.mark("rootfs: spec mounts")
	if err := s.setupDev(); err != nil {
		return err
	}
	if devRO != nil {
		if err := s.remountDevReadonly(devRO); err != nil {
			return err
		}
	}
	c.mark("rootfs: /dev")
	if c.BeforePivot != nil {
		if err := c.BeforePivot(); err != nil {
			return err
		}
	}
	if c.NoPivot {
		err = moveRoot(c.Rootfs)
	} else {
		err = pivotRoot(c.Rootfs)
	}
	if err != nil {
		return err
	}
	if err := BackToOwnProc(); err != nil {
		return err
	}
	c.mark("rootfs: pivot_root")
	// Only now, on the container's own root: set earlier on the rootfs it
	// could have joined the rootfs to the host's peer groups.
	if propName != "" {
		if err := unix.Mount("", "/", "", prop, ""); err != nil {
			return fmt.Errorf("set propagation of the container's / (linux.rootfsPropagation %q): %w", propName, err)
		}
	}
	return nil
}

// pivotRoot makes rootfs the root without a put_old directory: after
// pivot_root(".", ".") the old root is stacked under the new one at "/",
// where fchdir to it and a lazy unmount remove it. Making it rslave first
// keeps that unmount from propagating to the host.
func pivotRoot(rootfs string) error {
	oldRoot, err := unix.Open("/", unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open old root: %w", err)
	}
	defer unix.Close(oldRoot)
	newRoot, err := unix.Open(rootfs, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open new root %q: %w", rootfs, err)
	}
	defer unix.Close(newRoot)
	if err := unix.Fchdir(newRoot); err != nil {
		return fmt.Errorf("chdir %q: %w", rootfs, err)
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root %q: %w", rootfs, err)
	}
	if err := unix.Fchdir(oldRoot); err != nil {
		return fmt.Errorf("chdir to old root: %w", err)
	}
	if err := unix.Mount("", ".", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("make old root rslave: %w", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("unmount old root: %w", err)
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("chdir /: %w", err)
	}
	return nil
}

// moveRoot is --no-pivot: for roots pivot_root cannot leave (an initramfs).
// The old root stays under the chroot, so the host's proc and sysfs mounts
// are taken away first (nopivot.go).
func moveRoot(rootfs string) error {
	if err := hideHostFS(rootfs); err != nil {
		return err
	}
	if err := unix.Chdir(rootfs); err != nil {
		return fmt.Errorf("chdir %q: %w", rootfs, err)
	}
	if err := unix.Mount(rootfs, "/", "", unix.MS_MOVE, ""); err != nil {
		return fmt.Errorf("move mount %q to /: %w", rootfs, err)
	}
	if err := unix.Chroot("."); err != nil {
		return fmt.Errorf("chroot %q: %w", rootfs, err)
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("chdir /: %w", err)
	}
	return nil
}

// remountDevReadonly makes mc, a fresh /dev mounted writable for its
// nodes, read-only with the flags it asked for.
func (s *setup) remountDevReadonly(mc *mountCtx) error {
	t, err := resolveInRoot(s.rootFd, "/dev", createNone, 0)
	if err != nil {
		return mc.stepErr("resolve /dev", err)
	}
	defer t.close()
	data := labelData(mc.m.Type, mc.opts.Data, mountLabel(s.c.Spec))
	if err := unix.Mount(mc.m.Source, procFd(t.fd), mc.m.Type, mc.opts.Flags|unix.MS_REMOUNT, data); err != nil {
		return mc.stepErr("remount read-only", err)
	}
	return nil
}
