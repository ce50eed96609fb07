package rootfs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func specWithDevice(typ, path string) *specs.Spec {
	return &specs.Spec{Linux: &specs.Linux{Devices: []specs.LinuxDevice{{Type: typ, Path: path, Major: 1, Minor: 3}}}}
}

// escapeFixture is a rootfs full of symlinks that point out of it, and a
// directory outside it that a naive resolver would write into.
type escapeFixture struct {
	root, outside string
}

func newEscapeFixture(t *testing.T) escapeFixture {
	t.Helper()
	base := t.TempDir()
	f := escapeFixture{root: filepath.Join(base, "rootfs"), outside: filepath.Join(base, "outside")}
	for _, d := range []string{f.root, f.outside, filepath.Join(f.root, "etc")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	links := map[string]string{
		"slash":            "/",
		"abs":              f.outside,                              // absolute host path of a dir outside
		"dotdot":           "../../../../../../../../" + f.outside, // climbs "above" the root
		"loop":             "loop",
		"etc/resolv.conf":  "../run/resolv.conf", // dangling, inside
		"etc/hostname":     "/../../outside-file",
		"chain":            "slash/abs",
		"proc":             "/",
		"etc/file-parent":  "/etc/resolv.conf/x",
		"dirlink":          "etc",
		"etc/relative-out": "../../../outside",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(f.root, name)); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func (f escapeFixture) assertOutsideUntouched(t *testing.T) {
	t.Helper()
	ents, err := os.ReadDir(f.outside)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 0 {
		t.Fatalf("something was created outside the rootfs in %s: %v", f.outside, ents)
	}
	if _, err := os.Lstat(filepath.Join(filepath.Dir(f.root), "outside-file")); err == nil {
		t.Fatal("outside-file was created outside the rootfs")
	}
}

func TestMkdirAllInRootStaysInside(t *testing.T) {
	f := newEscapeFixture(t)
	cases := []struct{ path, want string }{
		{"/slash/a/b", "a/b"},
		{"abs/c", strings.TrimPrefix(f.outside, "/") + "/c"},
		{"/dotdot/d", strings.TrimPrefix(f.outside, "/") + "/d"},
		{"/../../../e", "e"},
		{"/chain/g", strings.TrimPrefix(f.outside, "/") + "/g"},
		{"/proc/self", "self"},
		{"/dirlink/x/../y", "etc/y"},
		{"/etc/relative-out/h", "outside/h"},
	}
	for _, c := range cases {
		d, err := MkdirAllInRoot(f.root, c.path, 0o755)
		if err != nil {
			t.Fatalf("MkdirAllInRoot(%q): %v", c.path, err)
		}
		var got, want unix.Stat_t
		if err := unix.Fstat(int(d.Fd()), &got); err != nil {
			t.Fatal(err)
		}
		d.Close()
		if err := unix.Stat(filepath.Join(f.root, c.want), &want); err != nil {
			t.Fatalf("MkdirAllInRoot(%q): %s not created inside: %v", c.path, c.want, err)
		}
		if got.Ino != want.Ino || got.Mode&unix.S_IFMT != unix.S_IFDIR {
			t.Fatalf("MkdirAllInRoot(%q) returned the wrong directory", c.path)
		}
	}
	f.assertOutsideUntouched(t)

	if _, err := MkdirAllInRoot(f.root, "/loop/x", 0o755); !errors.Is(err, unix.ELOOP) {
		t.Fatalf("symlink loop: err = %v, want ELOOP", err)
	}
}

func TestCreateFileInRootFollowsDanglingLinkInside(t *testing.T) {
	f := newEscapeFixture(t)
	// Docker's classic case: /etc/resolv.conf -> ../run/resolv.conf with no
	// run/ in the image; the bind target must be made where the link
	// points, inside the rootfs.
	file, err := CreateFileInRoot(f.root, "/etc/resolv.conf", 0o644)
	if err != nil {
		t.Fatal(err)
	}
	file.Close()
	st, err := os.Lstat(filepath.Join(f.root, "run/resolv.conf"))
	if err != nil || !st.Mode().IsRegular() {
		t.Fatalf("run/resolv.conf: %v %v", st, err)
	}
	file, err = CreateFileInRoot(f.root, "/etc/hostname", 0o644)
	if err != nil {
		t.Fatal(err)
	}
	file.Close()
	if _, err := os.Lstat(filepath.Join(f.root, "outside-file")); err != nil {
		t.Fatalf("outside-file not created inside the root: %v", err)
	}
	// A path through a regular file is ENOTDIR, not a surprise elsewhere.
	if _, err := CreateFileInRoot(f.root, "/etc/file-parent", 0o644); !errors.Is(err, unix.ENOTDIR) {
		t.Fatalf("file-parent: err = %v, want ENOTDIR", err)
	}
	f.assertOutsideUntouched(t)
}

func TestOpenInRoot(t *testing.T) {
	f := newEscapeFixture(t)
	if err := os.WriteFile(filepath.Join(f.outside, "secret"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/abs/secret", "/dotdot/secret", "/slash/../../outside/secret", "/chain/secret"} {
		if file, err := OpenInRoot(f.root, p); err == nil {
			file.Close()
			t.Errorf("OpenInRoot(%q) reached a file outside the root", p)
		} else if !errors.Is(err, unix.ENOENT) {
			t.Errorf("OpenInRoot(%q): err = %v, want ENOENT", p, err)
		}
	}
	if err := os.WriteFile(filepath.Join(f.root, "etc/inside"), []byte("y"), 0o600); err != nil {
		t.Fatal(err)
	}
	file, err := OpenInRoot(f.root, "/slash/dirlink/inside")
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(file.Fd()), &st); err != nil || st.Size != 1 {
		t.Fatalf("wrong file: %+v %v", st, err)
	}
	// O_PATH: no reading through it.
	if _, err := file.Read(make([]byte, 1)); err == nil {
		t.Fatal("OpenInRoot returned a readable descriptor, want O_PATH")
	}
}

// The hand walker is the fallback when openat2 is missing; it must agree
// with the kernel's RESOLVE_IN_ROOT on every path of the fixture.
func TestWalkerMatchesOpenat2(t *testing.T) {
	f := newEscapeFixture(t)
	for _, d := range []string{"etc/sub/deeper", "run"} {
		os.MkdirAll(filepath.Join(f.root, d), 0o755)
	}
	os.WriteFile(filepath.Join(f.root, "run/resolv.conf"), nil, 0o644)
	rootFd, err := openRoot(f.root)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(rootFd)
	paths := []string{"/", "etc", "/etc/sub/deeper/../..", "/slash/etc/resolv.conf", "/dirlink/resolv.conf",
		"/chain", "/abs/nothing", "/loop", "/etc/relative-out", "/proc/etc/sub", "/etc/file-parent"}
	for _, p := range paths {
		kfd, kerr := openat2InRoot(rootFd, p, unix.O_PATH)
		tgt, werr := resolveInRoot(rootFd, p, createNone, 0)
		if (kerr == nil) != (werr == nil) {
			t.Errorf("%q: openat2 err %v, walker err %v", p, kerr, werr)
		}
		if kerr == nil && werr == nil {
			var a, b unix.Stat_t
			unix.Fstat(kfd, &a)
			unix.Fstat(tgt.fd, &b)
			if a.Ino != b.Ino || a.Dev != b.Dev {
				t.Errorf("%q: openat2 and walker disagree", p)
			}
		}
		if kerr == nil {
			unix.Close(kfd)
		}
		tgt.close()
	}
}
