package image

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	digest "github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sys/unix"
)

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatalf("this test needs root (chown, mknod): run the suite as root")
	}
}

func lstat(t *testing.T, p string) unix.Stat_t {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		t.Fatalf("lstat %s: %v", p, err)
	}
	return st
}

func readString(t *testing.T, p string) string {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("read %s: %v", p, err)
	}
	return string(data)
}

func gone(t *testing.T, p string) {
	t.Helper()
	if _, err := os.Lstat(p); !os.IsNotExist(err) {
		t.Errorf("%s should not exist (lstat: %v)", p, err)
	}
}

// TestUnpackLayers applies three layers (gzip, zstd, plain) with every
// entry type and both kinds of whiteout, and checks the result on disk.
func TestUnpackLayers(t *testing.T) {
	requireRoot(t)
	b := newLayout(t)
	m, _ := b.image(hostConfig(),
		lay("gzip",
			dirE("etc/", 0o755),
			fileE("etc/hostname", "one\n", 0o644),
			dirE("bin/", 0o755),
			fileE("bin/suid", "#!/bin/sh\n", 0o4755),
			ownedE(fileE("home/user/owned", "mine", 0o600), 1000, 1001),
			xattrE(fileE("xattr", "x", 0o644), "user.berth", "hello"),
			symlinkE("bin/sh", "busybox"),
			fifoE("fifo"),
			charE("dev/null", 1, 3),
			dirE("opq/", 0o750),
			fileE("opq/old", "old", 0o644),
			fileE("opq/sub/deep", "deep", 0o644),
			fileE("wh/gone", "x", 0o644),
			fileE("wh/dir/x", "x", 0o644),
			fileE("wh/kept", "kept", 0o644),
			symlinkE("replace-me", "etc"),
			fileE("dir-to-file/x", "x", 0o644),
		),
		lay("zstd",
			whiteoutE("wh/.wh.gone"),
			whiteoutE("wh/.wh.dir"),
			dirE("opq/", 0o750),
			whiteoutE("opq/.wh..wh..opq"),
			fileE("opq/new", "new", 0o644),
			hardlinkE("hl", "bin/suid"),
			fileE("replace-me", "now a file", 0o644),
			fileE("dir-to-file", "file", 0o644),
			// A whiteout of something this very layer made does not apply.
			fileE("same/x", "x", 0o644),
			whiteoutE("same/.wh.x"),
		),
		lay("none",
			fileE("etc/hostname", "three\n", 0o640),
			// The opaque marker comes after a sibling of its own layer.
			fileE("wh/new", "n", 0o644),
			whiteoutE("wh/.wh..wh..opq"),
		),
	)
	b.index(m)
	bundle := t.TempDir()
	if _, err := Unpack(b.dir, bundle, Options{}); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(bundle, "rootfs")
	p := func(s string) string { return filepath.Join(root, s) }

	if got := readString(t, p("etc/hostname")); got != "three\n" {
		t.Errorf("etc/hostname = %q, want the top layer's", got)
	}
	if st := lstat(t, p("etc/hostname")); st.Mode&0o7777 != 0o640 {
		t.Errorf("etc/hostname mode %#o, want 0640", st.Mode&0o7777)
	}
	if st := lstat(t, p("bin/suid")); st.Mode&0o7777 != 0o4755 {
		t.Errorf("bin/suid mode %#o, want 04755 (set-uid kept after chown)", st.Mode&0o7777)
	}
	if st := lstat(t, p("home/user/owned")); st.Uid != 1000 || st.Gid != 1001 || st.Mode&0o777 != 0o600 {
		t.Errorf("home/user/owned: %d:%d %#o, want 1000:1001 0600", st.Uid, st.Gid, st.Mode&0o777)
	}
	if st := lstat(t, p("home/user")); st.Mode&0o777 != 0o755 || st.Uid != 0 {
		t.Errorf("implicit parent home/user: uid %d mode %#o, want root 0755", st.Uid, st.Mode&0o777)
	}
	buf := make([]byte, 64)
	if n, err := unix.Lgetxattr(p("xattr"), "user.berth", buf); err != nil || string(buf[:n]) != "hello" {
		t.Errorf("xattr user.berth: %q, %v; want hello", buf[:max(n, 0)], err)
	}
	if l, err := os.Readlink(p("bin/sh")); err != nil || l != "busybox" {
		t.Errorf("bin/sh -> %q, %v; want busybox", l, err)
	}
	if st := lstat(t, p("fifo")); st.Mode&unix.S_IFMT != unix.S_IFIFO {
		t.Errorf("fifo: mode %#o, not a fifo", st.Mode)
	}
	if st := lstat(t, p("dev/null")); st.Mode&unix.S_IFMT != unix.S_IFCHR || unix.Major(st.Rdev) != 1 || unix.Minor(st.Rdev) != 3 {
		t.Errorf("dev/null: mode %#o rdev %d:%d, want char 1:3", st.Mode, unix.Major(st.Rdev), unix.Minor(st.Rdev))
	}
	if st := lstat(t, p("etc/hostname")); st.Mtim.Sec != epoch.Unix() {
		t.Errorf("etc/hostname mtime %d, want %d", st.Mtim.Sec, epoch.Unix())
	}
	if st := lstat(t, p("opq")); st.Mtim.Sec != epoch.Unix() || st.Mode&0o777 != 0o750 {
		t.Errorf("opq: mtime %d mode %#o, want %d and 0750", st.Mtim.Sec, st.Mode&0o777, epoch.Unix())
	}

	// Whiteouts.
	gone(t, p("wh/gone"))
	gone(t, p("wh/dir"))
	gone(t, p("wh/.wh.gone"))
	gone(t, p("opq/old"))
	gone(t, p("opq/sub"))
	gone(t, p("opq/.wh..wh..opq"))
	if got := readString(t, p("opq/new")); got != "new" {
		t.Errorf("opq/new = %q", got)
	}
	gone(t, p("wh/kept")) // hidden by the third layer's opaque marker
	if got := readString(t, p("wh/new")); got != "n" {
		t.Errorf("wh/new = %q: an opaque marker must keep its own layer's entries", got)
	}
	if got := readString(t, p("same/x")); got != "x" {
		t.Errorf("same/x = %q: a whiteout must not remove its own layer's file", got)
	}

	// Hard link and replacements.
	if a, b := lstat(t, p("hl")), lstat(t, p("bin/suid")); a.Ino != b.Ino || a.Nlink != 2 {
		t.Errorf("hl and bin/suid: inodes %d and %d, nlink %d; want one inode with two links", a.Ino, b.Ino, a.Nlink)
	}
	if st := lstat(t, p("replace-me")); st.Mode&unix.S_IFMT != unix.S_IFREG {
		t.Errorf("replace-me: mode %#o, want the upper layer's regular file", st.Mode)
	}
	if got := readString(t, p("dir-to-file")); got != "file" {
		t.Errorf("dir-to-file = %q, want a file replacing the lower directory", got)
	}
}

