package image

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"

	digest "github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"berth/rootfs"
)

// An overlay bundle (Options.Overlay) does not copy the image into
// rootfs/: each layer is unpacked once into a shared layer store as a
// read-only overlayfs lower directory named by its diff_id, and the
// bundle's config.json lists those directories in the annotation
// rootfs.OverlayAnnotation; the container's init mounts the overlay with
// <bundle>/upper and <bundle>/work. Bundles of images that share layers
// share their files (and page cache), and a second bundle of an image
// costs a few mkdirs.
//
// A layer directory is complete or absent: it is unpacked into a
// temporary directory next to it, synced, and renamed into place, under a
// per-layer flock so that concurrent bundles of one image unpack each
// layer once. Its whiteouts are overlayfs's: ".wh.NAME" becomes a 0:0
// character device NAME and ".wh..wh..opq" the xattr
// trusted.overlay.opaque=y on its directory. trusted.overlay.* xattrs in a
// layer's own tar are dropped: they would steer overlayfs (redirects,
// metacopy) and no image has a right to that.
//
// A layer directory is named by the layer's diff_id, so that every image
// holding the layer shares it, unless its content depends on the layers
// below: a parent directory the tar omits (umoci's whiteout layers omit
// them) must take the owner and mode it has below, as it would when the
// layers are applied onto one rootfs, or it would hide them in the merged
// view. Such a layer is copied from the merged view of its lowers and
// named "chain-" + its chain id (image-spec config.md), which covers every
// layer below it.

// DefaultLayerStore is where overlay bundles keep unpacked layers.
const DefaultLayerStore = "/var/lib/berth/layers"

const overlayXattrPrefix = "trusted.overlay."

// unpackOverlay makes an overlay bundle of img in bundleDir.
func unpackOverlay(s store, img *resolved, r reference, bundleDir string, opts Options) (*specs.Spec, error) {
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("--overlay needs root: overlayfs whiteouts are device nodes and trusted.* xattrs (euid is %d)", os.Geteuid())
	}
	if len(opts.UIDMap) > 0 {
		return nil, fmt.Errorf("--overlay cannot shift file owners (--uid-map): the shared layers keep the image's ids")
	}
	if len(img.layers) == 0 {
		return nil, fmt.Errorf("image %q has no layers: an overlay needs at least one lower directory", r)
	}
	storeDir := opts.Layers
	if storeDir == "" {
		storeDir = DefaultLayerStore
	}
	storeDir, err := filepath.Abs(storeDir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(storeDir, 0o700); err != nil {
		return nil, fmt.Errorf("layer store: %w", err)
	}

	// Bottom up, each layer seeing the ones below; lowers is top layer
	// first, as overlayfs lists them. A layer that occurs twice keeps only
	// its top occurrence: overlayfs refuses a lower twice, and applying
	// the same layer again above changes nothing the top copy does not
	// redo.
	var lowers []string
	var chain digest.Digest
	for _, l := range img.layers {
		chain = chainID(chain, l.diffID)
		dir, err := ensureLayer(s, l, storeDir, chain, lowers)
		if err != nil {
			return nil, fmt.Errorf("image %q: %w", r, err)
		}
		lowers = slices.DeleteFunc(lowers, func(d string) bool { return d == dir })
		lowers = append([]string{dir}, lowers...)
	}

	viewFd, err := rootfs.OpenOverlay(lowers)
	if err != nil {
		return nil, fmt.Errorf("image %q: read-only view of its layers: %w", r, err)
	}
	sp, err := convert(img, viewFd, opts)
	unix.Close(viewFd)
	if err != nil {
		return nil, fmt.Errorf("image %q: %w", r, err)
	}
	annot, err := json.Marshal(lowers)
	if err != nil {
		return nil, err
	}
	if sp.Annotations == nil {
		sp.Annotations = map[string]string{}
	}
	sp.Annotations[rootfs.OverlayAnnotation] = string(annot)

	if err := makeOverlayDirs(bundleDir); err != nil {
		return nil, err
	}
	return sp, nil
}

