package doctor

import (
	"bufio"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
)

// mount is one line of /proc/self/mountinfo.
type mount struct {
	id, parent int
	root       string
	point      string
	options    string // per-mount options (rw, nosuid, ...)
	fstype     string
	source     string
	superOpts  string
}

// parseMountinfo reads /proc/PID/mountinfo:
//
//	id parent major:minor root mountpoint options [optional...] - fstype source superoptions
func parseMountinfo(r io.Reader) ([]mount, error) {
	var out []mount
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		f := strings.Fields(sc.Text())
		sep := -1
		for i := 6; i < len(f); i++ {
			if f[i] == "-" {
				sep = i
				break
			}
		}
		if sep < 0 || sep+2 >= len(f) {
			return nil, fmt.Errorf("mountinfo line %d: malformed: %q", n, sc.Text())
		}
		id, err1 := strconv.Atoi(f[0])
		parent, err2 := strconv.Atoi(f[1])
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("mountinfo line %d: bad mount ids: %q", n, sc.Text())
		}
		m := mount{
			id: id, parent: parent,
			root:    unescapeOctal(f[3]),
			point:   unescapeOctal(f[4]),
			options: f[5],
			fstype:  f[sep+1],
			source:  unescapeOctal(f[sep+2]),
		}
		if sep+3 < len(f) {
			m.superOpts = f[sep+3]
		}
		out = append(out, m)
	}
	return out, sc.Err()
}

// unescapeOctal undoes the kernel's \ooo escapes (space, tab, newline,
// backslash) in mountinfo paths.
func unescapeOctal(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// mountOf finds the mount holding path (already free of symlinks): the
// last-mounted entry with the longest mountpoint prefix.
func mountOf(mounts []mount, path string) (mount, bool) {
	path = filepath.Clean(path)
	best, found := mount{}, false
	for _, m := range mounts {
		p := m.point
		if p != "/" && path != p && !strings.HasPrefix(path, p+"/") {
			continue
		}
		if !found || len(p) >= len(best.point) {
			best, found = m, true
		}
	}
	return best, found
}

func hasOption(list, opt string) bool {
	for _, o := range strings.Split(list, ",") {
		if o == opt {
			return true
		}
	}
	return false
}
