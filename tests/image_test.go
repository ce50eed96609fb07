package tests

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// imageLayout writes an OCI image layout by hand (no image tooling): a
// busybox layer, a second layer with a whiteout, a config and a manifest
// tagged "v1".
type imageLayout struct {
	t   *testing.T
	dir string
}

func (l *imageLayout) blob(mediaType string, data []byte) map[string]any {
	l.t.Helper()
	sum := sha256.Sum256(data)
	h := hex.EncodeToString(sum[:])
	p := filepath.Join(l.dir, "blobs", "sha256", h)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		l.t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		l.t.Fatal(err)
	}
	return map[string]any{"mediaType": mediaType, "digest": "sha256:" + h, "size": len(data)}
}

// finish writes the manifest of cfg and layers, an index naming it tag,
// and the oci-layout file.
func (l *imageLayout) finish(t *testing.T, cfg map[string]any, layers []map[string]any, tag string) {
	t.Helper()
	man := l.jsonBlob("application/vnd.oci.image.manifest.v1+json", map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.manifest.v1+json",
		"config":        cfg,
		"layers":        layers,
	})
	man["annotations"] = map[string]string{"org.opencontainers.image.ref.name": tag}
	idx, _ := json.Marshal(map[string]any{"schemaVersion": 2, "manifests": []any{man}})
	writeFile(t, filepath.Join(l.dir, "index.json"), string(idx))
	writeFile(t, filepath.Join(l.dir, "oci-layout"), `{"imageLayoutVersion":"1.0.0"}`)
}

func (l *imageLayout) jsonBlob(mediaType string, v any) map[string]any {
	data, err := json.Marshal(v)
	if err != nil {
		l.t.Fatal(err)
	}
	return l.blob(mediaType, data)
}

type tarBuilder struct {
	t  *testing.T
	b  bytes.Buffer
	tw *tar.Writer
}

func newTar(t *testing.T) *tarBuilder {
	tb := &tarBuilder{t: t}
	tb.tw = tar.NewWriter(&tb.b)
	return tb
}

func (tb *tarBuilder) add(h tar.Header, body []byte) {
	tb.t.Helper()
	h.Size = int64(len(body))
	if h.Mode == 0 {
		h.Mode = 0o644
	}
	if err := tb.tw.WriteHeader(&h); err != nil {
		tb.t.Fatal(err)
	}
	if _, err := tb.tw.Write(body); err != nil {
		tb.t.Fatal(err)
	}
}

func (tb *tarBuilder) bytes() []byte {
	tb.t.Helper()
	if err := tb.tw.Close(); err != nil {
		tb.t.Fatal(err)
	}
	return tb.b.Bytes()
}

