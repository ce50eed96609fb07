package manager

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"berth/cgroups"
	"berth/cgroups/fs1"
	"berth/cgroups/fs2"
	"berth/cgroups/host"
)

// Load returns the manager of an existing container from the Paths it
// saved: a lone cgroups.UnifiedKey directory is fs2's, anything else
// fs1's. Each path must be an absolute, clean path on a cgroup filesystem
// (or, once removed, under one), so a damaged state file cannot point
// Destroy elsewhere.
func Load(saved map[string]string) (cgroups.Manager, error) {
	return load(saved, false)
}

func load(saved map[string]string, existing bool) (cgroups.Manager, error) {
	if len(saved) == 0 {
		return nil, errors.New("load cgroup: no paths saved")
	}
	for k, p := range saved {
		if p == "" || p[0] != '/' || path.Clean(p) != p || p == "/" {
			return nil, fmt.Errorf("load cgroup: %s path %q is not an absolute clean path", k, p)
		}
		if !host.IsCgroupFS(p) {
			return nil, fmt.Errorf("load cgroup: %s path %s is not on a cgroup filesystem", k, p)
		}
	}
	if dir, ok := saved[cgroups.UnifiedKey]; ok && len(saved) == 1 {
		h, err := host.Probe()
		if err != nil {
			return nil, err
		}
		return fs2.Load(h.V2Mount, dir, existing)
	}
	h, _ := host.Probe() // only for Path(): a v1 manager works without it
	return fs1.Load(saved, h, existing), nil
}

// LoadSub is Load for existing cgroups below saved ones (exec --cgroup):
// sub maps a key of saved to a relative path under that directory; keys
// not in sub keep their saved directory. Each sub-cgroup must already
// exist, and the manager creates nothing: on cgroup v2 it must not enable
// controllers either. Create would write the threaded controllers (cpu,
// cpuset, pids) into the container cgroup's cgroup.subtree_control (the
// domain ones fail with EBUSY while it holds processes); a cgroup with
// processes and threaded controllers enabled is a thread root, its
// children turn "domain invalid", and the kernel then refuses them any
// process with EOPNOTSUPP (cgroup_migrate_vet_dst).
func LoadSub(saved, sub map[string]string) (cgroups.Manager, error) {
	paths := make(map[string]string, len(saved))
	for k, dir := range saved {
		paths[k] = dir
	}
	for k, rel := range sub {
		dir, ok := saved[k]
		if !ok {
			return nil, fmt.Errorf("sub-cgroup %q: the container has no %s cgroup", rel, k)
		}
		if !filepath.IsLocal(rel) || slices.Contains(strings.Split(rel, "/"), "..") {
			return nil, fmt.Errorf("sub-cgroup %q: not a relative path inside %s", rel, dir)
		}
		p := path.Join(dir, rel)
		fi, err := os.Lstat(p)
		switch {
		case errors.Is(err, os.ErrNotExist):
			return nil, fmt.Errorf("sub-cgroup %s does not exist (create it first)", p)
		case err != nil:
			return nil, fmt.Errorf("sub-cgroup %s: %w", p, err)
		case !fi.IsDir():
			return nil, fmt.Errorf("sub-cgroup %s is not a cgroup directory", p)
		}
		paths[k] = p
	}
	return load(paths, true)
}
