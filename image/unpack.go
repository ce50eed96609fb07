package image

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	v1 "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Options adjust what Unpack makes of an image.
type Options struct {
	// UIDMap and GIDMap shift the owners of unpacked files to host ids
	// and put a user namespace with these mappings into the spec.
	UIDMap, GIDMap []IDMap
	// Cmd, when not nil, replaces the image's Cmd; the Entrypoint stays
	// (as with `docker run IMAGE CMD...`).
	Cmd []string
	// Args, when not nil, replaces process.args altogether.
	Args []string
	// Env entries (NAME=VALUE) replace the image's value of NAME or are
	// appended.
	Env []string
	// Platform is "os/arch[/variant]"; empty means the host's.
	Platform string
	// Overlay makes an overlay bundle (overlay.go): the layers are
	// unpacked once into the store Layers (default DefaultLayerStore)
	// and mounted as overlayfs lowers by the container's init.
	Overlay bool
	Layers  string
}

// Unpack unpacks the image ref ("path", "path:tag" or "path@sha256:…",
// where path is an OCI image layout or a docker-save archive, a directory or
// a tarball) into bundleDir/rootfs and returns the runtime spec converted
// from the image config. It does not write config.json. bundleDir/rootfs
// must be absent or empty; if unpacking fails, what was unpacked is removed.
// With opts.Overlay the layers go to the layer store instead and the spec
// names them (overlay.go).
func Unpack(ref, bundleDir string, opts Options) (*specs.Spec, error) {
	if (len(opts.UIDMap) == 0) != (len(opts.GIDMap) == 0) {
		return nil, fmt.Errorf("give both a uid map and a gid map, or neither: a user namespace needs both")
	}
	if len(opts.UIDMap) > 0 && os.Geteuid() != 0 {
		return nil, fmt.Errorf("shifting file owners by a uid/gid map needs root (euid is %d)", os.Geteuid())
	}
	want, err := parsePlatform(opts.Platform)
	if err != nil {
		return nil, err
	}
	r, err := parseRef(ref)
	if err != nil {
		return nil, err
	}
	s, err := openStore(r.path)
	if err != nil {
		return nil, err
	}
	defer s.close()
	img, err := resolve(s, r, want)
	if err != nil {
		return nil, err
	}
	if opts.Overlay {
		return unpackOverlay(s, img, r, bundleDir, opts)
	}

	rootfs := filepath.Join(bundleDir, "rootfs")
	created, err := makeRootfs(rootfs)
	if err != nil {
		return nil, err
	}
	rootFd, err := unix.Open(rootfs, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil, fmt.Errorf("open rootfs %q: %w", rootfs, err)
	}
	defer unix.Close(rootFd)

	a := &applier{rootFd: rootFd, uids: opts.UIDMap, gids: opts.GIDMap, privileged: os.Geteuid() == 0}
	err = a.ownRoot()
	for _, l := range img.layers {
		if err != nil {
			break
		}
		err = applyLayer(s, l, a)
	}
	var sp *specs.Spec
	if err == nil {
		sp, err = convert(img, rootFd, opts)
	}
	if err != nil {
		if cerr := clearRootfs(rootFd, rootfs, created); cerr != nil {
			err = fmt.Errorf("%w (and cleaning up: %v)", err, cerr)
		}
		return nil, fmt.Errorf("image %q: %w", r, err)
	}
	return sp, nil
}

func parsePlatform(p string) (v1.Platform, error) {
	if p == "" {
		return v1.Platform{OS: runtime.GOOS, Architecture: runtime.GOARCH}, nil
	}
	parts := strings.Split(p, "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
		return v1.Platform{}, fmt.Errorf("platform %q: want os/arch[/variant]", p)
	}
	pl := v1.Platform{OS: parts[0], Architecture: parts[1]}
	if len(parts) == 3 {
		pl.Variant = parts[2]
	}
	return pl, nil
}

// makeRootfs makes the rootfs directory, or accepts an empty one.
func makeRootfs(rootfs string) (created bool, err error) {
	if err := os.MkdirAll(filepath.Dir(rootfs), 0o755); err != nil {
		return false, fmt.Errorf("bundle: %w", err)
	}
	err = os.Mkdir(rootfs, 0o755)
	if err == nil {
		return true, nil
	}
	if !errors.Is(err, os.ErrExist) {
		return false, fmt.Errorf("bundle: %w", err)
	}
	f, err := os.Open(rootfs)
	if err != nil {
		return false, fmt.Errorf("bundle: %w", err)
	}
	defer f.Close()
	if names, _ := f.Readdirnames(1); len(names) > 0 {
		return false, fmt.Errorf("bundle: %s is not empty; unpack into a fresh bundle", rootfs)
	}
	return false, nil
}

