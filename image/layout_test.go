package image

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	digest "github.com/opencontainers/go-digest"
	imagespecs "github.com/opencontainers/image-spec/specs-go"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// These helpers write real OCI image layouts for the tests.

var epoch = time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)

type entry struct {
	hdr  tar.Header
	body string
}

func dirE(name string, mode int64) entry {
	return entry{hdr: tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: mode, ModTime: epoch}}
}

func fileE(name, body string, mode int64) entry {
	return entry{hdr: tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(body)), ModTime: epoch}, body: body}
}

func ownedE(e entry, uid, gid int) entry {
	e.hdr.Uid, e.hdr.Gid = uid, gid
	return e
}

func symlinkE(name, target string) entry {
	return entry{hdr: tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777, ModTime: epoch}}
}

func hardlinkE(name, target string) entry {
	return entry{hdr: tar.Header{Typeflag: tar.TypeLink, Name: name, Linkname: target, ModTime: epoch}}
}

func whiteoutE(name string) entry { return fileE(name, "", 0o644) }

func charE(name string, major, minor int64) entry {
	return entry{hdr: tar.Header{Typeflag: tar.TypeChar, Name: name, Mode: 0o666, Devmajor: major, Devminor: minor, ModTime: epoch}}
}

func fifoE(name string) entry {
	return entry{hdr: tar.Header{Typeflag: tar.TypeFifo, Name: name, Mode: 0o600, ModTime: epoch}}
}

func xattrE(e entry, name, value string) entry {
	if e.hdr.PAXRecords == nil {
		e.hdr.PAXRecords = map[string]string{}
	}
	e.hdr.PAXRecords["SCHILY.xattr."+name] = value
	e.hdr.Format = tar.FormatPAX
	return e
}

func tarOf(t testing.TB, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := e.hdr
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatalf("tar header %q: %v", h.Name, err)
		}
		if _, err := tw.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func compress(t testing.TB, comp string, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	switch comp {
	case "gzip":
		zw := gzip.NewWriter(&buf)
		zw.Write(data)
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
	case "zstd":
		zw, err := zstd.NewWriter(&buf)
		if err != nil {
			t.Fatal(err)
		}
		zw.Write(data)
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
	default:
		return data
	}
	return buf.Bytes()
}

func sha(data []byte) digest.Digest { return digest.FromBytes(data) }

var schema2 = imagespecs.Versioned{SchemaVersion: 2}

// layoutB builds an OCI image layout in dir.
type layoutB struct {
	t   testing.TB
	dir string
}

func newLayout(t testing.TB) *layoutB {
	t.Helper()
	dir := t.TempDir()
	b := &layoutB{t: t, dir: dir}
	b.write("oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`))
	return b
}

func (b *layoutB) write(name string, data []byte) {
	b.t.Helper()
	p := filepath.Join(b.dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

func (b *layoutB) blob(mediaType string, data []byte) v1.Descriptor {
	b.t.Helper()
	d := v1.Descriptor{MediaType: mediaType, Digest: sha(data), Size: int64(len(data))}
	b.write(blobPath(d.Digest), data)
	return d
}

func (b *layoutB) jsonBlob(mediaType string, v any) v1.Descriptor {
	b.t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.blob(mediaType, data)
}

var layerTypes = map[string]string{
	"none": v1.MediaTypeImageLayer,
	"gzip": v1.MediaTypeImageLayerGzip,
	"zstd": v1.MediaTypeImageLayerZstd,
}

type testLayer struct {
	comp    string
	entries []entry
}

func lay(comp string, entries ...entry) testLayer { return testLayer{comp: comp, entries: entries} }

// image writes the layers, a config and a manifest, and returns the
// manifest's descriptor (for the index) and the layer descriptors.
func (b *layoutB) image(cfg v1.Image, layers ...testLayer) (v1.Descriptor, []v1.Descriptor) {
	b.t.Helper()
	var descs []v1.Descriptor
	cfg.RootFS.Type = "layers"
	cfg.RootFS.DiffIDs = nil
	for _, l := range layers {
		plain := tarOf(b.t, l.entries...)
		descs = append(descs, b.blob(layerTypes[l.comp], compress(b.t, l.comp, plain)))
		cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, sha(plain))
	}
	if cfg.OS == "" {
		cfg.OS, cfg.Architecture = runtime.GOOS, runtime.GOARCH
	}
	c := b.jsonBlob(v1.MediaTypeImageConfig, cfg)
	m := b.jsonBlob(v1.MediaTypeImageManifest, v1.Manifest{Versioned: schema2, MediaType: v1.MediaTypeImageManifest, Config: c, Layers: descs})
	return m, descs
}

func (b *layoutB) index(ds ...v1.Descriptor) {
	b.t.Helper()
	data, err := json.Marshal(v1.Index{Versioned: schema2, MediaType: v1.MediaTypeImageIndex, Manifests: ds})
	if err != nil {
		b.t.Fatal(err)
	}
	b.write("index.json", data)
}

func tagged(d v1.Descriptor, tag string) v1.Descriptor {
	d.Annotations = map[string]string{v1.AnnotationRefName: tag}
	return d
}

func onPlatform(d v1.Descriptor, os, arch string) v1.Descriptor {
	d.Platform = &v1.Platform{OS: os, Architecture: arch}
	return d
}

func hostConfig() v1.Image {
	var c v1.Image
	c.OS, c.Architecture = runtime.GOOS, runtime.GOARCH
	c.Config.Cmd = []string{"sh"}
	return c
}
