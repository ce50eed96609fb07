// Package lsm decides a container's Linux Security Module settings:
// process.apparmorProfile, process.selinuxLabel and linux.mountLabel.
//
// # When the LSM is off
//
// A spec that asks for a profile or label the host cannot apply is refused
// by CheckHost, in the parent, before anything is created. The choice
// follows runc where runc is clear and is stricter where runc fails late:
//
//   - process.selinuxLabel: runc's config validator refuses it ("selinux
//     label is specified in config, but selinux is disabled or not
//     supported"); berth does the same.
//   - process.apparmorProfile: runc has no up-front check; its init writes
//     "exec <profile>" to /proc/thread-self/attr/... and the kernel refuses
//     (EINVAL), so create fails from inside the init. berth fails at the
//     same point of the lifecycle (create) but names the cause.
//   - linux.mountLabel: runc adds context="<label>" to the mount data
//     without checking (go-selinux's FormatMountLabel does not look at the
//     host), and a kernel without SELinux refuses that option for tmpfs,
//     devpts and mqueue with EINVAL. berth refuses the field up front.
//
// AppArmor is "on" when /sys/module/apparmor/parameters/enabled reads Y;
// SELinux when selinuxfs is mounted (/sys/fs/selinux/enforce exists, or a
// selinuxfs line in /proc/self/mountinfo).
//
// # Where the label is written (CVE-2025-52881)
//
// The exec attribute is written by the C executor (nsenter/procfs.c, from
// the attributes and messages ExecWrites decides) on the thread that execs,
// after everything berth itself runs: after the startContainer hooks (which
// would otherwise be executed under the container's label) and just before
// the workload's execve. It opens the attribute files earlier, before the
// user switch and before a seccomp filter could refuse openat2, and checks
// an AppArmor profile exists (a "permprofile" test on attr/current) so a
// missing profile fails create, not start.
//
// Every attribute file is reached through a procfs that a container mount
// cannot redirect: a private instance from fsopen("proc") when the kernel
// and namespaces allow it, else the container's /proc after checking it is
// the root inode of a procfs. The path below it is opened with openat2
// RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS|RESOLVE_NO_MAGICLINKS|RESOLVE_NO_XDEV,
// so neither a symlink nor a bind mount over attr/exec (for instance of
// /proc/sys/kernel/core_pattern, itself a procfs file) is followed, and the
// opened file is checked to be on procfs again before the write. The path
// names the thread as <pid>/task/<tid>, not thread-self, which is a symlink.
package lsm
