// Package mountinfo parses /proc/<pid>/mountinfo, the one parser of the
// mount table for all of berth (cgroups, rootfs, doctor, tests). It only
// reads: what a table means is for its callers.
package mountinfo

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// Mount is one line of a mountinfo table (proc(5)):
//
//	36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
//	(1)(2) (3)  (4)   (5)    (6)         (7)   (8) (9)    (10)       (11)
//
// Root, Mountpoint, FSType and Source have the kernel's octal escapes
// (\040 for a space, \011 tab, \012 newline, \134 backslash) undone.
type Mount struct {
	ID, Parent   int
	Major, Minor uint32
	// Root is the path of the mount's root within its filesystem ("/"
	// unless a subtree was bind-mounted).
	Root       string
	Mountpoint string
	// Options are the per-mount options ("rw,nosuid,relatime").
	Options string
	// Optional are the optional fields: "shared:N", "master:N",
	// "propagate_from:N", "unbindable".
	Optional []string
	FSType   string
	// Source is the mount source; it may be empty.
	Source string
	// SuperOptions are the filesystem's options ("rw,size=1024k"), as the
	// kernel prints them (a value may hold escapes of its own).
	SuperOptions string
}

// Read parses the table of this process, /proc/self/mountinfo.
func Read() ([]Mount, error) { return ReadFile("/proc/self/mountinfo") }

// ReadFile parses the mountinfo table at path.
func ReadFile(path string) ([]Mount, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ms, err := Parse(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ms, nil
}

// Parse reads a mountinfo table. A line that is not one fails the whole
// table, naming the line.
func Parse(r io.Reader) ([]Mount, error) {
	var out []Mount
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		if sc.Text() == "" {
			continue
		}
		m, err := ParseLine(sc.Text())
		if err != nil {
			return nil, fmt.Errorf("mountinfo line %d: %w", n, err)
		}
		out = append(out, m)
	}
	return out, sc.Err()
}

// ParseLine parses one line of a mountinfo table.
func ParseLine(line string) (Mount, error) {
	// The kernel separates fields by one space and escapes spaces
	// inside them, so a single-space split keeps an empty source
	// ("- tmpfs  rw") where strings.Fields would shift the fields.
	f := strings.Split(line, " ")
	sep := -1
	for i := 6; i < len(f); i++ {
		if f[i] == "-" {
			sep = i
			break
		}
	}
	if sep < 0 || sep+2 >= len(f) {
		return Mount{}, fmt.Errorf("malformed (no \" - fstype source\"): %q", line)
	}
	id, err1 := strconv.Atoi(f[0])
	parent, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil {
		return Mount{}, fmt.Errorf("malformed mount ids: %q", line)
	}
	maj, min, ok := strings.Cut(f[2], ":")
	major, err1 := strconv.ParseUint(maj, 10, 32)
	minor, err2 := strconv.ParseUint(min, 10, 32)
	if !ok || err1 != nil || err2 != nil {
		return Mount{}, fmt.Errorf("malformed major:minor %q: %q", f[2], line)
	}
	m := Mount{
		ID: id, Parent: parent, Major: uint32(major), Minor: uint32(minor),
		Root:       Unescape(f[3]),
		Mountpoint: Unescape(f[4]),
		Options:    f[5],
		FSType:     Unescape(f[sep+1]),
		Source:     Unescape(f[sep+2]),
	}
	if sep > 6 {
		m.Optional = f[6:sep]
	}
	if sep+3 < len(f) {
		m.SuperOptions = strings.Join(f[sep+3:], " ")
	}
	return m, nil
}

// Unescape undoes the kernel's \ooo octal escapes; a backslash not
// followed by three octal digits stays as it is.
func Unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && isOctal(s[i+1]) && isOctal(s[i+2]) && isOctal(s[i+3]) && s[i+1] <= '3' {
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }

// HasOption reports whether the comma-separated list (Options or
// SuperOptions) holds opt.
func HasOption(list, opt string) bool {
	for _, o := range strings.Split(list, ",") {
		if o == opt {
			return true
		}
	}
	return false
}

// Shared reports whether the mount is in a peer group (a "shared:N"
// optional field), so mounts under it propagate to its peers.
func (m Mount) Shared() bool {
	for _, o := range m.Optional {
		if strings.HasPrefix(o, "shared:") {
			return true
		}
	}
	return false
}