// makeOverlayDirs makes the bundle's empty rootfs/ (the mount point),
// upper/ and work/; it fails, having made nothing, if any exists non-empty.
func makeOverlayDirs(bundleDir string) error {
	if err := os.MkdirAll(bundleDir, 0o755); err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	var made []string
	for _, d := range []struct {
		name string
		mode os.FileMode
	}{{"rootfs", 0o755}, {rootfs.OverlayUpper, 0o755}, {rootfs.OverlayWork, 0o700}} {
		p := filepath.Join(bundleDir, d.name)
		err := os.Mkdir(p, d.mode)
		if err == nil {
			made = append(made, p)
			continue
		}
		if errors.Is(err, os.ErrExist) {
			if names, rerr := dirNames(p); rerr == nil && len(names) == 0 {
				continue
			}
			err = fmt.Errorf("%s exists and is not an empty directory; make the bundle in a fresh directory", p)
		}
		for _, m := range made {
			os.Remove(m)
		}
		return fmt.Errorf("bundle: %w", err)
	}
	return nil
}

func dirNames(p string) ([]string, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Readdirnames(1)
}

// chainID is image-spec's ChainID of a layer whose parent chain is
// parent ("" for the bottom layer).
func chainID(parent, diffID digest.Digest) digest.Digest {
	if parent == "" {
		return diffID
	}
	return digest.SHA256.FromString(parent.String() + " " + diffID.String())
}

// ensureLayer returns the store directory of layer l, whose chain id is
// chain and whose lowers (top first) are below, unpacking it first unless
// an earlier bundle did.
func ensureLayer(s store, l layer, storeDir string, chain digest.Digest, below []string) (string, error) {
	shared := filepath.Join(storeDir, l.diffID.Encoded())
	own := filepath.Join(storeDir, "chain-"+chain.Encoded())
	if len(below) == 0 {
		own = shared
	}
	find := func() string {
		for _, d := range []string{shared, own} {
			if isDir(d) {
				return d
			}
		}
		return ""
	}
	if d := find(); d != "" {
		return d, nil
	}
	lockPath := filepath.Join(storeDir, ".lock-"+l.diffID.Encoded())
	lock, err := unix.Open(lockPath, unix.O_RDWR|unix.O_CREAT|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return "", fmt.Errorf("layer store: open %s: %w", lockPath, err)
	}
	defer unix.Close(lock)
	for {
		err = unix.Flock(lock, unix.LOCK_EX)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if err != nil {
		return "", fmt.Errorf("layer store: flock %s: %w", lockPath, err)
	}
	// Whoever held the lock before us may have unpacked it.
	if d := find(); d != "" {
		return d, nil
	}
	// Holding the lock, any temporary directory of this layer is the
	// remains of an unpack that died.
	stale, _ := filepath.Glob(filepath.Join(storeDir, ".tmp-"+l.diffID.Encoded()+"-*"))
	for _, d := range stale {
		if err := os.RemoveAll(d); err != nil {
			return "", fmt.Errorf("layer store: remove the leftover %s: %w", d, err)
		}
	}
	tmp, err := os.MkdirTemp(storeDir, ".tmp-"+l.diffID.Encoded()+"-")
	if err != nil {
		return "", fmt.Errorf("layer store: %w", err)
	}
	implicit, err := unpackLower(s, l, tmp, below)
	final := shared
	if implicit {
		final = own
	}
	if err == nil {
		if err = os.Rename(tmp, final); err != nil {
			err = fmt.Errorf("layer store: rename %s to %s: %w", tmp, final, err)
		}
	}
	if err != nil {
		if rerr := os.RemoveAll(tmp); rerr != nil {
			err = fmt.Errorf("%w (and removing %s: %v)", err, tmp, rerr)
		}
		return "", err
	}
	if d, err := os.Open(storeDir); err == nil {
		d.Sync()
		d.Close()
	}
	return final, nil
}

// unpackLower applies one layer alone into dir and syncs it: a layer
// directory outlives this command and is shared by every later bundle, so
// a crash must not leave one that looks complete with lost data. implicit
// tells that a parent directory was copied from the layers below.
func unpackLower(s store, l layer, dir string, below []string) (implicit bool, err error) {
	if err := os.Chmod(dir, 0o755); err != nil {
		return false, err
	}
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return false, fmt.Errorf("open %q: %w", dir, err)
	}
	defer unix.Close(fd)
	a := &applier{rootFd: fd, privileged: true, overlay: true, lowerView: lowerView{lowers: below, fd: -1}}
	defer a.lowerView.close()
	if err := applyLayer(s, l, a); err != nil {
		return false, err
	}
	if err := unix.Syncfs(fd); err != nil {
		return false, fmt.Errorf("%s: syncfs %s: %w", l.what, dir, err)
	}
	return a.implicit, nil
}

