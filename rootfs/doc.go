// Package rootfs builds a container's root filesystem from inside the
// container init: it runs after the init has entered its new mount namespace
// (and possibly user, pid, net and cgroup namespaces) on a locked OS thread.
//
// The order follows runc so that bundles behave the same under both runtimes:
//
//  1. Setup: propagation of "/", the overlay of an overlay bundle mounted
//     on the rootfs (overlay.go), the rootfs made a mount point, every spec
//     mount in order, /dev nodes and symlinks, the BeforePivot hook, then
//     pivot_root (or, with NoPivot, the host's proc and sysfs mounts
//     detached or covered, then MS_MOVE+chroot: nopivot.go).
//  2. MountConsole (optional): the pty slave over /dev/console (the C
//     init's OP_CONSOLE, nsenter/cinit.c, does the same).
//  3. Finalize: maskedPaths, readonlyPaths, root.readonly.
//
// Every path inside the rootfs comes from the bundle and may name symlinks
// planted by the image. Such paths are never handed to the kernel as strings:
// they are resolved inside the root (openat2 RESOLVE_IN_ROOT, or a
// component-by-component walk with O_NOFOLLOW when something must be
// created) into O_PATH descriptors, and mount(2) is given the magic link
// self/fd/N of those descriptors. A symlink swapped in after resolution
// therefore cannot redirect a mount outside the rootfs (CVE-2021-30465,
// CVE-2024-45310). A destination that resolves to the root itself, through
// any spelling or symlink ("/data" -> "/", "bin/..", "//"), is refused: a
// mount there would cover the root after /proc, /sys and /dev were set up.
//
// Those magic links are never looked up in a /proc of the rootfs, which the
// image or a volume could have shaped: the init makes a procfs of its own
// (ownproc.go: fsopen, subset=pid, read-only, mounted nowhere) and works in
// it as its working directory, so "self/fd/N" resolves there before and
// after the pivot. Outside an init (the parent, tests) procFd falls back to
// the caller's /proc.
package rootfs
