package rootfs

import (
	"berth/internal/mountinfo"
	"strconv"
)

// The plan is compiled from facts of the init's mount namespace: the mount
// table (which mounts are shared, the host's proc and sysfs for
// --no-pivot, the cgroup v1 hierarchies), mount ids and the cgroup
// filesystem type. A new mount namespace is a copy of the parent's, so the
// parent reads its own. A joined one (linux.namespaces mount with a path)
// is another table: the parent reads it through the init's /proc/<pid>
// once the init has joined it — the kernel's view of that namespace, which
// nothing in the rootfs can shape.

// mountTable reads the mount table of /proc/self, or of proc
// ("/proc/<pid>"), the one the plan's mount decisions are computed from
// (a variable for the golden tests).
var mountTable = func(proc string) ([]mountinfo.Mount, error) {
	if proc == "" {
		return mountinfo.Read()
	}
	return mountinfo.ReadFile(proc + "/mountinfo")
}

// inNS is where the mount facts are read: "" for the parent's own mount
// namespace, else "/proc/<pid>" of an init in a joined one.
func (c *Config) inNS() (string, error) {
	if !c.JoinedMountNS {
		return "", nil
	}
	return c.initProc()
}

// initProc is "/proc/<pid>" of the init, or "" without InitPid.
func (c *Config) initProc() (string, error) {
	if c.InitPid == nil {
		return "", nil
	}
	pid, err := c.InitPid()
	if err != nil {
		return "", err
	}
	return "/proc/" + strconv.Itoa(pid), nil
}

// initMounts is the mount table of the init's own mount namespace, as it
// is before the init changes anything (it waits for its plan), with the
// ids of its mounts: a new mount namespace is a copy, whose mounts have
// ids of their own.
func (c *Config) initMounts() ([]mountinfo.Mount, error) {
	proc, err := c.initProc()
	if err != nil {
		return nil, err
	}
	return mountTable(proc)
}

// mounts is the mount table of the init's mount namespace.
func (c *Config) mounts() ([]mountinfo.Mount, error) {
	proc, err := c.inNS()
	if err != nil {
		return nil, err
	}
	return mountTable(proc)
}

// rootPrefix is what makes an absolute path of the init's mount namespace
// a path of the parent's: "" or "/proc/<pid>/root".
func (c *Config) rootPrefix() (string, error) {
	proc, err := c.inNS()
	if err != nil || proc == "" {
		return "", err
	}
	return proc + "/root", nil
}
