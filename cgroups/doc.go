// Package cgroups places a container in its control group and enforces
// linux.resources, on cgroup v2 (unified) and cgroup v1 (legacy or hybrid)
// hosts, behind one Manager interface. It imports nothing of
// libcontainer.
//
// # Packages
//
//	cgroups           the Manager interface, Config (linux.cgroupsPath read),
//	                  Plan/Write/Prober (the planners' output), Stats, and
//	                  what works on any Manager (StartIn, CheckNotFrozen,
//	                  JoinError, SignalAll)
//	cgroups/host      probing: the host's cgroup mounts, own cgroups
//	cgroups/manager   the one place that picks a driver (Choose), New, Load
//	cgroups/fs1       the v1 driver: a file per controller (controller.go)
//	cgroups/fs2       the v2 driver
//	cgroups/devices   the device list, as v1 files and as rules
//	cgroups/ebpf      the v2 device filter program
//
// # Drivers
//
// manager.New probes the host once per process (host.Probe): if
// /sys/fs/cgroup is cgroup2 (statfs) the v2 driver (fs2) runs there;
// otherwise /proc/self/mountinfo lists the v1 hierarchies (one per mount,
// controllers from the super options that /proc/cgroups names, plus named
// ones such as name=systemd) and the v1 driver (fs1) makes one directory
// in each. On a hybrid host the controller-less cgroup2 mount
// (/sys/fs/cgroup/unified) gets a directory too, so "0::" in
// /proc/<pid>/cgroup names the container as well. manager.Choose makes
// the choice from the probed layout alone; --systemd-cgroup (the systemd
// driver) is refused there with manager.ErrSystemdDriver.
//
// # Paths
//
// linux.cgroupsPath is a cgroup path:
//   - absolute ("/berth/ctr"): from the root of each hierarchy (of the
//     mount, when a subtree is mounted);
//   - relative ("berth/ctr"): under berth's own cgroup in each hierarchy,
//     runc's cgroupfs rule; on v2 under the parent of berth's own cgroup,
//     since berth's own holds processes and so cannot delegate controllers;
//   - empty: the relative path "<id>", where runc's cgroupfs driver puts
//     it;
//   - "slice:prefix:name": systemd's form, refused with ErrSystemdPath
//     until berth has a systemd driver.
//
// A path that resolves to a root cgroup or to berth's own is refused, and
// so is an existing cgroup that is frozen or freezing, itself or through
// a parent (CheckNotFrozen, before create makes anything), where runc
// 1.1 catches only the first and hangs on a frozen parent.
// Where the container's cgroup ends up depends on where berth runs, so
// the state records Paths() and later commands use manager.Load, never
// manager.New.
// Destroy removes the container's directory (and what the container made
// below it), not the parents it may have created, which other containers
// may share (runc does the same).
//
// # Values
//
// A nil field is left alone; so are 0 for memory limit, reservation, swap,
// kernel and kernelTCP, cpu shares, quota and period, and blkio weights
// (runc reads 0 as unset there). pids.limit 0 is a real limit, as the
// runtime-spec asks; a negative pids limit is "max". Memory -1 is "-1" on
// v1 and "max" on v2.
//
// v2 conversions (each checked against its range first):
//
//	cpu.weight        = 1 + ((shares - 2) * 9999) / 262142       shares 2..262144 -> 1..10000
//	io.weight         = 1 + ((weight - 10) * 9999) / 990         blkio 10..1000 -> 1..10000
//	io.bfq.weight     = weight                                   (BFQ's 1..1000 scale, used when the file exists)
//	memory.swap.max   = swap - limit                             (spec swap is memory+swap); swap -1 -> "max"
//	memory.low        = reservation
//	cpu.max           = "quota period"; quota -1 -> "max"; period alone keeps the current quota
//	io.max            = "maj:min rbps=N" (wbps, riops, wiops); rate 0 -> "max"
//	hugetlb.<size>.max, and .rsvd.max when present
//
// The linear cpu.weight formula puts the v1 default of 1024 shares at
// weight 39, not the v2 default of 100. runc 1.3.2+ and crun 1.23+ moved
// to a curve through (2,1), (1024,100), (262144,10000); berth keeps the
// long-standing linear one for now (SharesToWeight is the one place to
// change).
//
// On v1, swap becomes memory.memsw.limit_in_bytes (written before or after
// memory.limit_in_bytes so the kernel's memsw >= limit check holds at
// every step); memory -1 with swap unset also lifts memsw. cpu.cfs_period,
// quota and burst, and rt_period/rt_runtime, validate against each other's
// current values, so a write that fails with EINVAL is retried after the
// others.
//
// A field the host cannot honour is an error naming the field, except
// where it is deprecated or has no meaning left, which is a warning
// (log/slog) and ignored: memory.kernel (ignored by the kernel since 5.16;
// berth reads back and warns), kernelTCP and swappiness and
// disableOOMKiller on v2, blockIO.leafWeight without CFQ,
// memory.useHierarchy=false where the kernel forces it, and hugepageLimits
// on a v1 host without the hugetlb controller (engines list every page
// size of the node; runc skips them). linux.resources.unified on v1,
// network on v2 and realtime cpu on v2 are errors. Every failed write
// names file, value and field:
//
//	write "512" to /sys/fs/cgroup/memory/x/memory.limit_in_bytes (linux.resources.memory.limit): device or resource busy
//
// linux.resources.unified keys are written last (so they win), one line
// at a time, after enabling the controller their prefix names; keys that
// move or kill processes (cgroup.procs, cgroup.kill, ...) are refused.
//
// # Devices
//
// The device list (package devices) is deny-all, then the spec's rules in
// order, then the default allow-list (null, zero, full, random, urandom,
// tty, console 5:1, ptmx 5:2 and /dev/pts 136:*, rwm). Only
// linux.resources.devices adds to it: a linux.devices entry makes a node
// in /dev and grants nothing, so under deny-all a node such as /dev/kmsg
// exists and every open of it fails with EPERM until a rule allows c 1:11
// (runc does the same). v1 writes the list to devices.deny/allow,
// unless devices.list already shows exactly that list (an update must not
// deny a running container everything for a moment). v2 compiles it to an
// eBPF program (package ebpf), attached with BPF_F_ALLOW_MULTI before the
// old one is detached, so the cgroup is never unfiltered; a list that
// allows everything attaches nothing.
//
// # Controllers on v2
//
// Create enables cpu, cpuset, io, memory and pids in every ancestor that
// offers them and does not yet pass them down (under systemd they already
// are, so nothing is written there); Set also enables what the resources
// need (hugetlb, rdma, a unified key's controller) and fails, naming the
// field, when the cgroup still lacks one.
//
// # Watching
//
// Freeze/Thaw use cgroup.freeze and wait for "frozen 1" in cgroup.events
// (v2), or write FROZEN to freezer.state and poll it (v1). Pids and
// Signal cover sub-cgroups. Stats reads the counters; NotifyOOM reports
// OOM events (inotify on memory.events on v2, an eventfd on
// memory.oom_control on v1). Each is a Manager method.
//
// # Joining
//
// The init and exec processes are in their cgroup before they run anything
// of their own (StartIn): on v2 born there by clone3 CLONE_INTO_CGROUP, on
// v1 the nsenter stub moves itself in through the tasks files (JoinFiles)
// first thing, while single-threaded. Apply (cgroup.procs) moves an existing
// process; on v1 its first write waits for an RCU grace period while the
// kernel's cgroup threadgroup lock switches to its writer mode, and the
// writes right after it are fast. Apply of a pid already there writes
// nothing on v2.
package cgroups