func sha256hex(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// busyboxImage builds the layout and returns its directory and the
// layer descriptors.
func busyboxImage(t *testing.T) (string, []map[string]any) {
	t.Helper()
	applets := busyboxApplets(t)
	l := &imageLayout{t: t, dir: testDir(t, "image")}

	bb, err := os.ReadFile(busyboxPath)
	if err != nil {
		t.Fatal(err)
	}
	base := newTar(t)
	for _, d := range []string{"bin/", "etc/", "proc/", "sys/", "dev/", "root/"} {
		base.add(tar.Header{Typeflag: tar.TypeDir, Name: d, Mode: 0o755}, nil)
	}
	base.add(tar.Header{Typeflag: tar.TypeDir, Name: "tmp/", Mode: 0o1777}, nil)
	base.add(tar.Header{Typeflag: tar.TypeDir, Name: "home/app/", Mode: 0o750, Uid: 1000, Gid: 1000}, nil)
	base.add(tar.Header{Typeflag: tar.TypeReg, Name: "bin/busybox", Mode: 0o755}, bb)
	for _, a := range applets {
		if a != "busybox" {
			base.add(tar.Header{Typeflag: tar.TypeSymlink, Name: "bin/" + a, Linkname: "busybox", Mode: 0o777}, nil)
		}
	}
	base.add(tar.Header{Typeflag: tar.TypeReg, Name: "etc/passwd"},
		[]byte("root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n"))
	base.add(tar.Header{Typeflag: tar.TypeReg, Name: "etc/group"},
		[]byte("root:x:0:\nstaff:x:50:app\napp:x:1000:\n"))
	base.add(tar.Header{Typeflag: tar.TypeReg, Name: "etc/removed"}, []byte("lower"))
	baseTar := base.bytes()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(baseTar)
	zw.Close()

	top := newTar(t)
	top.add(tar.Header{Typeflag: tar.TypeReg, Name: "etc/motd"}, []byte("from layer two\n"))
	top.add(tar.Header{Typeflag: tar.TypeReg, Name: "etc/.wh.removed"}, nil)
	top.add(tar.Header{Typeflag: tar.TypeReg, Name: "home/app/mine", Uid: 1000, Gid: 1000}, []byte("x"))
	topTar := top.bytes()
	var zs bytes.Buffer
	enc, err := zstd.NewWriter(&zs)
	if err != nil {
		t.Fatal(err)
	}
	enc.Write(topTar)
	enc.Close()

	layers := []map[string]any{
		l.blob("application/vnd.oci.image.layer.v1.tar+gzip", gz.Bytes()),
		l.blob("application/vnd.oci.image.layer.v1.tar+zstd", zs.Bytes()),
	}
	cfg := l.jsonBlob("application/vnd.oci.image.config.v1+json", map[string]any{
		"architecture": goruntime.GOARCH,
		"os":           goruntime.GOOS,
		"config": map[string]any{
			"User":         "app",
			"Env":          []string{"PATH=/bin", "GREETING=hello from the image"},
			"Entrypoint":   []string{"sh", "-c"},
			"Cmd":          []string{`echo "$GREETING"; id -u; id -G; pwd; cat /etc/motd; test -e /etc/removed && echo removed-present || echo removed-gone`},
			"WorkingDir":   "/home/app",
			"Labels":       map[string]string{"org.opencontainers.image.title": "busybox-test"},
			"ExposedPorts": map[string]any{"8080/tcp": map[string]any{}},
		},
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{sha256hex(baseTar), sha256hex(topTar)}},
	})
	l.finish(t, cfg, layers, "v1")
	return l.dir, layers
}

func readSpec(t *testing.T, bundle string) specs.Spec {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(bundle, "config.json"))
	if err != nil {
		t.Fatalf("bundle wrote no config.json: %v", err)
	}
	var s specs.Spec
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatalf("config.json: %v", err)
	}
	return s
}

