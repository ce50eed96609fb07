// Package systemd is the systemd cgroup driver (the global
// --systemd-cgroup): the container's cgroup is a transient systemd unit
// made over D-Bus, so that systemd, which owns the host's cgroup tree,
// knows of it, accounts it and applies its limits again on every reload.
//
// # Paths
//
// linux.cgroupsPath is "slice:prefix:name" (ParsePath). The unit is
// "prefix-name.scope", placed in the slice (default system.slice, or
// user.slice for a user manager); a name ending in ".slice" is a slice
// unit instead, the prefix unused, placed where systemd places a slice:
// by its name. Slice names nest by dashes: a-b-c.slice is the cgroup
// /a.slice/a-b.slice/a-b-c.slice (ExpandSlice). An empty cgroupsPath is
// ":berth:<id>".
//
// # Lifecycle
//
// A scope must hold a process when it is started, and the container's
// init must be in its cgroup before the stub unshares the cgroup
// namespace (whose root is the cgroup it is in at that moment). So the
// scope is started, with PIDs=[berth's own pid], right before the init is
// spawned into it (clone3 CLONE_INTO_CGROUP, as with the fs driver), and
// berth moves itself back to its own cgroup as soon as the init exists
// (Manager.StartIn). The scope then holds the container alone. berth
// alone in a scope of its own is refused: moving out would empty that
// scope, which systemd then stops, killing berth on its way back. A berth
// killed in between leaves a scope with nothing alive in it, which
// systemd stops by itself.
//
// The resource properties systemd knows (ResourceProperties) are set at
// the point where the fs driver writes limits (Set, at the init's hooks
// point, and on update), not at StartTransientUnit: systemd applies them
// to the cgroup at once, and while berth itself or a starting init is in
// it a low TasksMax or MemoryMax would hit them. Set then writes the whole
// of linux.resources to the cgroup files as the fs driver does, which
// covers what systemd has no property for.
//
// Everything else (freeze, processes, stats, exec joining the cgroup,
// signals) is the fs driver on the unit's cgroup. Destroy stops the unit,
// resets its failed state and removes what is left of the cgroup.
//
// # cgroup v1
//
// On a v1 or hybrid host the fs driver is fs1 on the unit's path in every
// hierarchy. systemd makes the scope's directories in the hierarchies it
// manages; Create makes the others (cpuset, freezer, net_cls, ...) the fs
// way after the start, and the init joins them all from the stub
// (JoinFiles), as with fs1. berth moves itself back in every hierarchy.
// The properties are v1's (ResourcePropertiesV1). Set freezes the
// container while systemd rewrites its device list (deny all, then each
// allowed device), and then moves back the processes systemd moved out:
// realizing a controller for a slice, v1 systemd moves every process
// under the slice into the slice's directory of that controller.
//
// # A rootless caller
//
// For a caller without root on the host (New's user) the unit is made by
// the caller's own systemd manager (user@UID.service, whose cgroup subtree
// systemd delegates to the user), over its session bus
// (UserBusAddress: $DBUS_SESSION_BUS_ADDRESS, else $XDG_RUNTIME_DIR/bus),
// authenticated as the caller's host uid (HostUID: root of a rootless
// engine's user namespace is the engine's user). The default slice is then
// user.slice and every path is under that manager's own cgroup, which New
// asks it for (UnderManager). The device rules are left alone
// (SkipDevices): only the host's CAP_SYS_ADMIN may attach them. This is
// cgroup v2 only: systemd delegates no v1 hierarchy to a user manager, so
// on a v1 or hybrid host New with user fails naming the host's mode.
package systemd
