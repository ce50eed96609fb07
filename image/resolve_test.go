package image

import (
	"archive/tar"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	digest "github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestParseRef(t *testing.T) {
	dir := t.TempDir()
	layout := filepath.Join(dir, "img")
	colon := filepath.Join(dir, "odd:name")
	for _, d := range []string{layout, colon} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	dg := digest.Digest("sha256:" + strings.Repeat("ab", 32))
	cases := []struct {
		in      string
		want    reference
		wantErr string
	}{
		{in: layout, want: reference{path: layout}},
		{in: layout + ":v1", want: reference{path: layout, tag: "v1"}},
		{in: layout + ":busybox:1.36", want: reference{path: layout, tag: "busybox:1.36"}},
		{in: layout + "@" + dg.String(), want: reference{path: layout, digest: dg}},
		{in: colon, want: reference{path: colon}},
		{in: colon + ":v2", want: reference{path: colon, tag: "v2"}},
		{in: layout + "@sha256:short", wantErr: "64 lowercase hex"},
		{in: layout + ":", wantErr: "empty tag"},
		{in: filepath.Join(dir, "missing") + ":v1", wantErr: "no such directory or file"},
		{in: "", wantErr: "no image given"},
	}
	for _, c := range cases {
		got, err := parseRef(c.in)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("parseRef(%q) = %+v, %v; want error with %q", c.in, got, err, c.wantErr)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("parseRef(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
}

func TestParseIDMap(t *testing.T) {
	if m, err := ParseIDMap("0:100000:65536"); err != nil || m != (IDMap{0, 100000, 65536}) {
		t.Errorf("ParseIDMap = %+v, %v", m, err)
	}
	for _, bad := range []string{"", "0:1", "0:1:0", "a:1:1", "0:1:1:1", "-1:0:1", "4294967295:0:2"} {
		if _, err := ParseIDMap(bad); err == nil {
			t.Errorf("ParseIDMap(%q) accepted", bad)
		}
	}
}

// unpackArgs unpacks ref and returns the spec's process.args.
func unpackArgs(t *testing.T, ref string) (string, error) {
	t.Helper()
	sp, err := Unpack(ref, t.TempDir(), Options{})
	if err != nil {
		return "", err
	}
	return strings.Join(sp.Process.Args, " "), nil
}

func cmdConfig(cmd ...string) v1.Image {
	c := hostConfig()
	c.Config.Cmd = cmd
	return c
}

func TestSelectManifest(t *testing.T) {
	b := newLayout(t)
	m1, _ := b.image(cmdConfig("one"), lay("none", fileE("f", "1", 0o644)))
	m2, _ := b.image(cmdConfig("two"), lay("none", fileE("f", "2", 0o644)))

	// A nested index with the host's platform among others.
	other := hostConfig()
	other.Architecture = "s390x"
	mOther, _ := b.image(other, lay("none", fileE("f", "x", 0o644)))
	mHost, _ := b.image(cmdConfig("nested-host"), lay("gzip", fileE("f", "h", 0o644)))
	nested := b.jsonBlob(v1.MediaTypeImageIndex, v1.Index{Versioned: schema2, MediaType: v1.MediaTypeImageIndex, Manifests: []v1.Descriptor{
		onPlatform(mOther, "linux", "s390x"),
		onPlatform(mHost, runtime.GOOS, runtime.GOARCH),
	}})
	// An index with only a foreign platform.
	foreign := b.jsonBlob(v1.MediaTypeImageIndex, v1.Index{Versioned: schema2, Manifests: []v1.Descriptor{onPlatform(mOther, "linux", "s390x")}})
	b.index(tagged(m1, "v1"), tagged(m2, "v2"), tagged(nested, "multi"), tagged(foreign, "s390x"), tagged(mOther, "bare-foreign"))

	cases := []struct{ ref, want, wantErr string }{
		{ref: b.dir + ":v1", want: "one"},
		{ref: b.dir + ":v2", want: "two"},
		{ref: b.dir + "@" + m2.Digest.String(), want: "two"},
		{ref: b.dir + ":multi", want: "nested-host"},
		{ref: b.dir + "@" + mHost.Digest.String(), want: "nested-host"}, // found inside the nested index
		{ref: b.dir + ":nope", wantErr: `no manifest in index.json has the tag "nope" (tags: v1, v2, multi, s390x, bare-foreign)`},
		{ref: b.dir, wantErr: "name one as"},
		{ref: b.dir + ":s390x", wantErr: "no manifest for " + runtime.GOOS + "/" + runtime.GOARCH + " (it has linux/s390x)"},
		{ref: b.dir + ":bare-foreign", wantErr: "image is for linux/s390x"},
		{ref: b.dir + "@sha256:" + strings.Repeat("0", 64), wantErr: "no manifest or index with digest"},
	}
	for _, c := range cases {
		got, err := unpackArgs(t, c.ref)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%s: %q, %v; want error with %q", c.ref, got, err, c.wantErr)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%s: args %q, %v; want %q", c.ref, got, err, c.want)
		}
	}

	// One manifest needs no tag.
	single := newLayout(t)
	m, _ := single.image(cmdConfig("only"), lay("zstd", fileE("f", "1", 0o644)))
	single.index(m)
	if got, err := unpackArgs(t, single.dir); err != nil || got != "only" {
		t.Errorf("single manifest: %q, %v", got, err)
	}
}

