package host

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Membership is one line of /proc/<pid>/cgroup: "id:controllers:path".
// Controllers is "" on the cgroup v2 line ("0::/path").
type Membership struct {
	ID, Controllers, Path string
}

// ParseProcCgroup parses /proc/<pid>/cgroup; a line without two colons
// is no membership.
func ParseProcCgroup(data string) []Membership {
	var out []Membership
	for _, line := range strings.Split(data, "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		out = append(out, Membership{ID: parts[0], Controllers: parts[1], Path: parts[2]})
	}
	return out
}

// ProcCgroups parses /proc/<pid>/cgroup to a map from each controller
// (and "name=..." hierarchy name) to the path; the cgroup v2 line
// ("0::/path") is under "".
func ProcCgroups(data string) map[string]string {
	out := make(map[string]string)
	for _, m := range ParseProcCgroup(data) {
		if m.Controllers == "" {
			if m.ID == "0" {
				out[""] = m.Path
			}
			continue
		}
		for _, c := range strings.Split(m.Controllers, ",") {
			out[c] = m.Path
		}
	}
	return out
}

// HierarchyCgroups parses /proc/<pid>/cgroup to a map from each
// hierarchy's controller list as the file names it ("cpu,cpuacct",
// "name=systemd"; "" for cgroup v2) to the path.
func HierarchyCgroups(data string) map[string]string {
	out := make(map[string]string)
	for _, m := range ParseProcCgroup(data) {
		out[m.Controllers] = m.Path
	}
	return out
}

// HierarchyCgroupsOf is HierarchyCgroups of /proc/<pid>/cgroup (of this
// process when pid is 0).
func HierarchyCgroupsOf(pid int) (map[string]string, error) {
	file := "/proc/self/cgroup"
	if pid != 0 {
		file = "/proc/" + strconv.Itoa(pid) + "/cgroup"
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	return HierarchyCgroups(string(b)), nil
}

// OwnCgroups is ProcCgroups of berth's own process.
func OwnCgroups() (map[string]string, error) {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil, fmt.Errorf("read own cgroups: %w", err)
	}
	return ProcCgroups(string(b)), nil
}

// Controller is one line of /proc/cgroups ("#subsys_name hierarchy
// num_cgroups enabled").
type Controller struct {
	Name    string
	Enabled bool
}

// ParseControllers parses /proc/cgroups.
func ParseControllers(data string) []Controller {
	var out []Controller
	for _, line := range strings.Split(data, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		out = append(out, Controller{Name: f[0], Enabled: len(f) == 4 && f[3] == "1"})
	}
	return out
}

// KnownControllers are the names of ParseControllers, enabled or not.
func KnownControllers(data string) map[string]bool {
	out := make(map[string]bool)
	for _, c := range ParseControllers(data) {
		out[c.Name] = true
	}
	return out
}

// EnabledControllers are the enabled controllers of /proc/cgroups, in its
// order.
func EnabledControllers(data string) []string {
	var out []string
	for _, c := range ParseControllers(data) {
		if c.Enabled {
			out = append(out, c.Name)
		}
	}
	return out
}

// MountPath maps a cgroup path as /proc/<pid>/cgroup shows it onto a mount
// whose root is root: "/a/b" on a mount of "/a" is "/b" there. It is not
// under root (ok false) when the mount shows another part of the tree
// (another cgroup namespace's mount); the path is then returned as is.
func MountPath(cgPath, root string) (p string, ok bool) {
	switch {
	case root == "/" || root == "":
		return cgPath, true
	case cgPath == root:
		return "/", true
	case strings.HasPrefix(cgPath, root+"/"):
		return cgPath[len(root):], true
	}
	return cgPath, false
}

// InMount is MountPath where a path not under the mount's root is read,
// as the best that can be done, as relative to the mount.
func InMount(cgPath, root string) string {
	p, _ := MountPath(cgPath, root)
	return p
}
