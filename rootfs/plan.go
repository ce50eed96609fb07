package rootfs

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"berth/internal/mountinfo"
	"berth/nsenter"
)

// PlanOp is one step of the init's plan: decided here in the parent, done
// by nsenter/cinit.c in the container. The
// meaning of N and S is per operation (bootstrap.h); S[4] and S[5] are the
// spec field and the source that error messages name.
type PlanOp struct {
	Code uint32
	N    [6]uint64
	Prop []uint64
	S    [6]string
	// V holds the string vectors of the operations that have them
	// (nsenter.OpVectors): a hook's args and env, an overlay's lowers.
	V [][]string
}

// PlanSetup compiles the rootfs (c.OwnCgroups, when the spec has a
// "cgroup" mount, decide what it shows): propagation of "/", the rootfs
// made a mount point whose parent is not shared (an overlay rootfs
// mounted first), every spec mount in order, /dev nodes and symlinks, the
// hooks point (OpHooks) and the createContainer hooks, then pivot_root (or,
// with NoPivot, the host's proc and sysfs detached, then MS_MOVE and
// chroot) and the root's propagation.
func PlanSetup(c *Config) ([]PlanOp, error) {
	if !filepath.IsAbs(c.Rootfs) {
		return nil, fmt.Errorf("rootfs %q is not an absolute path", c.Rootfs)
	}
	var propName string
	if c.Spec.Linux != nil {
		propName = c.Spec.Linux.RootfsPropagation
	}
	prop, err := rootPropagation(propName)
	if err != nil {
		return nil, err
	}
	// Before anything is mounted: with the default rslave nothing below
	// can propagate back to the host's mount namespace.
	prepare := PlanOp{Code: nsenter.OpPrepare, N: [6]uint64{uint64(prop)}, S: [6]string{c.Rootfs, "", "", "", propName}}
	// Then, before the rootfs bind (which it would copy out to its
	// peers), its parent mount made private when it is still shared, and
	// the overlay mounted on the rootfs path.
	between, err := planParentPrivate(c, prop)
	if err != nil {
		return nil, err
	}
	overlay, err := planOverlay(c)
	if err != nil {
		return nil, err
	}
	between = append(between, overlay...)
	ops := []PlanOp{prepare}
	if len(between) > 0 {
		ops[0].N[2] |= nsenter.BitNoBind
		ops = append(append(ops, between...), PlanOp{Code: nsenter.OpRootBind, S: [6]string{c.Rootfs}})
	}
	ops = append(ops, mark("rootfs: propagation, bind"))
	// linux.mountLabel is in the data of each fresh mount that takes a
	// context= option (labelData); an mqueue, which takes none, gets it as
	// an xattr of its root (BitMqueueLabel) from this op.
	if l := mountLabel(c.Spec); l != "" {
		ops = append(ops, PlanOp{Code: nsenter.OpMountLabel, S: [6]string{l}})
	}
	var devRemount []PlanOp
	for i, m := range c.Spec.Mounts {
		mops, err := planMount(c, i, m)
		if err != nil {
			return nil, err
		}
		// A read-only /dev is mounted writable and made read-only once its
		// submounts' mount points and the device nodes are in it (as runc
		// does): a read-only tmpfs refuses them.
		for k := range mops {
			if o := &mops[k]; o.Code == nsenter.OpFresh && o.S[0] == "/dev" && o.N[0]&unix.MS_RDONLY != 0 {
				ro := PlanOp{Code: nsenter.OpRemount, N: [6]uint64{o.N[0] | unix.MS_REMOUNT}, S: o.S}
				devRemount = append(devRemount, ro)
				o.N[0] &^= unix.MS_RDONLY
			}
		}
		ops = append(ops, mops...)
	}
	ops = append(ops, mark("rootfs: spec mounts"))
	dev, err := planDev(c)
	if err != nil {
		return nil, err
	}
	ops = append(ops, dev...)
	ops = append(ops, devRemount...)
	// The hooks point, then the createContainer hooks (BeforePivotOps),
	// every mount in place, before the
	// root changes.
	ops = append(ops, mark("rootfs: /dev"), PlanOp{Code: nsenter.OpHooks})
	ops = append(ops, c.BeforePivotOps...)
	pivot := PlanOp{Code: nsenter.OpPivot, S: [6]string{c.Rootfs}}
	if c.NoPivot {
		pivot.N[2] = nsenter.BitNoPivot
		// After the hooks point and right before the move: the host's
		// proc and sysfs mounts, which the chroot would only hide
		// (nopivot.go), from the init's own mount table, whose mount ids
		// the init checks (Config.initMounts).
		mounts, err := c.initMounts()
		if err != nil {
			return nil, fmt.Errorf("--no-pivot: find the host's proc and sysfs mounts: %w", err)
		}
		bits := detachBits(c.UserNS, c.JoinedMountNS)
		for _, h := range noPivotHostFS(mounts, c.Rootfs) {
			ops = append(ops, PlanOp{Code: nsenter.OpDetach, N: [6]uint64{uint64(h.id), uint64(h.parentID), bits},
				S: [6]string{h.mountpoint, h.fstype, h.parent}})
		}
	}
	ops = append(ops, pivot, mark("rootfs: pivot_root"))
	if propName != "" {
		ops = append(ops, PlanOp{Code: nsenter.OpRootPropagation, N: [6]uint64{uint64(prop)}, S: [6]string{4: propName}})
	}
	return ops, nil
}

