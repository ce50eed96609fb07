package rootfs

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// mountInfo is one line of /proc/self/mountinfo.
type mountInfo struct {
	id, parent int
	root       string // path of the mount's root inside its filesystem
	mountpoint string
	optional   []string // "shared:N", "master:N", ...
	fstype     string
	source     string
	superOpts  []string
}

func readMountinfo() ([]mountInfo, error) {
	return readMountinfoOf("/proc/self/mountinfo")
}

func readMountinfoOf(path string) ([]mountInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseMountinfo(f)
}

func parseMountinfo(r io.Reader) ([]mountInfo, error) {
	var out []mountInfo
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		// id parent maj:min root mountpoint opts [optional...] - fstype source superopts
		sep := -1
		for i := 6; i < len(fields); i++ {
			if fields[i] == "-" {
				sep = i
				break
			}
		}
		if len(fields) < 7 || sep < 0 || sep+2 >= len(fields) {
			return nil, fmt.Errorf("/proc/self/mountinfo: malformed line %q", sc.Text())
		}
		id, err1 := strconv.Atoi(fields[0])
		parent, err2 := strconv.Atoi(fields[1])
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("/proc/self/mountinfo: malformed line %q", sc.Text())
		}
		mi := mountInfo{
			id:         id,
			parent:     parent,
			root:       unescapeMountinfo(fields[3]),
			mountpoint: unescapeMountinfo(fields[4]),
			optional:   fields[6:sep],
			fstype:     fields[sep+1],
			source:     unescapeMountinfo(fields[sep+2]),
		}
		if sep+3 < len(fields) {
			mi.superOpts = strings.Split(fields[sep+3], ",")
		}
		out = append(out, mi)
	}
	return out, sc.Err()
}

// unescapeMountinfo undoes the kernel's octal escapes (\040 for space, ...).
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// mountIDOf returns the id of the mount an fd (or path, with fd=AT_FDCWD)
// sits on, and whether the object is that mount's root.
func mountIDOf(fd int, path string) (id uint64, isRoot bool, err error) {
	var stx unix.Statx_t
	flags := unix.AT_SYMLINK_NOFOLLOW
	if path == "" {
		flags |= unix.AT_EMPTY_PATH
	}
	if err := unix.Statx(fd, path, flags, unix.STATX_MNT_ID, &stx); err != nil {
		return 0, false, err
	}
	if stx.Mask&unix.STATX_MNT_ID == 0 {
		return 0, false, unix.ENOSYS
	}
	isRoot = stx.Attributes_mask&unix.STATX_ATTR_MOUNT_ROOT != 0 && stx.Attributes&unix.STATX_ATTR_MOUNT_ROOT != 0
	return stx.Mnt_id, isRoot, nil
}