// lowerView opens the merged view of a layer's lowers on first use.
type lowerView struct {
	lowers []string
	fd     int
	err    error
}

func (v *lowerView) get() (int, error) {
	if v.fd < 0 && v.err == nil && len(v.lowers) > 0 {
		v.fd, v.err = rootfs.OpenOverlay(v.lowers)
	}
	return v.fd, v.err
}

func (v *lowerView) close() {
	if v.fd >= 0 {
		unix.Close(v.fd)
		v.fd = -1
	}
}

// inheritLower gives the directory name in parent (rel in the layer), a
// parent the tar omits, the owner and mode the layers below have for it.
func (a *applier) inheritLower(parent int, name, rel string) error {
	if len(a.lowerView.lowers) == 0 {
		return nil
	}
	a.implicit = true
	view, err := a.lowerView.get()
	if err != nil {
		return fmt.Errorf("the layers below: %w", err)
	}
	dir, base := path.Split(rel)
	pfd, err := openInRoot(view, dir, unix.O_PATH|unix.O_DIRECTORY)
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("the layers below: %q: %w", dir, err)
	}
	defer unix.Close(pfd)
	var st unix.Stat_t
	if err := unix.Fstatat(pfd, base, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return nil
	}
	if err := unix.Fchownat(parent, name, int(st.Uid), int(st.Gid), unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("fchownat %d:%d as below: %w", st.Uid, st.Gid, err)
	}
	if err := unix.Fchmodat(parent, name, st.Mode&0o7777, 0); err != nil {
		return fmt.Errorf("fchmodat %#o as below: %w", st.Mode&0o7777, err)
	}
	return nil
}

func isDir(p string) bool {
	st, err := os.Lstat(p)
	return err == nil && st.IsDir()
}

// overlayWhiteout records ".wh.NAME" the way overlayfs reads it: a 0:0
// character device NAME.
func (a *applier) overlayWhiteout(dir, name string) error {
	a.touch(dir)
	parent, err := a.mkdirAll(dir)
	if err != nil {
		return err
	}
	defer unix.Close(parent)
	if err := unix.Mknodat(parent, name, unix.S_IFCHR, 0); err != nil {
		if errors.Is(err, unix.EEXIST) {
			// This layer's own entry of that name; whiteouts only hide
			// lower layers'.
			return nil
		}
		return fmt.Errorf("whiteout %q: mknodat 0:0: %w", path.Join(dir, name), err)
	}
	return nil
}

// overlayOpaque records ".wh..wh..opq" the way overlayfs reads it: the
// directory gets trusted.overlay.opaque=y, which hides the lower layers'
// entries and keeps this layer's.
func (a *applier) overlayOpaque(dir string) error {
	a.touch(dir)
	fd, err := a.mkdirAll(dir)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	// fd is O_PATH, which fsetxattr refuses; its /proc link is the
	// directory itself.
	if err := unix.Setxattr(fmt.Sprintf("/proc/self/fd/%d", fd), overlayXattrPrefix+"opaque", []byte("y"), 0); err != nil {
		return fmt.Errorf("opaque directory %q: setxattr %sopaque: %w", dir, overlayXattrPrefix, err)
	}
	return nil
}
