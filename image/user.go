package image

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

type passwdEntry struct {
	name     string
	uid, gid uint32
}

type groupEntry struct {
	name    string
	gid     uint32
	members []string
}

// ResolveUser turns an image's Config.User ("", "uid", "uid:gid", "name",
// "name:group" and the mixed forms) into process.user, looking names up in
// rootfs/etc/passwd and rootfs/etc/group. As conversion.md asks, numeric
// values are taken verbatim, a name that is not there is an error, and only
// the "name" form gets the user's supplementary groups.
func ResolveUser(rootfs, user string) (specs.User, error) {
	fd, err := unix.Open(rootfs, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return specs.User{}, fmt.Errorf("open rootfs %q: %w", rootfs, err)
	}
	defer unix.Close(fd)
	return resolveUser(fd, user)
}

func resolveUser(rootFd int, user string) (specs.User, error) {
	var u specs.User
	if user == "" {
		return u, nil
	}
	name, group, hasGroup := strings.Cut(user, ":")
	if name == "" || (hasGroup && group == "") {
		return u, fmt.Errorf("user %q: want user, user:group, uid or uid:gid", user)
	}
	users, err := readPasswd(rootFd)
	if err != nil {
		return u, err
	}
	var primary uint32
	if id, ok := numericID(name); ok {
		u.UID = id
		for _, e := range users {
			if e.uid == id {
				primary = e.gid
				break
			}
		}
	} else {
		found := false
		for _, e := range users {
			if e.name == name {
				u.UID, primary, found = e.uid, e.gid, true
				break
			}
		}
		if !found {
			return u, fmt.Errorf("user %q: no user %q in the image's /etc/passwd", user, name)
		}
	}

	needGroups := hasGroup && !isNumeric(group) || !hasGroup && !isNumeric(name)
	var groups []groupEntry
	if needGroups {
		if groups, err = readGroup(rootFd); err != nil {
			return u, err
		}
	}
	switch {
	case hasGroup && isNumeric(group):
		u.GID, _ = numericID(group)
	case hasGroup:
		found := false
		for _, g := range groups {
			if g.name == group {
				u.GID, found = g.gid, true
				break
			}
		}
		if !found {
			return u, fmt.Errorf("user %q: no group %q in the image's /etc/group", user, group)
		}
	default:
		u.GID = primary
		if !isNumeric(name) {
			for _, g := range groups {
				if g.gid != u.GID && containsStr(g.members, name) && !containsGID(u.AdditionalGids, g.gid) {
					u.AdditionalGids = append(u.AdditionalGids, g.gid)
				}
			}
		}
	}
	return u, nil
}

func numericID(s string) (uint32, bool) {
	n, err := strconv.ParseUint(s, 10, 32)
	return uint32(n), err == nil
}

func isNumeric(s string) bool { _, ok := numericID(s); return ok }

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func containsGID(list []uint32, g uint32) bool {
	for _, x := range list {
		if x == g {
			return true
		}
	}
	return false
}

// readInRoot reads a small file of the rootfs; a missing one reads empty.
func readInRoot(rootFd int, rel string) ([]byte, error) {
	fd, err := openInRoot(rootFd, rel, unix.O_RDONLY)
	if errors.Is(err, unix.ENOENT) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open /%s in the rootfs: %w", rel, err)
	}
	f := os.NewFile(uintptr(fd), rel)
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("read /%s in the rootfs: %w", rel, err)
	}
	return data, nil
}

func readPasswd(rootFd int) ([]passwdEntry, error) {
	data, err := readInRoot(rootFd, "etc/passwd")
	if err != nil {
		return nil, err
	}
	return parsePasswd(string(data)), nil
}

func readGroup(rootFd int) ([]groupEntry, error) {
	data, err := readInRoot(rootFd, "etc/group")
	if err != nil {
		return nil, err
	}
	return parseGroup(string(data)), nil
}

// parsePasswd reads name:password:uid:gid:gecos:home:shell lines, skipping
// what is not such a line (comments, NIS "+" entries, garbage).
func parsePasswd(text string) []passwdEntry {
	var out []passwdEntry
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		f := strings.Split(strings.TrimSpace(sc.Text()), ":")
		if len(f) < 4 || f[0] == "" || strings.HasPrefix(f[0], "#") {
			continue
		}
		uid, ok1 := numericID(f[2])
		gid, ok2 := numericID(f[3])
		if ok1 && ok2 {
			out = append(out, passwdEntry{name: f[0], uid: uid, gid: gid})
		}
	}
	return out
}

// parseGroup reads name:password:gid:member,member lines.
func parseGroup(text string) []groupEntry {
	var out []groupEntry
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		f := strings.Split(strings.TrimSpace(sc.Text()), ":")
		if len(f) < 3 || f[0] == "" || strings.HasPrefix(f[0], "#") {
			continue
		}
		gid, ok := numericID(f[2])
		if !ok {
			continue
		}
		g := groupEntry{name: f[0], gid: gid}
		if len(f) > 3 && f[3] != "" {
			for _, m := range strings.Split(f[3], ",") {
				if m = strings.TrimSpace(m); m != "" {
					g.members = append(g.members, m)
				}
			}
		}
		out = append(out, g)
	}
	return out
}