// PlanFinalize compiles what comes after the terminal and the hostname:
// masked paths, read-only paths, root.readonly.
func PlanFinalize(c *Config) []PlanOp {
	var ops []PlanOp
	if l := c.Spec.Linux; l != nil {
		for i, p := range l.MaskedPaths {
			// S[3]: the data of the tmpfs that covers a directory.
			data := labelData("tmpfs", "", mountLabel(c.Spec))
			ops = append(ops, PlanOp{Code: nsenter.OpMask, S: [6]string{p, "", "", data, "linux.maskedPaths[" + strconv.Itoa(i) + "]"}})
		}
		for i, p := range l.ReadonlyPaths {
			ops = append(ops, PlanOp{Code: nsenter.OpReadonly, S: [6]string{p, "", "", "", "linux.readonlyPaths[" + strconv.Itoa(i) + "]"}})
		}
	}
	if c.Spec.Root != nil && c.Spec.Root.Readonly {
		ops = append(ops, PlanOp{Code: nsenter.OpRootReadonly})
	}
	return ops
}

// opCgroupPending stands for a "cgroup" mount until ResolveCgroups; never
// sent to the init (0 is no operation).
const opCgroupPending = 0

// ResolveCgroups expands the "cgroup" mounts of a plan from PlanSetup
// (asking c for the init's cgroups only then, so that the rest can be
// compiled while the init is being made). OwnCgroupsFrom is asked once per
// "cgroup" mount.
func ResolveCgroups(c *Config, ops []PlanOp) ([]PlanOp, error) {
	var out []PlanOp
	for _, op := range ops {
		if op.Code != opCgroupPending {
			out = append(out, op)
			continue
		}
		cg, err := planCgroup(c, op)
		if err != nil {
			return nil, err
		}
		out = append(out, cg...)
	}
	return out, nil
}

// HasCgroupMount reports whether the spec mounts a "cgroup" filesystem (and
// so needs Config.OwnCgroups).
func HasCgroupMount(spec *specs.Spec) bool {
	for _, m := range spec.Mounts {
		if m.Type == "cgroup" {
			return true
		}
	}
	return false
}

