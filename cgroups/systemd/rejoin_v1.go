package systemd

import (
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"

	"berth/cgroups"
	"berth/cgroups/host"
)

// Strayed lists the directories, of paths (keyed as cgroups.Manager.Paths
// keys them), that a process whose /proc/<pid>/cgroup is procCgroup must
// rejoin: those of the hierarchies where it is neither in cg nor below
// it. On cgroup v1 systemd realizes a controller for a slice by moving
// every process of the slice's subtree (as its name=systemd hierarchy
// has it) into the slice's directory of that controller, which takes a
// container's processes out of the directories it joined; a scope whose
// own directory of that controller exists already does not get them back.
func Strayed(procCgroup, cg string, paths map[string]string) []string {
	var out []string
	seen := map[string]bool{}
	for key, p := range host.ProcCgroups(procCgroup) {
		if key == "" {
			key = cgroups.UnifiedKey
		}
		dir, ok := paths[key]
		if !ok || seen[dir] || p == cg || strings.HasPrefix(p, cg+"/") {
			continue
		}
		seen[dir] = true
		out = append(out, dir)
	}
	return out
}

// rejoinV1 moves each process of the container that systemd moved out of
// one of its v1 directories back into it.
func (m *Manager) rejoinV1() error {
	cg := m.Manager.Path()
	if cg == "" {
		return nil
	}
	pids, err := m.Manager.Pids()
	if err != nil {
		return err
	}
	paths := m.Manager.Paths()
	for _, pid := range pids {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
		if err != nil {
			continue // gone meanwhile
		}
		for _, dir := range Strayed(string(b), cg, paths) {
			if err := os.WriteFile(dir+"/cgroup.procs", []byte(strconv.Itoa(pid)), 0); err != nil {
				return fmt.Errorf("systemd unit %s: move pid %d back into %s: %w", m.unit.Name, pid, dir, err)
			}
			slog.Debug("systemd: process back in its cgroup", "pid", pid, "dir", dir)
		}
	}
	return nil
}