func TestBundleFromImage(t *testing.T) {
	layout, layers := busyboxImage(t)

	t.Run("run", func(t *testing.T) {
		r := newRuntime(t)
		bundle := testDir(t, "img-bundle")
		r.mustRun("bundle", "--image", layout+":v1", bundle)
		s := readSpec(t, bundle)
		if s.Process.Terminal || s.Process.User.UID != 1000 || s.Annotations["org.opencontainers.image.title"] != "busybox-test" ||
			s.Annotations["org.opencontainers.image.exposedPorts"] != "8080/tcp" {
			t.Errorf("spec: terminal %v user %+v annotations %v", s.Process.Terminal, s.Process.User, s.Annotations)
		}
		out := lines(r.mustRun("run", "--bundle", bundle, r.newID()).stdout)
		want := []string{"hello from the image", "1000", "1000 50", "/home/app", "from layer two", "removed-gone"}
		if strings.Join(out, "|") != strings.Join(want, "|") {
			t.Fatalf("container printed %q, want %q", out, want)
		}
	})

	t.Run("run --image", func(t *testing.T) {
		r := newRuntime(t)
		before := imageBundles()
		out := lines(r.mustRun("run", "--image", layout+":v1", r.newID()).stdout)
		if len(out) == 0 || out[0] != "hello from the image" {
			t.Fatalf("run --image printed %q", out)
		}
		assertNoNewImageBundles(t, "run --image", before)
	})

	t.Run("overrides", func(t *testing.T) {
		r := newRuntime(t)
		bundle := testDir(t, "img-bundle")
		r.mustRun("bundle", "--image", layout, "--env", "GREETING=a,b", "--env", "EXTRA=1", bundle,
			`echo "$GREETING $EXTRA"; id -u`)
		out := lines(r.mustRun("run", "--bundle", bundle, r.newID()).stdout)
		if strings.Join(out, "|") != "a,b 1|1000" {
			t.Errorf("with --env and a command: %q, want a,b 1 and 1000", out)
		}
		bundle2 := testDir(t, "img-bundle")
		r.mustRun("bundle", "--image", layout+"@"+manifestDigest(t, layout), "--args", `["sh","-c","echo args-flag"]`, bundle2)
		if out := lines(r.mustRun("run", "--bundle", bundle2, r.newID()).stdout); strings.Join(out, "|") != "args-flag" {
			t.Errorf("with --args: %q", out)
		}
	})

	t.Run("uid map", func(t *testing.T) {
		r := newRuntime(t)
		bundle := testDir(t, "img-bundle")
		r.mustRun("bundle", "--image", layout, "--uid-map", "0:300000:65536", "--gid-map", "0:300000:65536", bundle)
		st, err := os.Stat(filepath.Join(bundle, "rootfs", "home", "app", "mine"))
		if err != nil {
			t.Fatal(err)
		}
		if sys := st.Sys().(*syscall.Stat_t); sys.Uid != 301000 || sys.Gid != 301000 {
			t.Errorf("home/app/mine owned by %d:%d on the host, want 301000:301000", sys.Uid, sys.Gid)
		}
		out := lines(r.mustRun("run", "--bundle", bundle, r.newID()).stdout)
		if len(out) < 2 || out[1] != "1000" {
			t.Errorf("in the user namespace: %q, want uid 1000 seen inside", out)
		}
	})

	t.Run("refusals", func(t *testing.T) {
		r := newRuntime(t)
		bundle := testDir(t, "img-bundle")
		writeFile(t, filepath.Join(bundle, "config.json"), "{}")
		assertErrorLine(t, r.run("bundle", "--image", layout, bundle), "config.json already exists")

		assertErrorLine(t, r.run("bundle", "--image", layout+":nope", testDir(t, "img-bundle")), `tag "nope"`)

		// A layer changed after the manifest was written.
		blob := filepath.Join(layout, "blobs", "sha256", strings.TrimPrefix(layers[1]["digest"].(string), "sha256:"))
		data, err := os.ReadFile(blob)
		if err != nil {
			t.Fatal(err)
		}
		bad := append([]byte(nil), data...)
		bad[len(bad)/2] ^= 0x55
		if err := os.WriteFile(blob, bad, 0o644); err != nil {
			t.Fatal(err)
		}
		defer os.WriteFile(blob, data, 0o644)
		b3 := testDir(t, "img-bundle")
		res := r.run("bundle", "--image", layout, b3)
		assertErrorLine(t, res, layers[1]["digest"].(string)+" (layer 2 of 2): digest mismatch")
		if _, err := os.Stat(filepath.Join(b3, "rootfs")); !os.IsNotExist(err) {
			t.Errorf("a failed bundle left its rootfs (stat: %v)", err)
		}
	})
}

// manifestDigest reads the one manifest digest of a layout's index.json.
func manifestDigest(t *testing.T, layout string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(layout, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	var idx struct {
		Manifests []struct {
			Digest string `json:"digest"`
		} `json:"manifests"`
	}
	if err := json.Unmarshal(data, &idx); err != nil || len(idx.Manifests) != 1 {
		t.Fatalf("index.json: %v %s", err, data)
	}
	return idx.Manifests[0].Digest
}

// needImageTool finds an image tool. Off CI a missing one skips the test;
// with CI set it fails it, as .ci/run installs the tool.
func needImageTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "" {
		t.Skipf("%s is not installed (apt-get install %s); with CI set this fails instead", name, name)
	}
	t.Fatalf("%s not found (CI=%s): apt-get install %s (.ci/run installs it)", name, os.Getenv("CI"), name)
	return ""
}