func clearRootfs(rootFd int, rootfs string, created bool) error {
	names, err := readDirNames(rootFd)
	if err != nil {
		return err
	}
	for _, n := range names {
		if err := removeAllAt(rootFd, n); err != nil {
			return fmt.Errorf("remove %s/%s: %w", rootfs, n, err)
		}
	}
	if created {
		return os.Remove(rootfs)
	}
	return nil
}

// ownRoot gives the rootfs itself to the container's root when ids are
// shifted.
func (a *applier) ownRoot() error {
	if !a.privileged || (len(a.uids) == 0 && len(a.gids) == 0) {
		return nil
	}
	uid, gid, err := a.hostIDs(0, 0)
	if err != nil {
		return fmt.Errorf("rootfs owner: %w", err)
	}
	if err := unix.Fchown(a.rootFd, uid, gid); err != nil {
		return fmt.Errorf("fchown rootfs %d:%d: %w", uid, gid, err)
	}
	return nil
}

// compression tells how a layer media type is compressed.
func compression(mediaType string) (string, error) {
	switch mediaType {
	// The non-distributable types are deprecated for new images, not for
	// reading old ones.
	case v1.MediaTypeImageLayer,
		v1.MediaTypeImageLayerNonDistributable,
		mediaTypeDockerLayer:
		return "none", nil
	case v1.MediaTypeImageLayerGzip,
		v1.MediaTypeImageLayerNonDistributableGzip,
		mediaTypeDockerLayerGzip,
		mediaTypeDockerForeignLayerGzip:
		return "gzip", nil
	case v1.MediaTypeImageLayerZstd,
		v1.MediaTypeImageLayerNonDistributableZstd:
		return "zstd", nil
	}
	return "", fmt.Errorf("unsupported layer media type %q", mediaType)
}

var (
	gzipMagic = []byte{0x1f, 0x8b}
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// applyLayer streams one layer into the rootfs while checking both its
// stored and its uncompressed digest.
func applyLayer(s store, l layer, a *applier) error {
	rc, size, err := s.open(l.name)
	if err != nil {
		return fmt.Errorf("%s: %w", l.what, err)
	}
	defer rc.Close()
	if l.size >= 0 && size != l.size {
		return fmt.Errorf("%s: size mismatch: descriptor says %d bytes, blob has %d", l.what, l.size, size)
	}
	var raw io.Reader = rc
	var rawV *verifier
	if l.digest != "" {
		rawV = newVerifier(rc, l.digest, size, l.what)
		raw = rawV
	}
	br := bufio.NewReaderSize(raw, 64<<10)

	comp := "none"
	if l.mediaType != "" {
		comp, _ = compression(l.mediaType)
	} else if head, _ := br.Peek(4); bytes.HasPrefix(head, gzipMagic) {
		comp = "gzip"
	} else if bytes.HasPrefix(head, zstdMagic) {
		comp = "zstd"
	}
	var dec io.Reader = br
	switch comp {
	case "gzip":
		gz, err := gzip.NewReader(br)
		if err != nil {
			return badBlob(rawV, br, fmt.Errorf("%s: gzip: %w", l.what, err))
		}
		defer gz.Close()
		dec = gz
	case "zstd":
		zr, err := newZstdReader(br)
		if err != nil {
			return badBlob(rawV, br, fmt.Errorf("%s: zstd: %w", l.what, err))
		}
		defer zr.Close()
		dec = zr
	}
	diffV := newVerifier(dec, l.diffID, -1, l.what+", uncompressed content checked against the config's rootfs.diff_ids")
	ra := newReadahead(diffV)
	applyErr := a.apply(tar.NewReader(ra))
	ra.close()
	if applyErr != nil {
		applyErr = fmt.Errorf("%s: %w", l.what, applyErr)
	}
	// The tar reader stops at the end marker: read the rest so that both
	// digests cover every byte.
	diffErr := diffV.finish()
	switch {
	case applyErr != nil && diffErr != nil:
		err = fmt.Errorf("%w; %v", applyErr, diffErr)
	case applyErr != nil:
		err = applyErr
	default:
		err = diffErr
	}
	return badBlob(rawV, br, err)
}

// badBlob prefers a digest or size mismatch of the stored blob to whatever
// else went wrong: a corrupt or tampered blob explains any later failure.
func badBlob(rawV *verifier, br *bufio.Reader, err error) error {
	if rawV != nil {
		io.Copy(io.Discard, br)
		if verr := rawV.finish(); verr != nil {
			return verr
		}
	}
	return err
}
