// Package doctor tells what a host offers a container runtime: kernel,
// cgroups, namespaces, seccomp and LSMs, the syscalls berth prefers, the
// state directory and the helpers for rootless use. Each finding is a Check
// with a status (ok, warn, fail), what was found and what to do about it.
//
// Probes are real where they are cheap and harmless: pidfd_open on itself,
// openat2 on "/", clone3 with a size the kernel must reject, seccomp's
// SECCOMP_GET_ACTION_AVAIL, a child in a new user namespace, and an idmap
// applied to a detached clone of the root mount (open_tree +
// mount_setattr), which no mount namespace ever sees. Nothing on the host
// is changed; the only file written is a probe in the state directory,
// removed at once.
package doctor
