package image

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

const (
	whiteoutPrefix = ".wh."
	whiteoutMeta   = ".wh..wh."
	whiteoutOpaque = ".wh..wh..opq"
)

// applier writes layers into one rootfs.
type applier struct {
	rootFd     int
	uids, gids []IDMap
	// privileged is false for an unprivileged caller, who can neither
	// chown nor mknod: files stay the caller's and device nodes are
	// skipped.
	privileged bool
	// overlay: the layer is unpacked alone, as an overlayfs lower
	// directory; whiteouts become overlayfs ones instead of deletions
	// (overlay.go).
	overlay bool
	// With overlay: the merged view of the layers below, opened when a
	// parent directory the tar omits must copy its owner and mode from
	// there; implicit records that one was made.
	lowerView lowerView
	implicit  bool

	// pool writes small files concurrently (parallel.go); nil when
	// unprivileged. copyBuf streams the larger ones.
	pool    *filePool
	copyBuf []byte

	// Per layer: every path this layer wrote and all their ancestors.
	// Whiteouts only hide what lower layers made (image-spec layer.md),
	// and an opaque directory keeps what its own layer puts in it.
	touched  map[string]bool
	dirTimes []dirTime
}

type dirTime struct {
	rel          string
	atime, mtime time.Time
}

// apply unpacks one layer's tar stream.
func (a *applier) apply(tr *tar.Reader) error {
	a.touched = map[string]bool{}
	a.dirTimes = nil
	if a.privileged {
		a.pool = newFilePool(a)
		defer func() {
			a.pool.stop()
			a.pool = nil
		}()
	}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("read tar: %w", err)
		}
		if err := a.entry(hdr, tr); err != nil {
			return fmt.Errorf("entry %q: %w", hdr.Name, err)
		}
	}
	if err := a.pool.barrier(); err != nil {
		return err
	}
	// Directory times last, deepest first: creating entries inside a
	// directory would move its mtime again.
	for i := len(a.dirTimes) - 1; i >= 0; i-- {
		d := a.dirTimes[i]
		// A later entry of the layer may have replaced the directory.
		if err := a.setTimes(d.rel, d.atime, d.mtime); err != nil && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("entry %q: set times: %w", d.rel, err)
		}
	}
	return nil
}

func (a *applier) touch(rel string) {
	for p := rel; p != "." && p != "/" && p != ""; p = path.Dir(p) {
		a.touched[p] = true
	}
}

func (a *applier) entry(hdr *tar.Header, r io.Reader) error {
	rel, err := cleanName(hdr.Name)
	if err != nil {
		return err
	}
	if rel == "." {
		return a.rootEntry(hdr)
	}
	dir, base := path.Split(rel)
	dir = path.Clean(dir)
	if a.pool.conflicts(rel, hdr) {
		if err := a.pool.barrier(); err != nil {
			return err
		}
	}
	if strings.HasPrefix(base, whiteoutPrefix) {
		return a.whiteout(dir, base)
	}
	a.touch(rel)

	parent, err := a.mkdirAll(dir)
	if err != nil {
		return err
	}
	defer unix.Close(parent)

	var st unix.Stat_t
	switch err := unix.Fstatat(parent, base, &st, unix.AT_SYMLINK_NOFOLLOW); {
	case err == nil:
		// A directory over a directory merges; anything else replaces
		// what the lower layer had.
		if !(hdr.Typeflag == tar.TypeDir && st.Mode&unix.S_IFMT == unix.S_IFDIR) {
			// Files of this layer may still be in flight below a
			// directory about to go.
			if st.Mode&unix.S_IFMT == unix.S_IFDIR {
				if err := a.pool.barrier(); err != nil {
					return err
				}
			}
			if err := removeAllAt(parent, base); err != nil {
				return fmt.Errorf("remove the lower layer's %q: %w", rel, err)
			}
		}
	case !errors.Is(err, unix.ENOENT):
		return fmt.Errorf("fstatat: %w", err)
	}

	mode := uint32(hdr.Mode) & 0o7777
	switch hdr.Typeflag {
	case tar.TypeDir:
		if err := unix.Mkdirat(parent, base, 0o700); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("mkdirat: %w", err)
		}
	case tar.TypeReg, tar.TypeRegA, tar.TypeCont, tar.TypeGNUSparse:
		if a.pool.takes(hdr) {
			return a.pool.submit(parent, base, rel, hdr, r)
		}
		if a.copyBuf == nil {
			a.copyBuf = make([]byte, 1<<20)
		}
		if err := writeFile(parent, base, r, a.copyBuf); err != nil {
			return err
		}
	case tar.TypeSymlink:
		if err := unix.Symlinkat(hdr.Linkname, parent, base); err != nil {
			return fmt.Errorf("symlinkat -> %q: %w", hdr.Linkname, err)
		}
	case tar.TypeLink:
		// A hard link shares the target's inode and so its owner, mode,
		// xattrs and times: nothing more to set.
		return a.hardlink(parent, base, hdr.Linkname)
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		kind := map[byte]uint32{tar.TypeChar: unix.S_IFCHR, tar.TypeBlock: unix.S_IFBLK, tar.TypeFifo: unix.S_IFIFO}[hdr.Typeflag]
		if !a.privileged && kind != unix.S_IFIFO {
			return nil
		}
		dev := unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor))
		if err := unix.Mknodat(parent, base, kind|mode, int(dev)); err != nil {
			return fmt.Errorf("mknodat %d:%d: %w", hdr.Devmajor, hdr.Devminor, err)
		}
	default:
		return fmt.Errorf("unsupported tar entry type %q", hdr.Typeflag)
	}
	return a.setMeta(parent, base, rel, hdr)
}