// PlanHeader is what the init needs besides the operations: the files
// below /proc a mount may cover, and the flags a bind remount restates.
func PlanHeader() (procAllowed []string, lockable uint64) {
	for p := range procMountAllowed {
		procAllowed = append(procAllowed, p)
	}
	slices.Sort(procAllowed)
	return procAllowed, lockableFlags
}

func mark(step string) PlanOp { return PlanOp{Code: nsenter.OpMark, S: [6]string{step}} }

// planMount compiles one spec mount, read by newMountCtx.
func planMount(c *Config, i int, m specs.Mount) ([]PlanOp, error) {
	mc, err := newMountCtx(c, i, m)
	if err != nil {
		return nil, err
	}
	opts := mc.opts
	op := PlanOp{
		N:    [6]uint64{uint64(opts.Flags), uint64(opts.Cleared)},
		Prop: make([]uint64, len(opts.Propagation)),
		S:    [6]string{mc.dest, m.Type, m.Source, opts.Data, mc.field(), mc.source()},
	}
	for k, p := range opts.Propagation {
		op.Prop[k] = uint64(p)
	}
	if a := opts.RecAttr; a != nil {
		op.N[2] |= nsenter.BitAttr
		op.N[3], op.N[4], op.N[5] = a.Attr_set, a.Attr_clr, a.Propagation
	}
	switch mc.kind {
	case mountRemount:
		op.Code = nsenter.OpRemount
		if isBindRemount(opts) {
			op.N[2] |= nsenter.BitRemount
		}
	case mountBind:
		op.Code = nsenter.OpBind
		op.S[2] = mc.src
		if needsBindRemount(opts) {
			op.N[2] |= nsenter.BitRemount
		}
		if mc.idmapped() {
			// The parent's detached idmapped mount is moved into place
			// instead of a bind of the source: the fd first.
			fd, ok := c.IdmapFDs[i]
			if !ok {
				return nil, fmt.Errorf("%s: idmapped mount without its detached mount", mc.field())
			}
			op.N[2] |= nsenter.BitIdmap
			return []PlanOp{{Code: nsenter.OpIdmapFD, N: [6]uint64{uint64(fd)}}, op}, nil
		}
	case mountCgroup:
		// Expanded by ResolveCgroups, once the init's cgroups are known.
		op.Code = opCgroupPending
	default:
		op.Code = nsenter.OpFresh
		if m.Type == "proc" || m.Type == "sysfs" {
			op.N[2] |= nsenter.BitPlainDir
		}
		label := mountLabel(c.Spec)
		op.S[3] = labelData(m.Type, opts.Data, label)
		if label != "" && m.Type == "mqueue" {
			op.N[2] |= nsenter.BitMqueueLabel
		}
		if opts.TmpCopyUp && m.Type == "tmpfs" {
			// The copy needs a writable tmpfs; ro comes after it.
			op.N[2] |= nsenter.BitCopyUp
			if opts.Flags&unix.MS_RDONLY != 0 {
				op.N[0] &^= unix.MS_RDONLY
				op.N[2] |= nsenter.BitCopyUpRO
			}
		}
		// The fallback of a fresh mount the user namespace refuses: right
		// after the op it stands in for, which runs it on EPERM.
		if host := userNSHostInstance[m.Type]; c.UserNS && host != "" {
			op.N[2] |= nsenter.BitHostBind
			return []PlanOp{op, {Code: nsenter.OpHostBind, S: [6]string{host}}}, nil
		}
	}
	return []PlanOp{op}, nil
}

// cgroupFSType is the filesystem type of /sys/fs/cgroup below root ("" or
// "/proc/<pid>/root": the init's mount namespace; a variable for the
// golden tests).
var cgroupFSType = func(root string) (int64, error) {
	fd, err := openInRoot(root, cgroupRoot, 0)
	if err != nil {
		return 0, err
	}
	defer unix.Close(fd)
	var sfs unix.Statfs_t
	err = unix.Fstatfs(fd, &sfs)
	return sfs.Type, err
}

