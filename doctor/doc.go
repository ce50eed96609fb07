// Package doctor tells what a host offers a container runtime: kernel,
// cgroups, namespaces, seccomp and LSMs, the syscalls berth prefers, the
// state directory and the helpers for rootless use. Each finding is a Check
// with a status (ok, warn, fail), what was found and what to do about it.
//
// Every check asks the kernel, not a version table: pidfd_open on itself,
// clone3 with a size the kernel must reject, openat2 RESOLVE_IN_ROOT on
// "/", unshare(CLONE_NEWTIME) on a thread that then dies, seccomp's
// SECCOMP_GET_ACTION_AVAIL and a NULL-program SECCOMP_SET_MODE_FILTER per
// flag, lsm_list_modules (securityfs before 6.8), fsopen("overlay"), a
// child started in a new user namespace and another started by clone3
// CLONE_INTO_CGROUP into berth's own cgroup, an idmap applied to a
// detached clone of the root mount (open_tree + mount_setattr, seen by no
// mount namespace), statfs on each cgroup mount point (a hierarchy hidden
// under another mount is not there), and a write plus flock in the state
// directory. The kernel version is reported, and only speaks where a probe
// could not run.
//
// Nothing on the host is changed: the probe children are born where berth
// already is and exit at once, and the only file written is a probe in
// the state directory, removed at once. fsopen may load the overlay
// module, as any mount would.
//
// What the checks read is what the process sees, so tests/doctor_test.go
// forces each one by changing that view for real: a private mount
// namespace with tmpfs over /sys/fs/cgroup or /sys/kernel/security, a user
// namespace whose user.max_user_namespaces is 0, personality(UNAME26), a
// seccomp filter that refuses one syscall, a ramfs root.
package doctor