// writeFile creates base in parent with the content of r, copied through
// buf when given (a large buffer: fewer write calls than io.Copy's 32 KiB).
func writeFile(parent int, base string, r io.Reader, buf []byte) error {
	fd, err := unix.Openat(parent, base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("create: %w", err)
	}
	f := os.NewFile(uintptr(fd), base)
	if buf != nil {
		// Hide *os.File's ReadFrom, which would ignore buf.
		_, err = io.CopyBuffer(struct{ io.Writer }{f}, r, buf)
	} else {
		_, err = io.Copy(f, r)
	}
	if err != nil {
		f.Close()
		return fmt.Errorf("write: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

// setMeta applies owner, mode, xattrs and times, in that order: chown
// clears the set-id bits and file capabilities that come after it.
func (a *applier) setMeta(parent int, base, rel string, hdr *tar.Header) error {
	isLink := hdr.Typeflag == tar.TypeSymlink
	if a.privileged {
		uid, gid, err := a.hostIDs(hdr.Uid, hdr.Gid)
		if err != nil {
			return err
		}
		if err := unix.Fchownat(parent, base, uid, gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fmt.Errorf("fchownat %d:%d: %w", uid, gid, err)
		}
	}
	if !isLink {
		// We made this entry a moment ago and it is no symlink, so
		// following is harmless (fchmodat has no NOFOLLOW before 6.6).
		if err := unix.Fchmodat(parent, base, uint32(hdr.Mode)&0o7777, 0); err != nil {
			return fmt.Errorf("fchmodat %#o: %w", hdr.Mode&0o7777, err)
		}
	}
	for k, v := range hdr.PAXRecords {
		name, ok := strings.CutPrefix(k, "SCHILY.xattr.")
		if !ok || a.overlay && strings.HasPrefix(name, overlayXattrPrefix) {
			continue
		}
		if err := unix.Lsetxattr(procPath(parent, base), name, []byte(v), 0); err != nil {
			return fmt.Errorf("lsetxattr %q: %w", name, err)
		}
	}
	atime := hdr.AccessTime
	if atime.IsZero() {
		atime = hdr.ModTime
	}
	if hdr.Typeflag == tar.TypeDir {
		a.dirTimes = append(a.dirTimes, dirTime{rel: rel, atime: atime, mtime: hdr.ModTime})
		return nil
	}
	ts := []unix.Timespec{unix.NsecToTimespec(atime.UnixNano()), unix.NsecToTimespec(hdr.ModTime.UnixNano())}
	if err := unix.UtimesNanoAt(parent, base, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("utimensat: %w", err)
	}
	return nil
}

func (a *applier) setTimes(rel string, atime, mtime time.Time) error {
	dir, base := path.Split(rel)
	parent, err := openInRoot(a.rootFd, dir, unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return err
	}
	defer unix.Close(parent)
	ts := []unix.Timespec{unix.NsecToTimespec(atime.UnixNano()), unix.NsecToTimespec(mtime.UnixNano())}
	return unix.UtimesNanoAt(parent, base, ts, unix.AT_SYMLINK_NOFOLLOW)
}

func (a *applier) hostIDs(uid, gid int) (int, int, error) {
	hu, err := shiftID(a.uids, uid, "uid")
	if err != nil {
		return 0, 0, err
	}
	hg, err := shiftID(a.gids, gid, "gid")
	if err != nil {
		return 0, 0, err
	}
	return hu, hg, nil
}

// rootEntry applies a "./" member's owner and mode to the rootfs itself.
func (a *applier) rootEntry(hdr *tar.Header) error {
	if hdr.Typeflag != tar.TypeDir {
		return fmt.Errorf("the rootfs itself can only be a directory, not type %q", hdr.Typeflag)
	}
	if a.privileged {
		uid, gid, err := a.hostIDs(hdr.Uid, hdr.Gid)
		if err != nil {
			return err
		}
		if err := unix.Fchown(a.rootFd, uid, gid); err != nil {
			return fmt.Errorf("fchown rootfs %d:%d: %w", uid, gid, err)
		}
	}
	if err := unix.Fchmod(a.rootFd, uint32(hdr.Mode)&0o7777); err != nil {
		return fmt.Errorf("fchmod rootfs: %w", err)
	}
	return nil
}

// mkdirAll returns an O_PATH descriptor of dir inside the rootfs, making
// the missing directories as root-owned 0755 the way tar does.
func (a *applier) mkdirAll(dir string) (int, error) {
	fd, err := openInRoot(a.rootFd, dir, unix.O_PATH|unix.O_DIRECTORY)
	if err == nil || !errors.Is(err, unix.ENOENT) {
		if err != nil {
			err = fmt.Errorf("open parent %q: %w", dir, err)
		}
		return fd, err
	}
	cur, err := unix.Openat(a.rootFd, ".", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	done := ""
	for _, c := range strings.Split(dir, "/") {
		done = path.Join(done, c)
		next, err := openInRoot(a.rootFd, done, unix.O_PATH|unix.O_DIRECTORY)
		if errors.Is(err, unix.ENOENT) {
			// cur is the resolved directory of the prefix, so the new
			// directory lands where the prefix really is.
			if err = unix.Mkdirat(cur, c, 0o755); err == nil {
				a.touch(done)
				if a.privileged {
					uid, gid, idErr := a.hostIDs(0, 0)
					if idErr != nil {
						unix.Close(cur)
						return -1, fmt.Errorf("parent %q: %w", done, idErr)
					}
					err = unix.Fchownat(cur, c, uid, gid, unix.AT_SYMLINK_NOFOLLOW)
				}
				if err == nil && a.overlay {
					err = a.inheritLower(cur, c, done)
				}
				if err == nil {
					next, err = openInRoot(a.rootFd, done, unix.O_PATH|unix.O_DIRECTORY)
				}
			} else if errors.Is(err, unix.EEXIST) {
				err = fmt.Errorf("a dangling symlink is in the way")
			}
		}
		unix.Close(cur)
		if err != nil {
			return -1, fmt.Errorf("make parent %q: %w", done, err)
		}
		cur = next
	}
	return cur, nil
}

func (a *applier) hardlink(parent int, base, linkname string) error {
	target, err := cleanName(linkname)
	if err != nil {
		return fmt.Errorf("hard link target %q: %w", linkname, err)
	}
	tdir, tbase := path.Split(target)
	tparent, err := openInRoot(a.rootFd, tdir, unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return fmt.Errorf("hard link target %q: %w", linkname, err)
	}
	defer unix.Close(tparent)
	if err := unix.Linkat(tparent, tbase, parent, base, 0); err != nil {
		return fmt.Errorf("linkat to %q: %w", linkname, err)
	}
	return nil
}

func (a *applier) whiteout(dir, base string) error {
	if base == whiteoutOpaque {
		if a.overlay {
			return a.overlayOpaque(dir)
		}
		return a.opaque(dir)
	}
	if strings.HasPrefix(base, whiteoutMeta) {
		// Other ".wh..wh." names are aufs bookkeeping, not files.
		return nil
	}
	name := strings.TrimPrefix(base, whiteoutPrefix)
	if name == "" || name == "." || name == ".." {
		return fmt.Errorf("whiteout names no file")
	}
	if a.touched[path.Join(dir, name)] {
		return nil
	}
	if a.overlay {
		return a.overlayWhiteout(dir, name)
	}
	parent, err := openInRoot(a.rootFd, dir, unix.O_PATH|unix.O_DIRECTORY)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("whiteout parent %q: %w", dir, err)
	}
	defer unix.Close(parent)
	if err := removeAllAt(parent, name); err != nil {
		return fmt.Errorf("whiteout %q: %w", path.Join(dir, name), err)
	}
	return nil
}

func (a *applier) opaque(dir string) error {
	fd, err := openInRoot(a.rootFd, dir, unix.O_RDONLY|unix.O_DIRECTORY)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("opaque directory %q: %w", dir, err)
	}
	defer unix.Close(fd)
	a.touch(dir)
	return a.clearLower(fd, dir)
}

// clearLower removes everything below dirFd that this layer did not write.
func (a *applier) clearLower(dirFd int, rel string) error {
	names, err := readDirNames(dirFd)
	if err != nil {
		return fmt.Errorf("read %q: %w", rel, err)
	}
	for _, n := range names {
		child := path.Join(rel, n)
		if !a.touched[child] {
			if err := removeAllAt(dirFd, n); err != nil {
				return fmt.Errorf("opaque: remove %q: %w", child, err)
			}
			continue
		}
		cfd, err := unix.Openat(dirFd, n, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ELOOP) {
			continue
		}
		if err != nil {
			return fmt.Errorf("opaque: open %q: %w", child, err)
		}
		err = a.clearLower(cfd, child)
		unix.Close(cfd)
		if err != nil {
			return err
		}
	}
	return nil
}
