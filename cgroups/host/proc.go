package host

import (
	"fmt"
	"os"
	"strings"
)

// ProcCgroups parses /proc/<pid>/cgroup: "id:controllers:path" lines, to
// a map from each controller (and "name=..." hierarchy name) to the path;
// the cgroup v2 line ("0::/path") is under "".
func ProcCgroups(data string) map[string]string {
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

// OwnCgroups is ProcCgroups of berth's own process.
func OwnCgroups() (map[string]string, error) {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil, fmt.Errorf("read own cgroups: %w", err)
	}
	return ProcCgroups(string(b)), nil
}

// InMount maps a cgroup path as /proc/self/cgroup shows it onto a mount
// whose root is root: "/a/b" on a mount of "/a" is "/b" there.
func InMount(cgPath, root string) string {
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
