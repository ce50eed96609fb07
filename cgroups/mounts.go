package cgroups

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path"
	"slices"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// unifiedMountpoint is where a cgroup v2 host mounts the unified hierarchy.
const unifiedMountpoint = "/sys/fs/cgroup"

// hierarchy is one mounted cgroup v1 hierarchy.
type hierarchy struct {
	mountpoint string
	// root is the cgroup the mount shows (mountinfo field 4): "/" unless
	// a subtree was bind-mounted, e.g. inside a container.
	root string
	// controllers are the hierarchy's controllers ("cpu", "cpuacct"), or
	// its name ("name=systemd") for a named hierarchy.
	controllers []string
}

// hostCgroups is what probing the host found.
type hostCgroups struct {
	// unified: /sys/fs/cgroup is cgroup2 (a v2 host); v1 is then empty.
	unified bool
	// v2Mount is the cgroup2 mount: /sys/fs/cgroup on a v2 host, the
	// hybrid one (usually /sys/fs/cgroup/unified) on a v1 host, or "".
	v2Mount string
	// v2Root is that mount's root cgroup (mountinfo field 4).
	v2Root string
	v1     []hierarchy
}

var (
	probeOnce sync.Once
	probed    *hostCgroups
	probeErr  error
)

// probeHost finds the host's cgroup layout once per process: a statfs
// settles a v2 host; otherwise /proc/self/mountinfo lists the v1
// hierarchies and any hybrid cgroup2 mount.
func probeHost() (*hostCgroups, error) {
	probeOnce.Do(func() { probed, probeErr = probe() })
	return probed, probeErr
}

func probe() (*hostCgroups, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(unifiedMountpoint, &st); err != nil {
		return nil, fmt.Errorf("statfs %s: %w", unifiedMountpoint, err)
	}
	if st.Type == unix.CGROUP2_SUPER_MAGIC {
		return &hostCgroups{unified: true, v2Mount: unifiedMountpoint, v2Root: "/"}, nil
	}
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("read mountinfo: %w", err)
	}
	known, err := os.ReadFile("/proc/cgroups")
	if err != nil {
		return nil, fmt.Errorf("read /proc/cgroups: %w", err)
	}
	h := parseHost(mi, knownControllers(known))
	if len(h.v1) == 0 && h.v2Mount == "" {
		return nil, fmt.Errorf("no cgroup filesystem is mounted (%s is neither cgroup2 nor holds cgroup v1 hierarchies)", unifiedMountpoint)
	}
	return h, nil
}

// knownControllers reads the controller names from /proc/cgroups.
func knownControllers(data []byte) map[string]bool {
	out := make(map[string]bool)
	for _, line := range strings.Split(string(data), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		if f := strings.Fields(line); len(f) > 0 {
			out[f[0]] = true
		}
	}
	return out
}

// parseHost reads the cgroup mounts of a mountinfo table. The first mount
// of each hierarchy wins, as it does for every tool that reads the table.
func parseHost(mountinfo []byte, known map[string]bool) *hostCgroups {
	h := &hostCgroups{}
	seen := make(map[string]bool)
	sc := bufio.NewScanner(bytes.NewReader(mountinfo))
	for sc.Scan() {
		// id parent maj:min root mountpoint opts [optional...] - fstype source superopts
		f := strings.Fields(sc.Text())
		sep := slices.Index(f, "-")
		if sep < 6 || len(f) < sep+4 {
			continue
		}
		fstype, superOpts := f[sep+1], f[sep+3]
		root, mnt := unescapeMountinfo(f[3]), unescapeMountinfo(f[4])
		switch fstype {
		case "cgroup2":
			if h.v2Mount == "" {
				h.v2Mount, h.v2Root = mnt, root
			}
		case "cgroup":
			var ctrls []string
			for _, o := range strings.Split(superOpts, ",") {
				if known[o] || strings.HasPrefix(o, "name=") {
					ctrls = append(ctrls, o)
				}
			}
			if len(ctrls) == 0 {
				continue
			}
			key := strings.Join(ctrls, ",")
			if seen[key] {
				continue
			}
			seen[key] = true
			h.v1 = append(h.v1, hierarchy{mountpoint: mnt, root: root, controllers: ctrls})
		}
	}
	return h
}

// unescapeMountinfo undoes the kernel's octal escapes (\040 for a space).
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && isOctal(s[i+1]) && isOctal(s[i+2]) && isOctal(s[i+3]) {
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }

// inMount maps a cgroup path as /proc/self/cgroup shows it onto a mount
// whose root is root: "/a/b" on a mount of "/a" is "/b" there.
func inMount(cgPath, root string) string {
	if root == "/" || root == "" {
		return cgPath
	}
	if cgPath == root {
		return "/"
	}
	if strings.HasPrefix(cgPath, root+"/") {
		return cgPath[len(root):]
	}
	// Not under the mount's root (another cgroup namespace): the best
	// we can do is read the path as relative to the mount.
	return cgPath
}

// Mode describes the host: "v2" (unified), "hybrid" (v1 controllers plus
// a cgroup2 mount without them) or "v1".
func Mode() (string, error) {
	h, err := probeHost()
	if err != nil {
		return "", err
	}
	switch {
	case h.unified:
		return "v2", nil
	case h.v2Mount != "":
		return "hybrid", nil
	}
	return "v1", nil
}

// isCgroupFS reports whether p (or, when it is gone, its closest existing
// ancestor) is on a cgroup filesystem.
func isCgroupFS(p string) bool {
	for {
		var st unix.Statfs_t
		err := unix.Statfs(p, &st)
		if err == nil {
			return st.Type == unix.CGROUP_SUPER_MAGIC || st.Type == unix.CGROUP2_SUPER_MAGIC
		}
		if err != unix.ENOENT || p == "/" {
			return false
		}
		p = path.Dir(p)
	}
}
