package host

import (
	"bufio"
	"bytes"
	"slices"
	"strings"
)

// parseLayout reads the cgroup mounts of a mountinfo table. The first
// mount of each hierarchy wins, as it does for every tool that reads the
// table.
func parseLayout(mountinfo []byte, known map[string]bool) *Layout {
	h := &Layout{}
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
			if h.V2Mount == "" {
				h.V2Mount, h.V2Root = mnt, root
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
			h.V1 = append(h.V1, Hierarchy{Mountpoint: mnt, Root: root, Controllers: ctrls})
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