// umociImage builds an image with umoci from a local busybox tree, no
// registry: a base layer, a layer that whites out /etc/removed and one
// that makes /opq opaque, and a config with a user and a command.
func umociImage(t *testing.T) string {
	t.Helper()
	umoci := needImageTool(t, "umoci")
	work := testDir(t, "umoci")
	tree := filepath.Join(work, "tree")
	makeRootfs(t, tree)
	writeFile(t, filepath.Join(tree, "etc", "removed"), "lower\n")
	if err := os.MkdirAll(filepath.Join(tree, "opq"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(tree, "opq", "a"), "a\n")
	writeFile(t, filepath.Join(tree, "opq", "b"), "b\n")
	if err := os.Chown(filepath.Join(tree, "home", "user"), 1000, 1000); err != nil {
		t.Fatal(err)
	}
	opq := filepath.Join(work, "opq")
	if err := os.Mkdir(opq, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(opq, "c"), "c\n")

	layout := filepath.Join(work, "layout")
	img := layout + ":t"
	for _, args := range [][]string{
		{"init", "--layout", layout},
		{"new", "--image", img},
		{"insert", "--image", img, tree, "/"},
		{"insert", "--image", img, "--whiteout", "/etc/removed"},
		{"insert", "--image", img, "--opaque", opq, "/opq"},
		{"config", "--image", img, "--config.user", "user", "--config.workingdir", "/home/user",
			"--config.env", "PATH=/bin", "--config.entrypoint", "sh", "--config.entrypoint", "-c",
			"--config.cmd", `id -u; pwd; test -e /etc/removed && echo removed-present || echo removed-gone; ls /opq`},
	} {
		sh(t, time.Minute, umoci, args...)
	}
	return layout
}

var umociWant = []string{"1000", "/home/user", "removed-gone", "c"}

// TestImageUmoci runs an image that a real image tool made.
func TestImageUmoci(t *testing.T) {
	layout := umociImage(t)

	t.Run("run --image", func(t *testing.T) {
		r := newRuntime(t)
		out := lines(r.mustRun("run", "--image", layout+":t", r.newID()).stdout)
		if strings.Join(out, "|") != strings.Join(umociWant, "|") {
			t.Fatalf("container printed %q, want %q", out, umociWant)
		}
	})

	t.Run("same tree as umoci unpack", func(t *testing.T) {
		r := newRuntime(t)
		ours := testDir(t, "img-bundle")
		r.mustRun("bundle", "--image", layout+":t", ours)
		theirs := filepath.Join(testDir(t, "umoci-unpack"), "b")
		sh(t, time.Minute, "umoci", "unpack", "--image", layout+":t", theirs)
		a, b := treeOf(t, filepath.Join(ours, "rootfs")), treeOf(t, filepath.Join(theirs, "rootfs"))
		for p, want := range b {
			if got, ok := a[p]; !ok {
				t.Errorf("%s: umoci has %s, berth nothing", p, want)
			} else if got != want {
				t.Errorf("%s: berth %s, umoci %s", p, got, want)
			}
		}
		for p, got := range a {
			if _, ok := b[p]; !ok {
				t.Errorf("%s: berth has %s, umoci nothing", p, got)
			}
		}
	})

	t.Run("run --image --overlay", func(t *testing.T) {
		r := newRuntime(t)
		store := testDir(t, "layers")
		out := lines(r.mustRun("run", "--image", layout+":t", "--overlay", "--layers", store, r.newID()).stdout)
		if strings.Join(out, "|") != strings.Join(umociWant, "|") {
			t.Fatalf("container printed %q, want %q", out, umociWant)
		}
	})

	t.Run("skopeo docker-archive", func(t *testing.T) {
		skopeo := needImageTool(t, "skopeo")
		r := newRuntime(t)
		archive := filepath.Join(testDir(t, "skopeo"), "img.tar")
		sh(t, time.Minute, skopeo, "--insecure-policy", "copy", "oci:"+layout+":t", "docker-archive:"+archive+":berth/test:1")
		out := lines(r.mustRun("run", "--image", archive+":berth/test:1", r.newID()).stdout)
		if strings.Join(out, "|") != strings.Join(umociWant, "|") {
			t.Fatalf("container printed %q, want %q", out, umociWant)
		}
	})
}

// treeOf describes every entry below root: type, mode, owner, and the
// content of a file or the target of a symlink, by relative path.
func treeOf(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		st := fi.Sys().(*syscall.Stat_t)
		d := fmt.Sprintf("%v %d:%d", fi.Mode(), st.Uid, st.Gid)
		switch {
		case fi.Mode()&os.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			d += " -> " + target
		case fi.Mode().IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			d += " " + sha256hex(data)
			if !fi.ModTime().IsZero() {
				d += " mtime " + fi.ModTime().UTC().Format(time.RFC3339Nano)
			}
		}
		out[rel] = d
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// imageBundles lists the temporary bundles of run --image.
func imageBundles() []string {
	b, _ := filepath.Glob(filepath.Join(os.TempDir(), "berth-image-*"))
	return b
}

// assertNoNewImageBundles fails when more temporary bundles exist than before.
func assertNoNewImageBundles(t *testing.T, what string, before []string) {
	t.Helper()
	if after := imageBundles(); len(after) > len(before) {
		t.Errorf("%s left its temporary bundle: %v", what, after)
	}
}
