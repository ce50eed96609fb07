package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// maxSymlinks bounds symlink expansion like the kernel's MAXSYMLINKS.
const maxSymlinks = 40

type createKind int

const (
	createNone createKind = iota
	createDir             // mkdir -p, the final component a directory
	createFile            // mkdir -p the parents, the final component an empty file
)

// target is a path resolved inside a root: an O_PATH descriptor for the
// object and one for the directory holding it, so that after a mount on the
// object the new mount's root can be looked up again by name without
// walking the path (and its symlinks) a second time.
type target struct {
	fd       int    // O_PATH descriptor of the object
	parentFd int    // O_PATH descriptor of its directory; -1 when the object is the root
	name     string // its name in that directory
	path     string // resolved path inside the root, for messages
}

func (t *target) close() {
	if t == nil {
		return
	}
	if t.fd >= 0 {
		unix.Close(t.fd)
		t.fd = -1
	}
	if t.parentFd >= 0 {
		unix.Close(t.parentFd)
		t.parentFd = -1
	}
}

type frame struct {
	fd   int
	name string
}

// resolveInRoot walks unsafePath inside the directory rootFd one component at
// a time. Each step is openat(dir, name, O_PATH|O_NOFOLLOW) of a single
// name, so the kernel never follows a symlink or ".." for us; symlinks are
// read and spliced into the remaining path (absolute ones restart at the
// root), ".." pops our own stack of directory descriptors and stops at the
// root. Nothing the rootfs contains can therefore lead outside it, and
// missing components are created where they will really be: a dangling
// /etc/resolv.conf -> ../run/resolv.conf creates run/resolv.conf in the root,
// as SecureJoin does. rootFd stays owned by the caller.
func resolveInRoot(rootFd int, unsafePath string, create createKind, perm uint32) (*target, error) {
	stack := []frame{{fd: rootFd}}
	defer func() {
		for _, f := range stack[1:] {
			unix.Close(f.fd)
		}
	}()
	where := func() string {
		var b strings.Builder
		for _, f := range stack[1:] {
			b.WriteString("/")
			b.WriteString(f.name)
		}
		if b.Len() == 0 {
			return "/"
		}
		return b.String()
	}

	queue := splitPath(unsafePath)
	links := 0
	for len(queue) > 0 {
		comp := queue[0]
		queue = queue[1:]
		if comp == ".." {
			if len(stack) > 1 {
				unix.Close(stack[len(stack)-1].fd)
				stack = stack[:len(stack)-1]
			}
			continue
		}
		last := len(queue) == 0
		dir := stack[len(stack)-1].fd
		fd, err := openOrCreate(dir, comp, last, create, perm)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", filepath.Join(where(), comp), err)
		}
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			unix.Close(fd)
			return nil, fmt.Errorf("fstat %q: %w", filepath.Join(where(), comp), err)
		}
		switch {
		case st.Mode&unix.S_IFMT == unix.S_IFLNK:
			link, err := readlinkFd(fd)
			unix.Close(fd)
			if err != nil {
				return nil, fmt.Errorf("readlink %q: %w", filepath.Join(where(), comp), err)
			}
			if links++; links > maxSymlinks {
				return nil, fmt.Errorf("%q: %w", filepath.Join(where(), comp), unix.ELOOP)
			}
			if filepath.IsAbs(link) {
				for _, f := range stack[1:] {
					unix.Close(f.fd)
				}
				stack = stack[:1]
			}
			queue = append(splitPath(link), queue...)
			continue
		case !last && st.Mode&unix.S_IFMT != unix.S_IFDIR:
			unix.Close(fd)
			return nil, fmt.Errorf("%q: %w", filepath.Join(where(), comp), unix.ENOTDIR)
		}
		stack = append(stack, frame{fd: fd, name: comp})
	}

	t := &target{fd: -1, parentFd: -1, path: where()}
	dupRoot := func() (int, error) {
		fd, err := unix.Openat(rootFd, ".", unix.O_PATH|unix.O_CLOEXEC|unix.O_DIRECTORY, 0)
		if err != nil {
			return -1, fmt.Errorf("reopen root: %w", err)
		}
		return fd, nil
	}
	n := len(stack)
	if n == 1 {
		fd, err := dupRoot()
		if err != nil {
			return nil, err
		}
		t.fd = fd
		return t, nil
	}
	if n == 2 {
		fd, err := dupRoot()
		if err != nil {
			return nil, err
		}
		t.parentFd = fd
	} else {
		t.parentFd = stack[n-2].fd
	}
	t.fd, t.name = stack[n-1].fd, stack[n-1].name
	// t owns these descriptors now; keep the deferred cleanup off them.
	if n == 2 {
		stack = stack[:1]
	} else {
		stack = stack[:n-2]
	}
	return t, nil
}