// TestUnpackIDMap shifts owners into a host range and puts the mapping and
// a user namespace into the spec.
func TestUnpackIDMap(t *testing.T) {
	requireRoot(t)
	b := newLayout(t)
	m, _ := b.image(hostConfig(), lay("gzip",
		ownedE(fileE("home/u/f", "f", 0o644), 1000, 1000),
		ownedE(dirE("srv/", 0o755), 0, 5),
	))
	b.index(m)
	bundle := t.TempDir()
	maps := []IDMap{{ContainerID: 0, HostID: 200000, Size: 65536}}
	sp, err := Unpack(b.dir, bundle, Options{UIDMap: maps, GIDMap: maps})
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(bundle, "rootfs")
	for _, c := range []struct {
		path     string
		uid, gid uint32
	}{{"", 200000, 200000}, {"home", 200000, 200000}, {"home/u/f", 201000, 201000}, {"srv", 200000, 200005}} {
		if st := lstat(t, filepath.Join(root, c.path)); st.Uid != c.uid || st.Gid != c.gid {
			t.Errorf("rootfs/%s owned by %d:%d, want %d:%d", c.path, st.Uid, st.Gid, c.uid, c.gid)
		}
	}
	userns := false
	for _, n := range sp.Linux.Namespaces {
		userns = userns || n.Type == "user"
	}
	if !userns || len(sp.Linux.UIDMappings) != 1 || sp.Linux.UIDMappings[0].HostID != 200000 || len(sp.Linux.GIDMappings) != 1 {
		t.Errorf("spec: user namespace %v, uid mappings %+v, gid mappings %+v", userns, sp.Linux.UIDMappings, sp.Linux.GIDMappings)
	}

	// An owner outside the map is an error, not a silent root file.
	b2 := newLayout(t)
	m2, _ := b2.image(hostConfig(), lay("none", ownedE(fileE("f", "f", 0o644), 70000, 0)))
	b2.index(m2)
	small := []IDMap{{ContainerID: 0, HostID: 200000, Size: 65536}}
	_, err = Unpack(b2.dir, t.TempDir(), Options{UIDMap: small, GIDMap: small})
	if err == nil || !strings.Contains(err.Error(), "uid 70000 is not covered") {
		t.Errorf("unmapped owner: err %v, want uid 70000 is not covered", err)
	}
}

