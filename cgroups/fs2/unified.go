package fs2

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"berth/cgroups"
)

// Unified keys berth will not write: moving or killing processes is the
// runtime's job, and the subtree is the container's own business.
var unifiedRefused = map[string]bool{
	"cgroup.procs": true, "cgroup.threads": true, "cgroup.kill": true,
	"cgroup.freeze": true, "cgroup.subtree_control": true, "cgroup.type": true,
}

// planUnified writes linux.resources.unified last, so a key overrides the
// value berth derived from the other fields. A multi-line value ("io.max"
// for two devices) is written one line at a time: most keyed files take
// one entry per write.
func planUnified(pl *cgroups.Plan, unified map[string]string, dir string, p cgroups.Prober) error {
	for _, k := range slices.Sorted(maps.Keys(unified)) {
		field := fmt.Sprintf("linux.resources.unified[%q]", k)
		if k == "" || k == "." || k == ".." || strings.ContainsAny(k, "/\x00") {
			return fmt.Errorf("%s: not a cgroup file name", field)
		}
		if unifiedRefused[k] {
			return fmt.Errorf("%s: berth does not let the spec write %s", field, k)
		}
		if !p.Exists(dir, k) {
			ctrl, _, _ := strings.Cut(k, ".")
			return fmt.Errorf("%s: no such file in %s (is the %q controller available? see cgroup.controllers)", field, dir, ctrl)
		}
		lines := strings.Split(unified[k], "\n")
		n := 0
		for _, line := range lines {
			if strings.TrimSpace(line) == "" {
				continue
			}
			pl.Add(cgroups.Write{Dir: dir, File: k, Value: line, Field: field})
			n++
		}
		if n == 0 {
			pl.Add(cgroups.Write{Dir: dir, File: k, Value: unified[k], Field: field})
		}
	}
	return nil
}
