package rootfs

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Config is what the plan compiler (PlanSetup, PlanFinalize) needs to know
// about the container.
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
	// read by the parent, host.HierarchyCgroupsOf: inside a cgroup
	// namespace the init sees only "/"). Nil: read /proc/self/cgroup.
	OwnCgroups map[string]string
	// OwnCgroupsFrom, when OwnCgroups is nil, gives them when first needed
	// (the plan is compiled while the init is still being made); asked
	// once per "cgroup" mount.
	OwnCgroupsFrom func() (map[string]string, error)
	// JoinedMountNS: the init joins an existing mount namespace
	// (linux.namespaces mount with a path): the plan's mount facts are
	// read there, through InitPid (mountns.go).
	JoinedMountNS bool
	// InitPid gives the init's pid once it is in its mount namespace, for
	// what the plan reads of that namespace itself (mountns.go); nil: this
	// process's mount namespace stands in for it (tests).
	InitPid func() (int, error)
	// BeforePivotOps are the createContainer hooks, placed right after the
	// hooks point: every mount and device in place, before pivot_root.
	BeforePivotOps []PlanOp
	// IdmapFDs maps the index of each idmapped mount (Idmaps) to the fd,
	// in the init, of the detached mount the parent made for it.
	IdmapFDs map[int]int
}