// TestUnpackEscapes tries the classic ways out of the rootfs. Each must
// fail or land inside it; nothing may appear outside.
func TestUnpackEscapes(t *testing.T) {
	requireRoot(t)
	outside := t.TempDir()
	hostFile := filepath.Join(outside, "secret")
	if err := os.WriteFile(hostFile, []byte("host"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		entries []entry
		wantErr string // "" means it must succeed, contained
		inside  string // with success: this file now exists in the rootfs
	}{
		{name: "dotdot name", entries: []entry{fileE("../../../../../.."+outside+"/dotdot", "x", 0o644)}, wantErr: "leads outside the rootfs"},
		{name: "dotdot inside name", entries: []entry{fileE("a/../../dotdot2", "x", 0o644)}, wantErr: "leads outside the rootfs"},
		{name: "absolute name", entries: []entry{fileE(outside+"/abs", "x", 0o644)}, inside: outside + "/abs"},
		{name: "absolute symlink then file", entries: []entry{
			dirE(strings.TrimPrefix(outside, "/")+"/", 0o755),
			symlinkE("esc", outside),
			fileE("esc/through-abs", "x", 0o644),
		}, inside: outside + "/through-abs"},
		{name: "dangling absolute symlink then file", entries: []entry{
			symlinkE("esc", outside),
			fileE("esc/dangling", "x", 0o644),
		}, wantErr: "dangling symlink"},
		{name: "relative symlink climbing out", entries: []entry{
			symlinkE("up", "../../../../../../../../.."),
			fileE("up/"+strings.TrimPrefix(outside, "/")+"/through-rel", "x", 0o644),
		}, inside: outside + "/through-rel"},
		{name: "hard link out by name", entries: []entry{hardlinkE("stolen", "../../../../"+hostFile)}, wantErr: "leads outside the rootfs"},
		{name: "hard link through symlink", entries: []entry{
			symlinkE("hostdir", outside),
			hardlinkE("stolen", "hostdir/secret"),
		}, wantErr: "no such file"},
		{name: "whiteout through symlink", entries: []entry{
			symlinkE("hostdir", outside),
			whiteoutE("hostdir/.wh.secret"),
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := newLayout(t)
			m, _ := b.image(hostConfig(), lay("gzip", c.entries...))
			b.index(m)
			bundle := t.TempDir()
			_, err := Unpack(b.dir, bundle, Options{})
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Errorf("err %v, want one containing %q", err, c.wantErr)
				}
				if _, serr := os.Stat(filepath.Join(bundle, "rootfs")); !os.IsNotExist(serr) {
					t.Errorf("a failed unpack left the rootfs behind (stat: %v)", serr)
				}
			} else if err != nil {
				t.Errorf("unpack: %v", err)
			} else if c.inside != "" {
				if _, err := os.Stat(filepath.Join(bundle, "rootfs", c.inside)); err != nil {
					t.Errorf("the entry should have landed inside the rootfs at %s: %v", c.inside, err)
				}
			}
			names, _ := os.ReadDir(outside)
			if len(names) != 1 || names[0].Name() != "secret" || readString(t, hostFile) != "host" {
				var list []string
				for _, n := range names {
					list = append(list, n.Name())
				}
				t.Fatalf("the layer reached outside the rootfs: %s now holds %q", outside, list)
			}
			if st := lstat(t, hostFile); st.Nlink != 1 {
				t.Fatalf("the host file got a hard link from the rootfs (nlink %d)", st.Nlink)
			}
		})
	}
}

