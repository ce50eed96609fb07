package cgroups

import (
	"errors"
	"fmt"
	"os"
	"path"
	"strings"
)

// ErrSystemdPath is returned for a "slice:prefix:name" cgroupsPath given
// to the fs driver.
var ErrSystemdPath = errors.New("a systemd \"slice:prefix:name\" path needs --systemd-cgroup")

// parseCgroupsPath reads linux.cgroupsPath. It returns a clean cgroup
// path, and whether it is relative to berth's own cgroup. An empty path
// is "<id>", relative, which is where runc's cgroupfs driver puts a
// container without one.
func parseCgroupsPath(p, id string) (string, bool, error) {
	if p == "" {
		if id == "" || strings.Contains(id, "/") || id == "." || id == ".." {
			return "", false, fmt.Errorf("linux.cgroupsPath is empty and container id %q cannot name a cgroup", id)
		}
		return id, true, nil
	}
	if isSystemdPath(p) {
		return "", false, fmt.Errorf("linux.cgroupsPath %q: %w (give a path such as \"/berth/%s\")", p, ErrSystemdPath, id)
	}
	if strings.ContainsRune(p, 0) || strings.Contains(p, "\n") {
		return "", false, fmt.Errorf("linux.cgroupsPath %q: invalid character", p)
	}
	if path.IsAbs(p) {
		c := path.Clean(p)
		if c == "/" {
			return "", false, fmt.Errorf("linux.cgroupsPath %q: is the root cgroup", p)
		}
		return c, false, nil
	}
	c := path.Clean(p)
	if c == "." {
		return "", false, fmt.Errorf("linux.cgroupsPath %q: names berth's own cgroup", p)
	}
	return c, true, nil
}

// isSystemdPath recognises "slice:prefix:name", the form systemd-driver
// callers (containerd, CRI-O, podman with --cgroup-manager=systemd) pass:
// three colon-separated parts and no slash.
func isSystemdPath(p string) bool {
	return !strings.Contains(p, "/") && strings.Count(p, ":") == 2
}

// under joins a (relative) cgroup path onto base, refusing results that
// climb to base's ancestors' root or name base itself.
func under(base, rel string) (string, error) {
	full := path.Join("/", base, rel)
	if full == "/" {
		return "", fmt.Errorf("linux.cgroupsPath %q: resolves to the root cgroup (from %s)", rel, base)
	}
	if full == path.Clean("/"+base) {
		return "", fmt.Errorf("linux.cgroupsPath %q: resolves to berth's own cgroup %s", rel, base)
	}
	return full, nil
}

// procCgroups parses /proc/<pid>/cgroup: "id:controllers:path" lines, to
// a map from each controller (and "name=..." hierarchy name) to the path;
// the cgroup v2 line ("0::/path") is under "".
func procCgroups(data string) map[string]string {
	out := make(map[string]string)
	for _, line := range strings.Split(data, "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[1] == "" {
			if parts[0] == "0" {
				out[""] = parts[2]
			}
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			out[c] = parts[2]
		}
	}
	return out
}

func ownCgroups() (map[string]string, error) {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil, fmt.Errorf("read own cgroups: %w", err)
	}
	return procCgroups(string(b)), nil
}
