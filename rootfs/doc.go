// Package rootfs compiles a container's root filesystem into steps of the
// init's plan. It runs in the parent (berth create), never in the
// container.
//
// Go decides, C executes. Everything about the rootfs that can be decided
// is decided here, as a pure function of the spec and of host facts the
// container cannot forge: every mount option parsed (options.go), every
// bind source joined with the bundle, every destination cleaned and
// refused where it would cover the root, /proc or a device, the /dev
// nodes and links (devices.go), the cgroup hierarchies a "cgroup" mount
// shows (cgroup.go), the overlay rootfs's lowers and options
// (overlay.go), what a user namespace refuses and what stands in for it
// (host binds of devices, sysfs, mqueue), whether the rootfs's parent mount
// is still shared, which host proc and sysfs mounts --no-pivot must take
// away (nopivot.go), and every error's spec field and source. The result is
// a list of PlanOps (plan.go, plan_prepare.go) whose codes and arguments
// nsenter/bootstrap.h defines; libcontainer/cinit.go adds the hooks,
// terminal, hostname, sysctl and process steps and encodes it.
//
// The executor, nsenter/cinit.c, interprets the plan in the container and
// decides nothing. There is one implementation of each in-container step,
// there: it resolves every path inside the root one name at a time into
// O_PATH descriptors (never following a symlink out of the root, never
// mounting over the root itself), hands mount(2) the magic links of those
// descriptors through a procfs it mounted itself (fsopen, subset=pid,
// read-only: never a /proc of the rootfs), re-opens each new mount by
// mount id, checks /dev/null before it masks anything, and names in its
// errors what the plan told it to.
//
// The order follows runc so that bundles behave the same under both
// runtimes:
//
//  1. PlanSetup: propagation of "/", the rootfs's parent made private when
//     it would still be shared, the overlay mounted on the rootfs, the
//     rootfs bound on itself, every spec mount in order, /dev nodes and
//     symlinks, the hooks point and the createContainer hooks, then
//     pivot_root (or, with NoPivot, the host's proc and sysfs detached or
//     covered, then MS_MOVE and chroot) and the root's propagation.
//  2. The terminal, loopback, hostname, sysctl (libcontainer/cinit.go).
//  3. PlanFinalize: maskedPaths, readonlyPaths, root.readonly.
//
// The mount facts the plan is compiled from (the mount table, mount ids,
// the cgroup filesystem type) are those of the init's mount namespace: a
// new one is a copy of the parent's, a joined one is read through the
// init's /proc/<pid> once it is in it (mountns.go).
package rootfs