// planCgroup compiles a "cgroup" mount, with the init's cgroups
// (OwnCgroups) and the init's mount table (Config.mounts).
func planCgroup(c *Config, op PlanOp) ([]PlanOp, error) {
	root, err := c.rootPrefix()
	if err != nil {
		return nil, fmt.Errorf("mount %q on %q (%s): %w", op.S[5], op.S[0], op.S[4], err)
	}
	fsType, err := cgroupFSType(root)
	if err != nil {
		return nil, fmt.Errorf("mount %q on %q (%s): statfs %s: %w", op.S[5], op.S[0], op.S[4], cgroupRoot, err)
	}
	// Read before waiting for the init's cgroups (a new mount namespace
	// of the init is a copy of this table).
	var mounts []mountinfo.Mount
	if fsType != unix.CGROUP2_SUPER_MAGIC {
		if mounts, err = c.mounts(); err != nil {
			return nil, fmt.Errorf("mount %q on %q (%s): find cgroup hierarchies: %w", op.S[5], op.S[0], op.S[4], err)
		}
	}
	own, err := c.ownCgroups()
	if err != nil {
		return nil, fmt.Errorf("mount %q on %q (%s): %w", op.S[5], op.S[0], op.S[4], err)
	}
	if fsType == unix.CGROUP2_SUPER_MAGIC {
		op.Code = nsenter.OpCgroup2
		op.S[1] = cgroupRoot
		if p, ok := own[""]; ok {
			op.S[1] = filepath.Join(cgroupRoot, p)
		}
		if op.S[2] == "cgroup" {
			op.S[2] = ""
		}
		return []PlanOp{op}, nil
	}
	hs := hierarchiesIn(own, mounts)
	tmpfs := op
	tmpfs.Code, tmpfs.Prop, tmpfs.N[2] = nsenter.OpCgroup1, nil, 0
	tmpfs.S[3] = labelData("tmpfs", "mode=755", mountLabel(c.Spec))
	ops := []PlanOp{tmpfs}
	for _, h := range hs {
		hop := PlanOp{Code: nsenter.OpCgroupHierarchy, N: [6]uint64{op.N[0], op.N[1]}}
		hop.S = [6]string{op.S[0], h.name, h.hostPath, strings.Join(h.subsys, ","), op.S[4], op.S[5]}
		if c.CgroupNS {
			hop.N[2] |= nsenter.BitCgroupNS
		}
		if h.fstype == "cgroup2" {
			hop.N[2] |= nsenter.BitCgroup2
		}
		ops = append(ops, hop)
	}
	done := op
	done.Code = nsenter.OpCgroupDone
	return append(ops, done), nil
}

// planDev is setupDev (devicesFor): the nodes, then the /dev symlinks;
// nothing when /dev is a bind mount.
func planDev(c *Config) ([]PlanOp, error) {
	devs, devpts, skip, err := devicesFor(c.Spec)
	if err != nil || skip {
		return nil, err
	}
	var ops []PlanOp
	// In a user namespace mknod of a device is never allowed, so the
	// host's node is bound without trying.
	var bits uint64
	if c.UserNS {
		bits = nsenter.BitDevBind
	}
	for _, d := range devs {
		ops = append(ops, PlanOp{
			Code: nsenter.OpDevice,
			N:    [6]uint64{uint64(d.typ | d.mode), uint64(d.major), uint64(d.minor), uint64(d.uid), uint64(d.gid), bits},
			S:    [6]string{d.path, "", "", "", d.field},
		})
	}
	links := PlanOp{Code: nsenter.OpDevLinks}
	if devpts {
		links.N[2] = nsenter.BitDevpts
	}
	// A host fact, read here: the init has no /proc of the host to ask.
	if _, err := os.Stat("/proc/kcore"); err == nil {
		links.N[2] |= nsenter.BitKcore
	}
	return append(ops, links), nil
}
