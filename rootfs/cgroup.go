package rootfs

import (
	"berth/internal/mountinfo"
	"bufio"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

const cgroupRoot = "/sys/fs/cgroup"

// cgroupHierarchy is one cgroup hierarchy the host has under /sys/fs/cgroup.
type cgroupHierarchy struct {
	name     string   // directory name under /sys/fs/cgroup: "cpu,cpuacct", "systemd", "unified"
	fstype   string   // "cgroup" or "cgroup2"
	subsys   []string // controllers and name= of the hierarchy (its /proc/self/cgroup entry)
	hostPath string   // the host directory of the init's own cgroup in it
}

// ownCgroups maps each hierarchy's controller list ("" for the unified
// one) to the init's cgroup path in it, from its /proc/<pid>/cgroup file.
func ownCgroups(file string) (map[string]string, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	own := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		own[parts[1]] = parts[2]
	}
	return own, sc.Err()
}

// ownCgroups is OwnCgroups, or the init's own reading when not given.
func (c *Config) ownCgroups() (map[string]string, error) {
	if c.OwnCgroups != nil {
		return c.OwnCgroups, nil
	}
	if c.OwnCgroupsFrom != nil {
		return c.OwnCgroupsFrom()
	}
	return ownCgroups("/proc/self/cgroup")
}

// OwnCgroupsOf reads /proc/<pid>/cgroup (for Config.OwnCgroups).
func OwnCgroupsOf(pid int) (map[string]string, error) {
	return ownCgroups("/proc/" + strconv.Itoa(pid) + "/cgroup")
}

// hierarchiesIn is cgroupV1Hierarchies on a mount table already read.
func hierarchiesIn(own map[string]string, mounts []mountinfo.Mount) []cgroupHierarchy {
	var out []cgroupHierarchy
	seen := map[string]bool{}
	for ctrls, cgPath := range own {
		var subsys []string
		fstype := "cgroup2"
		if ctrls != "" {
			subsys = strings.Split(ctrls, ",")
			fstype = "cgroup"
		}
		for _, m := range mounts {
			if m.FSType != fstype || path.Dir(m.Mountpoint) != cgroupRoot {
				continue
			}
			if fstype == "cgroup" && !containsAll(strings.Split(m.SuperOptions, ","), subsys) {
				continue
			}
			name := path.Base(m.Mountpoint)
			if seen[name] {
				break
			}
			seen[name] = true
			h := cgroupHierarchy{name: name, fstype: fstype, subsys: subsys}
			// In a cgroup namespace the host's mount may not show the
			// init's cgroup (its root reads "/.."); only a fresh mount
			// can then show it, and hostPath stays empty.
			rel, ok := strings.CutPrefix(cgPath, m.Root)
			if ok && (m.Root == "/" || rel == "" || strings.HasPrefix(rel, "/")) {
				h.hostPath = filepath.Join(m.Mountpoint, rel)
			}
			out = append(out, h)
			break
		}
	}
	slices.SortFunc(out, func(a, b cgroupHierarchy) int { return strings.Compare(a.name, b.name) })
	return out
}

func containsAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}
