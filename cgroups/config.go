package cgroups

import (
	"errors"
	"fmt"
	"path"
	"strings"
)

// ErrSystemdPath is returned for a "slice:prefix:name" cgroupsPath.
var ErrSystemdPath = errors.New("systemd cgroup driver not supported yet")

// Config is where a container's cgroup goes, read from linux.cgroupsPath
// for the cgroupfs drivers (fs1, fs2).
type Config struct {
	// Path is a clean cgroup path: absolute ("/berth/ctr", from the root
	// of each hierarchy), or relative ("berth/ctr") when Relative.
	Path string
	// Relative: Path goes under berth's own cgroup (on v2 its parent's).
	Relative bool
}

// ParsePath reads linux.cgroupsPath. An empty path is "<id>", relative,
// which is where runc's cgroupfs driver puts a container without one.
// systemd's "slice:prefix:name" is refused (ErrSystemdPath).
func ParsePath(p, id string) (Config, error) {
	if p == "" {
		if id == "" || strings.Contains(id, "/") || id == "." || id == ".." {
			return Config{}, fmt.Errorf("linux.cgroupsPath is empty and container id %q cannot name a cgroup", id)
		}
		return Config{Path: id, Relative: true}, nil
	}
	if isSystemdPath(p) {
		return Config{}, fmt.Errorf("linux.cgroupsPath %q: %w (give a path such as \"/berth/%s\")", p, ErrSystemdPath, id)
	}
	if strings.ContainsRune(p, 0) || strings.Contains(p, "\n") {
		return Config{}, fmt.Errorf("linux.cgroupsPath %q: invalid character", p)
	}
	if path.IsAbs(p) {
		c := path.Clean(p)
		if c == "/" {
			return Config{}, fmt.Errorf("linux.cgroupsPath %q: is the root cgroup", p)
		}
		return Config{Path: c}, nil
	}
	c := path.Clean(p)
	if c == "." {
		return Config{}, fmt.Errorf("linux.cgroupsPath %q: names berth's own cgroup", p)
	}
	return Config{Path: c, Relative: true}, nil
}

// isSystemdPath recognises "slice:prefix:name", the form systemd-driver
// callers (containerd, CRI-O, podman with --cgroup-manager=systemd) pass:
// three colon-separated parts and no slash.
func isSystemdPath(p string) bool {
	return !strings.Contains(p, "/") && strings.Count(p, ":") == 2
}

// Under joins a (relative) cgroup path onto base, refusing results that
// climb to base's ancestors' root or name base itself.
func Under(base, rel string) (string, error) {
	full := path.Join("/", base, rel)
	if full == "/" {
		return "", fmt.Errorf("linux.cgroupsPath %q: resolves to the root cgroup (from %s)", rel, base)
	}
	if full == path.Clean("/"+base) {
		return "", fmt.Errorf("linux.cgroupsPath %q: resolves to berth's own cgroup %s", rel, base)
	}
	return full, nil
}