// corrupt flips one byte of a blob, keeping its size.
func corrupt(t *testing.T, b *layoutB, d v1.Descriptor) {
	t.Helper()
	p := filepath.Join(b.dir, blobPath(d.Digest))
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0xff
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestUnpackVerifiesBlobs(t *testing.T) {
	requireRoot(t)
	mk := func(t *testing.T, comp string) (*layoutB, v1.Descriptor, []v1.Descriptor) {
		b := newLayout(t)
		m, layers := b.image(hostConfig(),
			lay(comp, fileE("a", strings.Repeat("a", 4096), 0o644)),
			lay(comp, fileE("b", strings.Repeat("b", 4096), 0o644)))
		b.index(m)
		return b, m, layers
	}
	for _, comp := range []string{"gzip", "zstd", "none"} {
		t.Run("layer digest "+comp, func(t *testing.T) {
			b, _, layers := mk(t, comp)
			corrupt(t, b, layers[1])
			bundle := t.TempDir()
			_, err := Unpack(b.dir, bundle, Options{})
			want := "blob " + layers[1].Digest.String() + " (layer 2 of 2): digest mismatch"
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("err %v, want one containing %q", err, want)
			}
			if _, err := os.Stat(filepath.Join(bundle, "rootfs")); !os.IsNotExist(err) {
				t.Errorf("the rootfs of a failed unpack remains (stat: %v)", err)
			}
		})
	}
	t.Run("layer size", func(t *testing.T) {
		b, _, layers := mk(t, "gzip")
		f, err := os.OpenFile(filepath.Join(b.dir, blobPath(layers[0].Digest)), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.Write([]byte("trailing"))
		f.Close()
		_, err = Unpack(b.dir, t.TempDir(), Options{})
		want := "blob " + layers[0].Digest.String() + " (layer 1 of 2): size mismatch"
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("err %v, want one containing %q", err, want)
		}
	})
	t.Run("manifest digest", func(t *testing.T) {
		b, m, _ := mk(t, "gzip")
		corrupt(t, b, m)
		_, err := Unpack(b.dir, t.TempDir(), Options{})
		want := "blob " + m.Digest.String() + " (manifest listed in index.json): digest mismatch"
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("err %v, want one containing %q", err, want)
		}
	})
	t.Run("diff_ids", func(t *testing.T) {
		b := newLayout(t)
		cfg := hostConfig()
		layer := b.blob(layerTypes["none"], tarOf(t, fileE("a", "a", 0o644)))
		cfg.RootFS.DiffIDs = []digest.Digest{sha([]byte("something else"))}
		c := b.jsonBlob(v1.MediaTypeImageConfig, cfg)
		m := b.jsonBlob(v1.MediaTypeImageManifest, v1.Manifest{Versioned: schema2, Config: c, Layers: []v1.Descriptor{layer}})
		b.index(m)
		_, err := Unpack(b.dir, t.TempDir(), Options{})
		if err == nil || !strings.Contains(err.Error(), "rootfs.diff_ids") || !strings.Contains(err.Error(), "digest mismatch") {
			t.Fatalf("err %v, want a diff_ids digest mismatch", err)
		}
	})
	t.Run("unknown layer media type", func(t *testing.T) {
		b := newLayout(t)
		cfg := hostConfig()
		plain := tarOf(t, fileE("a", "a", 0o644))
		layer := b.blob("application/vnd.example.layer+lz4", plain)
		cfg.RootFS.DiffIDs = []digest.Digest{sha(plain)}
		c := b.jsonBlob(v1.MediaTypeImageConfig, cfg)
		b.index(b.jsonBlob(v1.MediaTypeImageManifest, v1.Manifest{Versioned: schema2, Config: c, Layers: []v1.Descriptor{layer}}))
		_, err := Unpack(b.dir, t.TempDir(), Options{})
		if err == nil || !strings.Contains(err.Error(), `unsupported layer media type "application/vnd.example.layer+lz4"`) {
			t.Fatalf("err %v, want the unsupported media type named", err)
		}
	})
}

func TestUnpackRefusesFullRootfs(t *testing.T) {
	b := newLayout(t)
	m, _ := b.image(hostConfig(), lay("none", fileE("a", "a", 0o644)))
	b.index(m)
	bundle := t.TempDir()
	if err := os.MkdirAll(filepath.Join(bundle, "rootfs", "keep"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := Unpack(b.dir, bundle, Options{})
	if err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("err %v, want a refusal of a non-empty rootfs", err)
	}
	if _, err := os.Stat(filepath.Join(bundle, "rootfs", "keep")); err != nil {
		t.Errorf("the existing rootfs content was touched: %v", err)
	}
}
