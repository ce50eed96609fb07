package image

import (
	"archive/tar"
	// go-digest computes through crypto.Hash and leaves registering the
	// hashes to its user: these are the two parseDigest lets through.
	_ "crypto/sha256"
	_ "crypto/sha512"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	digest "github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// store is where the files of an image live: a directory, or a tarball read
// in place.
type store interface {
	// open returns the named file (slash-separated, relative) and its size.
	open(name string) (io.ReadCloser, int64, error)
	exists(name string) bool
	close() error
}

// openStore opens an image layout or docker-save directory, or a tarball
// holding either.
func openStore(p string) (store, error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("image %q: %w", p, err)
	}
	if st.IsDir() {
		return dirStore(p), nil
	}
	return openTarStore(p)
}

type dirStore string

func (d dirStore) path(name string) (string, error) {
	// Names from a docker-save manifest.json are data, not trusted paths.
	if !filepath.IsLocal(name) {
		return "", fmt.Errorf("image %q: file name %q leaves the image directory", string(d), name)
	}
	return filepath.Join(string(d), filepath.FromSlash(name)), nil
}

func (d dirStore) open(name string) (io.ReadCloser, int64, error) {
	p, err := d.path(name)
	if err != nil {
		return nil, 0, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, 0, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, 0, fmt.Errorf("%s: not a regular file", p)
	}
	return f, st.Size(), nil
}

func (d dirStore) exists(name string) bool {
	p, err := d.path(name)
	if err != nil {
		return false
	}
	_, err = os.Stat(p)
	return err == nil
}

func (d dirStore) close() error { return nil }

// tarStore reads the members of an uncompressed tarball where they lie, so
// a docker-save archive of a large image is never copied.
type tarStore struct {
	f       *os.File
	members map[string]tarMember
}

type tarMember struct{ off, size int64 }

func openTarStore(p string) (*tarStore, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("image %q: %w", p, err)
	}
	ts := &tarStore{f: f, members: map[string]tarMember{}}
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("image %q: not a directory nor a readable tar archive: %w", p, err)
		}
		if hdr.Typeflag != tar.TypeReg {
			continue
		}
		// archive/tar reads headers in whole blocks and seeks over
		// content it is not asked for, so after Next the file offset is
		// where this member's data starts.
		off, err := f.Seek(0, io.SeekCurrent)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("image %q: %w", p, err)
		}
		ts.members[path.Clean(strings.TrimPrefix(hdr.Name, "./"))] = tarMember{off: off, size: hdr.Size}
	}
	return ts, nil
}

func (t *tarStore) open(name string) (io.ReadCloser, int64, error) {
	m, ok := t.members[path.Clean(name)]
	if !ok {
		return nil, 0, fmt.Errorf("%s: %w in archive %s", name, fs.ErrNotExist, t.f.Name())
	}
	return io.NopCloser(io.NewSectionReader(t.f, m.off, m.size)), m.size, nil
}

func (t *tarStore) exists(name string) bool {
	_, ok := t.members[path.Clean(name)]
	return ok
}

func (t *tarStore) close() error { return t.f.Close() }

// parseDigest validates s as a content address berth can check: go-digest's
// rules (lowercase hex of the algorithm's length), restricted to the
// algorithms image-spec registers. go-digest alone would also take sha384.
func parseDigest(s string) (digest.Digest, error) {
	name, _, ok := strings.Cut(s, ":")
	alg := digest.Algorithm(name)
	if !ok || (alg != digest.SHA256 && alg != digest.SHA512) {
		return "", fmt.Errorf("digest %q: want sha256:<hex> or sha512:<hex>", s)
	}
	d := digest.Digest(s)
	if err := d.Validate(); err != nil {
		return "", fmt.Errorf("digest %q: want %d lowercase hex digits: %w", s, 2*alg.Size(), err)
	}
	return d, nil
}

// blobPath is where an image layout keeps the blob d (image-layout.md).
func blobPath(d digest.Digest) string {
	return v1.ImageBlobsDir + "/" + d.Algorithm().String() + "/" + d.Encoded()
}

// verifier passes a blob's bytes through and, at its end, turns EOF into
// an error unless size and digest are what the descriptor promised.
type verifier struct {
	r    io.Reader
	h    hash.Hash
	n    int64
	want digest.Digest
	size int64  // -1 when no descriptor tells
	what string // "blob sha256:… (layer 2)"
	done bool
}

// newVerifier hashes with want's algorithm, which must have been validated
// (parseDigest): go-digest panics on one it cannot compute.
func newVerifier(r io.Reader, want digest.Digest, size int64, what string) *verifier {
	return &verifier{r: r, h: want.Algorithm().Hash(), want: want, size: size, what: what}
}

func (v *verifier) Read(p []byte) (int, error) {
	n, err := v.r.Read(p)
	v.h.Write(p[:n])
	v.n += int64(n)
	if v.size >= 0 && v.n > v.size {
		return n, fmt.Errorf("%s: size mismatch: more than the descriptor's %d bytes", v.what, v.size)
	}
	if err == io.EOF {
		if verr := v.check(); verr != nil {
			return n, verr
		}
		v.done = true
	}
	return n, err
}

func (v *verifier) check() error {
	if v.size >= 0 && v.n != v.size {
		return fmt.Errorf("%s: size mismatch: descriptor says %d bytes, blob has %d", v.what, v.size, v.n)
	}
	if got := digest.NewDigest(v.want.Algorithm(), v.h); got != v.want {
		return fmt.Errorf("%s: digest mismatch: content is %s", v.what, got)
	}
	return nil
}

// finish reads what is left of the blob and verifies it, so a layer whose
// tar stream ends early is still checked in full.
func (v *verifier) finish() error {
	if v.done {
		return nil
	}
	_, err := io.Copy(io.Discard, v)
	return err
}

// maxJSON bounds the documents (index, manifest, config) read into memory.
const maxJSON = 32 << 20

// readBlob reads and verifies a whole (small) blob named by a descriptor.
func readBlob(s store, d v1.Descriptor, what string) ([]byte, error) {
	dg, err := parseDigest(string(d.Digest))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	what = fmt.Sprintf("blob %s (%s)", dg, what)
	if d.Size < 0 || d.Size > maxJSON {
		return nil, fmt.Errorf("%s: descriptor size %d out of range (0..%d)", what, d.Size, maxJSON)
	}
	rc, size, err := s.open(blobPath(dg))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rc.Close()
	if size != d.Size {
		return nil, fmt.Errorf("%s: size mismatch: descriptor says %d bytes, blob has %d", what, d.Size, size)
	}
	data, err := io.ReadAll(newVerifier(rc, dg, d.Size, what))
	if err != nil {
		return nil, err
	}
	return data, nil
}

// readFile reads a small file of the store that has no descriptor
// (index.json, oci-layout, manifest.json).
func readFile(s store, name string) ([]byte, error) {
	rc, size, err := s.open(name)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	if size > maxJSON {
		return nil, fmt.Errorf("%s: %d bytes, more than %d", name, size, maxJSON)
	}
	return io.ReadAll(rc)
}
