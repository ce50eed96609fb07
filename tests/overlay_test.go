package tests

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// overlayImage writes an image of three gzip layers: a busybox base; a
// layer that whites out /etc/removed and makes /opq opaque; and a layer
// that adds /home/app/new without an entry for its parent directory.
func overlayImage(t *testing.T) string {
	t.Helper()
	applets := busyboxApplets(t)
	l := &imageLayout{t: t, dir: testDir(t, "ovl-image")}
	bb, err := os.ReadFile(busyboxPath)
	if err != nil {
		t.Fatal(err)
	}
	gz := func(data []byte) []byte {
		var b bytes.Buffer
		w := gzip.NewWriter(&b)
		w.Write(data)
		w.Close()
		return b.Bytes()
	}

	base := newTar(t)
	for _, d := range []string{"bin/", "etc/", "proc/", "sys/", "dev/", "root/", "opq/", "data/", "home/"} {
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
	base.add(tar.Header{Typeflag: tar.TypeReg, Name: "etc/passwd"}, []byte("root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n"))
	base.add(tar.Header{Typeflag: tar.TypeReg, Name: "etc/group"}, []byte("root:x:0:\napp:x:1000:\n"))
	base.add(tar.Header{Typeflag: tar.TypeReg, Name: "etc/removed"}, []byte("lower\n"))
	base.add(tar.Header{Typeflag: tar.TypeReg, Name: "opq/a"}, []byte("a\n"))
	base.add(tar.Header{Typeflag: tar.TypeReg, Name: "opq/b"}, []byte("b\n"))
	base.add(tar.Header{Typeflag: tar.TypeReg, Name: "data/keep"}, []byte("base\n"))
	baseTar := base.bytes()

	mid := newTar(t)
	mid.add(tar.Header{Typeflag: tar.TypeDir, Name: "etc/", Mode: 0o755}, nil)
	mid.add(tar.Header{Typeflag: tar.TypeReg, Name: "etc/.wh.removed"}, nil)
	mid.add(tar.Header{Typeflag: tar.TypeReg, Name: "etc/motd"}, []byte("from the middle layer\n"))
	mid.add(tar.Header{Typeflag: tar.TypeDir, Name: "opq/", Mode: 0o755}, nil)
	mid.add(tar.Header{Typeflag: tar.TypeReg, Name: "opq/.wh..wh..opq"}, nil)
	mid.add(tar.Header{Typeflag: tar.TypeReg, Name: "opq/c"}, []byte("c\n"))
	midTar := mid.bytes()

	top := newTar(t)
	top.add(tar.Header{Typeflag: tar.TypeReg, Name: "home/app/new", Uid: 1000, Gid: 1000}, []byte("new\n"))
	topTar := top.bytes()

	var layers []map[string]any
	var diffIDs []string
	for _, tb := range [][]byte{baseTar, midTar, topTar} {
		layers = append(layers, l.blob("application/vnd.oci.image.layer.v1.tar+gzip", gz(tb)))
		diffIDs = append(diffIDs, sha256hex(tb))
	}
	script := `test -e /etc/removed && echo removed-present || echo removed-gone; echo opq: $(ls /opq); ` +
		`stat -c 'home %a %u' /home/app; cat /etc/motd; echo inode $(stat -c %i /bin/busybox); ` +
		`echo written > /written; echo changed >> /data/keep; echo done`
	cfg := l.jsonBlob("application/vnd.oci.image.config.v1+json", map[string]any{
		"architecture": goruntime.GOARCH,
		"os":           goruntime.GOOS,
		"config":       map[string]any{"Env": []string{"PATH=/bin"}, "Cmd": []string{"sh", "-c", script}},
		"rootfs":       map[string]any{"type": "layers", "diff_ids": diffIDs},
	})
	l.finish(t, cfg, layers, "v1")
	return l.dir
}

// overlayLowers reads the lower directories a bundle's config.json names.
func overlayLowers(t *testing.T, bundle string) []string {
	t.Helper()
	s := readSpec(t, bundle)
	v, ok := s.Annotations["berth.rootfs.overlay"]
	if !ok {
		t.Fatalf("%s: no berth.rootfs.overlay annotation: %v", bundle, s.Annotations)
	}
	var lowers []string
	if err := json.Unmarshal([]byte(v), &lowers); err != nil {
		t.Fatalf("berth.rootfs.overlay %q: %v", v, err)
	}
	return lowers
}

func inode(t *testing.T, p string) uint64 {
	t.Helper()
	st, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	return st.Sys().(*syscall.Stat_t).Ino
}

// wantOverlayOutput checks what the image's command printed and returns
// the inode it saw for /bin/busybox.
func wantOverlayOutput(t *testing.T, out []string) uint64 {
	t.Helper()
	want := []string{"removed-gone", "opq: c", "home 750 1000", "from the middle layer", "inode", "done"}
	if len(out) != len(want) {
		t.Fatalf("container printed %q, want %q", out, want)
	}
	for i, w := range want {
		if !strings.HasPrefix(out[i], w) || w != "inode" && out[i] != w {
			t.Fatalf("container printed %q, want %q", out, want)
		}
	}
	ino, err := strconv.ParseUint(strings.TrimPrefix(out[4], "inode "), 10, 64)
	if err != nil {
		t.Fatalf("inode line %q: %v", out[4], err)
	}
	return ino
}

func TestOverlayBundle(t *testing.T) {
	layout := overlayImage(t)
	store := testDir(t, "layers")

	t.Run("shared lowers", func(t *testing.T) {
		r := newRuntime(t)
		b1, b2 := testDir(t, "ovl-bundle"), testDir(t, "ovl-bundle")
		r.mustRun("bundle", "--image", layout+":v1", "--overlay", "--layers", store, b1)
		r.mustRun("bundle", "--image", layout+":v1", "--overlay", "--layers", store, b2)
		l1, l2 := overlayLowers(t, b1), overlayLowers(t, b2)
		if strings.Join(l1, ":") != strings.Join(l2, ":") || len(l1) != 3 {
			t.Fatalf("two bundles of one image: lowers %q and %q, want the same three", l1, l2)
		}
		for _, l := range l1 {
			if filepath.Dir(l) != store {
				t.Errorf("lower %q is not in the layer store %s", l, store)
			}
		}
		// The top layer omits home/app/ and so depends on the layers
		// below: it is keyed by its chain id, the others by diff_id.
		if !strings.HasPrefix(filepath.Base(l1[0]), "chain-") || strings.HasPrefix(filepath.Base(l1[1]), "chain-") {
			t.Errorf("lowers %q: want the top one chain-keyed and the middle one by diff_id", l1)
		}
		for _, b := range []string{b1, b2} {
			if names, _ := os.ReadDir(filepath.Join(b, "rootfs")); len(names) != 0 {
				t.Errorf("%s/rootfs is not empty: %v", b, names)
			}
		}

		base := filepath.Join(l1[2], "bin", "busybox")
		want := inode(t, base)
		ino1 := wantOverlayOutput(t, lines(r.mustRun("run", "--bundle", b1, r.newID()).stdout))
		ino2 := wantOverlayOutput(t, lines(r.mustRun("run", "--bundle", b2, r.newID()).stdout))
		if ino1 != want || ino2 != want {
			t.Errorf("/bin/busybox inode %d and %d in the containers, want the layer store's %d (%s)", ino1, ino2, want, base)
		}

		// Writes land in the bundle's upper directory, never in the store.
		for _, b := range []string{b1, b2} {
			if data, err := os.ReadFile(filepath.Join(b, "upper", "written")); err != nil || string(data) != "written\n" {
				t.Errorf("%s/upper/written: %q, %v", b, data, err)
			}
			if data, err := os.ReadFile(filepath.Join(b, "upper", "data", "keep")); err != nil || string(data) != "base\nchanged\n" {
				t.Errorf("%s/upper/data/keep: %q, %v", b, data, err)
			}
		}
		if data, err := os.ReadFile(filepath.Join(l1[2], "data", "keep")); err != nil || string(data) != "base\n" {
			t.Errorf("the layer store's data/keep changed: %q, %v", data, err)
		}
		for _, l := range l1 {
			if _, err := os.Lstat(filepath.Join(l, "written")); err == nil {
				t.Errorf("the container's write reached the layer %s", l)
			}
		}
	})

	t.Run("layer format", func(t *testing.T) {
		r := newRuntime(t)
		b := testDir(t, "ovl-bundle")
		r.mustRun("bundle", "--image", layout+":v1", "--overlay", "--layers", store, b)
		lowers := overlayLowers(t, b)
		mid := lowers[1]
		st, err := os.Lstat(filepath.Join(mid, "etc", "removed"))
		if err != nil {
			t.Fatalf("the whiteout of etc/removed: %v", err)
		}
		if sys := st.Sys().(*syscall.Stat_t); st.Mode()&os.ModeCharDevice == 0 || sys.Rdev != 0 {
			t.Errorf("etc/removed in the middle layer: mode %v rdev %d, want a 0:0 character device", st.Mode(), sys.Rdev)
		}
		buf := make([]byte, 8)
		n, err := syscall.Getxattr(filepath.Join(mid, "opq"), "trusted.overlay.opaque", buf)
		if err != nil {
			n = 0
		}
		if err != nil || string(buf[:n]) != "y" {
			t.Errorf("opq in the middle layer: trusted.overlay.opaque %q, %v; want y", buf[:n], err)
		}
		if _, err := os.Lstat(filepath.Join(mid, "opq", ".wh..wh..opq")); err == nil {
			t.Errorf("the opaque marker file was unpacked as a file")
		}
		entries, _ := os.ReadDir(store)
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), ".tmp-") {
				t.Errorf("temporary directory left in the layer store: %s", e.Name())
			}
		}
	})

	t.Run("not on the host", func(t *testing.T) {
		r := newRuntime(t)
		b := testDir(t, "ovl-bundle")
		r.mustRun("bundle", "--image", layout+":v1", "--overlay", "--layers", store, b, "sleep", "60")
		id := r.newID()
		r.mustRun("create", "--bundle", b, id)
		defer r.forceDelete(id)
		if m := mountsUnder(b); len(m) != 0 {
			t.Errorf("the overlay is visible on the host: %q", m)
		}
		r.mustRun("delete", "--force", id)
		if m := mountsUnder(b); len(m) != 0 {
			t.Errorf("mounts left after delete: %q", m)
		}
	})

	t.Run("concurrent bundles", func(t *testing.T) {
		r := newRuntime(t)
		fresh := testDir(t, "layers")
		const n = 4
		var wg sync.WaitGroup
		errs := make([]string, n)
		bundles := make([]string, n)
		for i := range n {
			bundles[i] = testDir(t, "ovl-bundle")
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
				defer cancel()
				out, err := r.command(ctx, "bundle", "--image", layout+":v1", "--overlay", "--layers", fresh, bundles[i]).CombinedOutput()
				if err != nil {
					errs[i] = err.Error() + ": " + string(out)
				}
			}()
		}
		wg.Wait()
		for i, e := range errs {
			if e != "" {
				t.Errorf("bundle %d: %s", i, e)
			}
		}
		var dirs []string
		entries, _ := os.ReadDir(fresh)
		for _, e := range entries {
			if e.IsDir() {
				dirs = append(dirs, e.Name())
			}
		}
		if len(dirs) != 3 {
			t.Errorf("layer store after %d concurrent bundles: %q, want three layer directories", n, dirs)
		}
		first := strings.Join(overlayLowers(t, bundles[0]), ":")
		for _, b := range bundles[1:] {
			if got := strings.Join(overlayLowers(t, b), ":"); got != first {
				t.Errorf("lowers differ: %s vs %s", got, first)
			}
		}
		wantOverlayOutput(t, lines(r.mustRun("run", "--bundle", bundles[n-1], r.newID()).stdout))
	})

	t.Run("run --image --overlay", func(t *testing.T) {
		r := newRuntime(t)
		before := imageBundles()
		wantOverlayOutput(t, lines(r.mustRun("run", "--image", layout+":v1", "--overlay", "--layers", store, r.newID()).stdout))
		assertNoNewImageBundles(t, "run --image --overlay", before)
	})

	t.Run("bad annotation", func(t *testing.T) {
		r := newRuntime(t)
		b := testDir(t, "ovl-bundle")
		r.mustRun("bundle", "--image", layout+":v1", "--overlay", "--layers", store, b)
		cfgPath := filepath.Join(b, "config.json")
		data, err := os.ReadFile(cfgPath)
		if err != nil {
			t.Fatal(err)
		}
		for _, lowers := range []string{`["layers/x"]`, `["` + filepath.Join(store, "missing") + `"]`, `[]`, `"x"`} {
			var cfg map[string]any
			if err := json.Unmarshal(data, &cfg); err != nil {
				t.Fatal(err)
			}
			cfg["annotations"].(map[string]any)["berth.rootfs.overlay"] = lowers
			out, _ := json.Marshal(cfg)
			writeFile(t, cfgPath, string(out))
			assertErrorLine(t, r.run("run", "--bundle", b, r.newID()), "annotation berth.rootfs.overlay")
		}
		// Without a mount namespace there is nowhere to mount it.
		var cfg map[string]any
		if err := json.Unmarshal(data, &cfg); err != nil {
			t.Fatal(err)
		}
		linux := cfg["linux"].(map[string]any)
		var keep []any
		for _, ns := range linux["namespaces"].([]any) {
			if ns.(map[string]any)["type"] != "mount" {
				keep = append(keep, ns)
			}
		}
		linux["namespaces"] = keep
		// What needs a mount namespace is refused first; drop it to reach the overlay's own check.
		for _, k := range []string{"maskedPaths", "readonlyPaths", "devices", "rootfsPropagation"} {
			delete(linux, k)
		}
		if root, ok := cfg["root"].(map[string]any); ok {
			delete(root, "readonly")
		}
		out, _ := json.Marshal(cfg)
		writeFile(t, cfgPath, string(out))
		assertErrorLine(t, r.run("run", "--bundle", b, r.newID()), "needs a new mount namespace")
	})

	t.Run("refusals", func(t *testing.T) {
		r := newRuntime(t)
		b := testDir(t, "ovl-bundle")
		assertErrorLine(t, r.run("bundle", "--image", layout, "--overlay", "--layers", store,
			"--uid-map", "0:300000:65536", "--gid-map", "0:300000:65536", b), "--uid-map")
		assertErrorLine(t, r.run("run", "--overlay", r.newID()), "--overlay goes with --image")
	})
}
