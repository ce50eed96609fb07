package image

import (
	"errors"
	"fmt"
	"os"
	"path"
	"strings"

	"golang.org/x/sys/unix"
)

// openInRoot opens rel below the directory rootFd, resolving every
// component (symlinks and ".." included) as if rootFd were "/": nothing a
// layer planted can point outside the rootfs.
func openInRoot(rootFd int, rel string, flags uint64) (int, error) {
	if rel == "" {
		rel = "."
	}
	how := unix.OpenHow{
		Flags:   flags | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	}
	var err error
	for range 16 {
		var fd int
		// The kernel answers EAGAIN when a rename raced the lookup.
		fd, err = unix.Openat2(rootFd, rel, &how)
		if !errors.Is(err, unix.EAGAIN) && !errors.Is(err, unix.EINTR) {
			if errors.Is(err, unix.ENOSYS) {
				return -1, fmt.Errorf("openat2 %q: %w (berth needs Linux 5.6 or later to unpack images safely)", rel, err)
			}
			return fd, err
		}
	}
	return -1, err
}

// removeAllAt removes name in dirFd and, for a directory, everything below
// it, never following a symlink.
func removeAllAt(dirFd int, name string) error {
	var st unix.Stat_t
	if err := unix.Fstatat(dirFd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil
		}
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return unix.Unlinkat(dirFd, name, 0)
	}
	fd, err := unix.Openat(dirFd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	names, err := readDirNames(fd)
	if err == nil {
		for _, n := range names {
			if err = removeAllAt(fd, n); err != nil {
				break
			}
		}
	}
	unix.Close(fd)
	if err != nil {
		return err
	}
	return unix.Unlinkat(dirFd, name, unix.AT_REMOVEDIR)
}

// readDirNames lists a directory fd without consuming it.
func readDirNames(fd int) ([]string, error) {
	dup, err := unix.Openat(fd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(dup), "dir")
	defer f.Close()
	return f.Readdirnames(-1)
}

// procPath names the entry name of dirFd through /proc/self/fd, for the
// calls that have no *at form (lsetxattr); the last component is not
// followed by the l* calls.
func procPath(dirFd int, name string) string {
	return fmt.Sprintf("/proc/self/fd/%d/%s", dirFd, name)
}

// cleanName turns a tar member name into a path relative to the rootfs,
// refusing one that climbs above it. An absolute name counts from the
// rootfs, as tar itself treats it.
func cleanName(name string) (string, error) {
	rel := path.Clean(strings.TrimLeft(name, "/"))
	if rel == ".." || strings.HasPrefix(rel, "../") {
		return "", fmt.Errorf("name leads outside the rootfs")
	}
	return rel, nil
}