// tarDir packs a directory into a tarball (regular files only).
func tarDir(t *testing.T, dir, out string) {
	t.Helper()
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	err = filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || !info.Mode().IsRegular() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Name: rel, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err = tw.Write(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestLayoutTarball(t *testing.T) {
	b := newLayout(t)
	m, _ := b.image(cmdConfig("from-tar"), lay("gzip", fileE("etc/motd", "hi", 0o644)))
	b.index(tagged(m, "latest"))
	archive := filepath.Join(t.TempDir(), "image.tar")
	tarDir(t, b.dir, archive)
	bundle := t.TempDir()
	sp, err := Unpack(archive+":latest", bundle, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := readString(t, filepath.Join(bundle, "rootfs/etc/motd")); got != "hi" || sp.Process.Args[0] != "from-tar" {
		t.Errorf("motd %q args %q", got, sp.Process.Args)
	}
}

// TestDockerSave reads the legacy `docker save` format: manifest.json, a
// config named by its digest and uncompressed layer tars.
func TestDockerSave(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	l1 := tarOf(t, fileE("etc/motd", "docker", 0o644), fileE("etc/old", "x", 0o644))
	l2 := compress(t, "gzip", tarOf(t, whiteoutE("etc/.wh.old")))
	cfg := cmdConfig("from-docker")
	cfg.RootFS.DiffIDs = []digest.Digest{sha(l1), sha(tarOf(t, whiteoutE("etc/.wh.old")))}
	cfgData, _ := json.Marshal(cfg)
	cfgName := sha(cfgData).Encoded() + ".json"
	write(cfgName, cfgData)
	write("aaa/layer.tar", l1)
	write("blobs/sha256/"+sha(l2).Encoded(), l2)
	man, _ := json.Marshal([]dockerSaveEntry{{Config: cfgName, RepoTags: []string{"example/app:1.0"}, Layers: []string{"aaa/layer.tar", "blobs/sha256/" + sha(l2).Encoded()}}})
	write("manifest.json", man)
	archive := filepath.Join(t.TempDir(), "saved.tar")
	tarDir(t, dir, archive)

	for _, ref := range []string{archive, archive + ":example/app:1.0", archive + ":1.0", archive + "@" + sha(cfgData).String()} {
		bundle := t.TempDir()
		sp, err := Unpack(ref, bundle, Options{})
		if err != nil {
			t.Fatalf("%s: %v", ref, err)
		}
		if got := readString(t, filepath.Join(bundle, "rootfs/etc/motd")); got != "docker" || sp.Process.Args[0] != "from-docker" {
			t.Errorf("%s: motd %q args %q", ref, got, sp.Process.Args)
		}
		gone(t, filepath.Join(bundle, "rootfs/etc/old"))
	}
	if _, err := Unpack(archive+":2.0", t.TempDir(), Options{}); err == nil || !strings.Contains(err.Error(), "example/app:1.0") {
		t.Errorf("unknown tag: %v, want the available repo tags listed", err)
	}

	// A tampered legacy layer has no digest of its own, but diff_ids
	// still catch it.
	bad := append([]byte(nil), l1...)
	bad[600] ^= 1
	write("aaa/layer.tar", bad)
	if _, err := Unpack(dir, t.TempDir(), Options{}); err == nil || !strings.Contains(err.Error(), "aaa/layer.tar (layer 1 of 2)") || !strings.Contains(err.Error(), "digest mismatch") {
		t.Errorf("tampered docker-save layer: %v", err)
	}
}

func TestConvert(t *testing.T) {
	requireRoot(t)
	b := newLayout(t)
	cfg := hostConfig()
	created := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	cfg.Created = &created
	cfg.Author = "someone"
	cfg.Config = v1.ImageConfig{
		User:         "app",
		Env:          []string{"PATH=/app/bin:/bin", "MODE=prod"},
		Entrypoint:   []string{"/entry"},
		Cmd:          []string{"serve", "--port", "80"},
		WorkingDir:   "srv/app",
		ExposedPorts: map[string]struct{}{"80/tcp": {}, "443/tcp": {}},
		Volumes:      map[string]struct{}{"/data": {}, "/cache": {}},
		Labels:       map[string]string{"org.opencontainers.image.title": "demo", "org.opencontainers.image.author": "label wins"},
		StopSignal:   "SIGQUIT",
	}
	m, _ := b.image(cfg, lay("gzip",
		fileE("etc/passwd", "root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/srv:/bin/sh\n", 0o644),
		fileE("etc/group", "root:x:0:\napp:x:1000:\nstaff:x:50:app,other\n", 0o644),
	))
	b.index(m)

	sp, err := Unpack(b.dir, t.TempDir(), Options{Env: []string{"MODE=dev", "EXTRA=1"}})
	if err != nil {
		t.Fatal(err)
	}
	p := sp.Process
	if got := strings.Join(p.Args, " "); got != "/entry serve --port 80" {
		t.Errorf("args %q, want Entrypoint+Cmd", got)
	}
	if got := strings.Join(p.Env, " "); got != "PATH=/app/bin:/bin MODE=dev EXTRA=1" {
		t.Errorf("env %q", got)
	}
	if p.Cwd != "/srv/app" || p.Terminal || sp.Root.Readonly {
		t.Errorf("cwd %q terminal %v readonly %v; want /srv/app, false, false", p.Cwd, p.Terminal, sp.Root.Readonly)
	}
	if p.User.UID != 1000 || p.User.GID != 1000 || len(p.User.AdditionalGids) != 1 || p.User.AdditionalGids[0] != 50 {
		t.Errorf("user %+v, want 1000:1000 with additional gid 50", p.User)
	}
	want := map[string]string{
		"org.opencontainers.image.os":           runtime.GOOS,
		"org.opencontainers.image.architecture": runtime.GOARCH,
		"org.opencontainers.image.created":      "2024-01-01T00:00:00Z",
		"org.opencontainers.image.author":       "label wins",
		"org.opencontainers.image.title":        "demo",
		"org.opencontainers.image.stopSignal":   "SIGQUIT",
		"org.opencontainers.image.exposedPorts": "443/tcp,80/tcp",
		"berth.image.volumes":                   "/cache,/data",
		"berth.image.manifest":                  m.Digest.String(),
	}
	for k, v := range want {
		if sp.Annotations[k] != v {
			t.Errorf("annotation %s = %q, want %q", k, sp.Annotations[k], v)
		}
	}

	sp, err = Unpack(b.dir, t.TempDir(), Options{Cmd: []string{"other"}})
	if err != nil || strings.Join(sp.Process.Args, " ") != "/entry other" {
		t.Errorf("Cmd override: %v, %v; want /entry other", sp.Process.Args, err)
	}
	sp, err = Unpack(b.dir, t.TempDir(), Options{Args: []string{"sh", "-c", "x"}})
	if err != nil || strings.Join(sp.Process.Args, " ") != "sh -c x" {
		t.Errorf("Args override: %v, %v; want sh -c x", sp.Process.Args, err)
	}
	if _, err := Unpack(b.dir, t.TempDir(), Options{Env: []string{"NOEQUALS"}}); err == nil {
		t.Error("an env entry without = was accepted")
	}
}

func TestTagMatches(t *testing.T) {
	for _, c := range []struct {
		repoTag, want string
		match         bool
	}{
		{"busybox:1", "busybox:1", true},
		{"busybox:latest", "busybox", true},
		{"busybox:1", "1", true},
		{"docker.io/library/busybox:1", "busybox:1", true},
		{"docker.io/berth/test:1", "berth/test:1", true},
		{"busybox:1", "docker.io/library/busybox:1", true},
		{"quay.io/berth/test:1", "berth/test:1", false},
		{"docker.io/berth/test:1", "berth/test:2", false},
	} {
		if got := tagMatches(c.repoTag, c.want); got != c.match {
			t.Errorf("tagMatches(%q, %q) = %v, want %v", c.repoTag, c.want, got, c.match)
		}
	}
}

// TestParseDigest holds go-digest's validation to image-spec's registered
// algorithms: sha384 is valid to go-digest (crypto/sha512 registers it)
// but not an algorithm an image may use.
func TestParseDigest(t *testing.T) {
	for _, c := range []struct{ in, wantErr string }{
		{"sha256:" + strings.Repeat("ab", 32), ""},
		{"sha512:" + strings.Repeat("ab", 64), ""},
		{"sha384:" + strings.Repeat("ab", 48), "want sha256:<hex> or sha512:<hex>"},
		{"md5:" + strings.Repeat("ab", 16), "want sha256:<hex> or sha512:<hex>"},
		{"sha256", "want sha256:<hex> or sha512:<hex>"},
		{"sha256:short", "want 64 lowercase hex digits"},
		{"sha256:" + strings.Repeat("AB", 32), "want 64 lowercase hex digits"},
		{"sha512:" + strings.Repeat("ab", 32), "want 128 lowercase hex digits"},
	} {
		d, err := parseDigest(c.in)
		switch {
		case c.wantErr == "" && (err != nil || d.String() != c.in):
			t.Errorf("parseDigest(%q) = %q, %v", c.in, d, err)
		case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
			t.Errorf("parseDigest(%q) = %q, %v; want an error with %q", c.in, d, err, c.wantErr)
		}
	}
	for name, want := range map[string]string{
		"blobs/sha256/" + strings.Repeat("ab", 32):   "sha256:" + strings.Repeat("ab", 32),
		"./" + strings.Repeat("cd", 32) + ".json":    "sha256:" + strings.Repeat("cd", 32),
		"blobs/sha384/" + strings.Repeat("ab", 48):   "",
		"blobs/sha256/x/" + strings.Repeat("ab", 32): "",
		"aaa/layer.tar": "",
	} {
		if got := nameDigest(name); string(got) != want {
			t.Errorf("nameDigest(%q) = %q, want %q", name, got, want)
		}
	}
}