// openOrCreate opens one name in dir without following it, creating it first
// when it is missing and the caller asked for creation.
func openOrCreate(dir int, name string, last bool, create createKind, perm uint32) (int, error) {
	for tries := 0; ; tries++ {
		fd, err := unix.Openat(dir, name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err == nil || !errors.Is(err, unix.ENOENT) || create == createNone || tries > 3 {
			return fd, err
		}
		if last && create == createFile {
			nfd, err := unix.Openat(dir, name, unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_RDONLY|unix.O_CLOEXEC, perm)
			if err != nil && !errors.Is(err, unix.EEXIST) {
				return -1, fmt.Errorf("create: %w", err)
			}
			if err == nil {
				unix.Close(nfd)
			}
			continue
		}
		dirPerm := perm
		if dirPerm == 0 || create == createFile {
			dirPerm = 0o755
		}
		if err := unix.Mkdirat(dir, name, dirPerm); err != nil && !errors.Is(err, unix.EEXIST) {
			return -1, fmt.Errorf("mkdir: %w", err)
		}
	}
}

func readlinkFd(fd int) (string, error) {
	for size := 256; ; size *= 2 {
		buf := make([]byte, size)
		n, err := unix.Readlinkat(fd, "", buf)
		if err != nil {
			return "", err
		}
		if n < size {
			return string(buf[:n]), nil
		}
		if size > unix.PathMax {
			return "", unix.ENAMETOOLONG
		}
	}
}

// splitPath returns the components of p, dropping empty ones and ".".
func splitPath(p string) []string {
	var out []string
	for _, c := range strings.Split(p, "/") {
		if c != "" && c != "." {
			out = append(out, c)
		}
	}
	return out
}

// openat2InRoot opens path inside rootFd with RESOLVE_IN_ROOT: the kernel
// treats rootFd as "/" for absolute symlinks and "..", and magic links
// (/proc/self/fd/...) are refused. It retries the EAGAIN the kernel returns
// when a concurrent rename might have let a ".." escape.
func openat2InRoot(rootFd int, path string, flags uint64) (int, error) {
	how := unix.OpenHow{
		Flags:   flags | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	}
	var err error
	for range 16 {
		var fd int
		fd, err = unix.Openat2(rootFd, path, &how)
		if !errors.Is(err, unix.EAGAIN) && !errors.Is(err, unix.EINTR) {
			return fd, err
		}
	}
	return -1, err
}

// openat2Unsupported reports errors that mean openat2 itself is unavailable
// (old kernel or a seccomp filter), not that the path is bad.
func openat2Unsupported(err error) bool {
	return errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.E2BIG)
}

// openPathInRoot opens an existing path inside rootFd as O_PATH, following
// symlinks only within the root. It prefers openat2 and walks by hand
// where the kernel lacks it.
func openPathInRoot(rootFd int, path string) (int, error) {
	fd, err := openat2InRoot(rootFd, path, unix.O_PATH)
	if err == nil || !openat2Unsupported(err) {
		return fd, err
	}
	t, err := resolveInRoot(rootFd, path, createNone, 0)
	if err != nil {
		return -1, unwrapErrno(err)
	}
	fd = t.fd
	t.fd = -1
	t.close()
	return fd, nil
}

// unwrapErrno returns the errno inside err when there is one, so callers of
// the exported helpers can test with errors.Is either way and messages stay
// short.
func unwrapErrno(err error) error {
	var e unix.Errno
	if errors.As(err, &e) {
		return e
	}
	return err
}

func openRoot(rootfs string) (int, error) {
	fd, err := unix.Open(rootfs, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, &os.PathError{Op: "open", Path: rootfs, Err: err}
	}
	return fd, nil
}

// OpenInRoot opens path inside the directory rootfs as an O_PATH file,
// following symlinks as if rootfs were "/" (openat2 RESOLVE_IN_ROOT|
// RESOLVE_NO_MAGICLINKS): neither absolute links nor ".." can leave it.
func OpenInRoot(rootfs, path string) (*os.File, error) {
	rootFd, err := openRoot(rootfs)
	if err != nil {
		return nil, err
	}
	defer unix.Close(rootFd)
	fd, err := openPathInRoot(rootFd, path)
	if err != nil {
		return nil, &os.PathError{Op: "openat2", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), filepath.Join(rootfs, filepath.Clean("/"+path))), nil
}

// MkdirAllInRoot is mkdir -p of path inside rootfs with symlinks resolved
// within rootfs; it returns the final directory as an O_PATH file.
func MkdirAllInRoot(rootfs, path string, mode os.FileMode) (*os.File, error) {
	return createInRoot(rootfs, path, createDir, mode)
}

// CreateFileInRoot makes path's parent directories (0755) and then path as
// an empty file with mode unless something already exists there, all
// inside rootfs, and returns it as an O_PATH file. It is how a bind-mount
// target for a non-directory source is made.
func CreateFileInRoot(rootfs, path string, mode os.FileMode) (*os.File, error) {
	return createInRoot(rootfs, path, createFile, mode)
}

func createInRoot(rootfs, path string, kind createKind, mode os.FileMode) (*os.File, error) {
	rootFd, err := openRoot(rootfs)
	if err != nil {
		return nil, err
	}
	defer unix.Close(rootFd)
	t, err := resolveInRoot(rootFd, path, kind, uint32(mode.Perm()))
	if err != nil {
		return nil, fmt.Errorf("create %q in %q: %w", path, rootfs, err)
	}
	fd := t.fd
	t.fd = -1
	t.close()
	return os.NewFile(uintptr(fd), filepath.Join(rootfs, t.path)), nil
}
