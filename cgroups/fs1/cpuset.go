package fs1

import (
	"fmt"
	"path"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"berth/cgroups"
	"berth/cgroups/internal/cgfs"
)

// cpusetCtl: the CPUs and memory nodes (linux.resources.cpu.cpus/mems).
// Its directory is made by mkdirCpuset.
type cpusetCtl struct{ noStats }

func (cpusetCtl) name() string { return "cpuset" }

func (cpusetCtl) plan(pl *cgroups.Plan, r *specs.LinuxResources, dir string, _ cgroups.Prober) error {
	c := r.CPU
	if c == nil || c.Cpus == "" && c.Mems == "" {
		return nil
	}
	if dir == "" {
		return notMounted("linux.resources.cpu.cpus/mems", "cpuset")
	}
	if c.Cpus != "" {
		pl.Add(cgroups.Write{Dir: dir, File: "cpuset.cpus", Value: c.Cpus, Field: "linux.resources.cpu.cpus"})
	}
	if c.Mems != "" {
		pl.Add(cgroups.Write{Dir: dir, File: "cpuset.mems", Value: c.Mems, Field: "linux.resources.cpu.mems"})
	}
	return nil
}

// mkdirCpuset creates a v1 cpuset cgroup and returns its cpus and mems.
// A cpuset cgroup starts with none, takes no process while it has none
// (ENOSPC), and may have only what its parent has: the new directories,
// and every existing ancestor left empty (a pod cgroup an engine made and
// never filled), get their parent's cpuset.cpus and cpuset.mems, top
// down, as runc does. The walk up stops at the first level that has both:
// the kernel keeps a child's sets within its parent's, so every level
// above it has them too, and the hierarchy's root always does.
func mkdirCpuset(dir string) (cpus, mems string, err error) {
	cpus, mems, err = readCpuset(dir)
	existed := err == nil
	if existed && cpus != "" && mems != "" {
		return cpus, mems, nil
	}
	if err != nil && !cgfs.IsNotExist(err) {
		return "", "", err
	}
	parent := path.Dir(dir)
	if parent == dir {
		return "", "", fmt.Errorf("cpuset cgroup %s: no cgroup hierarchy above it", dir)
	}
	pcpus, pmems, err := mkdirCpuset(parent)
	if err != nil {
		return "", "", err
	}
	if !existed {
		if err := unix.Mkdir(dir, 0o755); err != nil && err != unix.EEXIST {
			return "", "", fmt.Errorf("mkdir %s: %w", dir, err)
		}
		// cgroup.clone_children in the parent, or a racing creator,
		// may have filled it already.
		if cpus, mems, err = readCpuset(dir); err != nil {
			return "", "", err
		}
	}
	const what = "copied from the parent cpuset"
	if cpus == "" {
		if err := cgfs.Write(dir, "cpuset.cpus", pcpus, what); err != nil {
			return "", "", err
		}
		cpus = pcpus
	}
	if mems == "" {
		if err := cgfs.Write(dir, "cpuset.mems", pmems, what); err != nil {
			return "", "", err
		}
		mems = pmems
	}
	return cpus, mems, nil
}

func readCpuset(dir string) (cpus, mems string, err error) {
	if cpus, err = cgfs.ReadTrimmed(dir, "cpuset.cpus"); err != nil {
		return "", "", err
	}
	if mems, err = cgfs.ReadTrimmed(dir, "cpuset.mems"); err != nil {
		return "", "", err
	}
	return cpus, mems, nil
}
