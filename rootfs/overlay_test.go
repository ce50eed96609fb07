package rootfs

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestOverlayLowers(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := OverlayLowers(map[string]string{"other": "x"}); ok || err != nil {
		t.Errorf("no annotation: ok %v err %v", ok, err)
	}
	lowers, ok, err := OverlayLowers(map[string]string{OverlayAnnotation: `["` + dir + `","/"]`})
	if !ok || err != nil || len(lowers) != 2 || lowers[0] != dir {
		t.Errorf("good annotation: %q %v %v", lowers, ok, err)
	}
	for _, bad := range []string{`x`, `[]`, `["rel/dir"]`, `["` + dir + `/../x"]`, `["` + dir + `/missing"]`, `["` + file + `"]`} {
		_, ok, err := OverlayLowers(map[string]string{OverlayAnnotation: bad})
		if !ok || err == nil || !strings.Contains(err.Error(), "annotation "+OverlayAnnotation) {
			t.Errorf("annotation %s: ok %v err %v, want an error naming the annotation", bad, ok, err)
		}
	}
}

func init() { scenarios["overlay"] = scenarioOverlay }

// TestOverlayMount mounts an overlay with both the mount API (lowerdir+)
// and the mount(2) fallback of kernels before 6.8, and reads a detached
// view of the lowers both ways: whiteouts and opaque directories hide
// what is below, writes go to the upper directory.
func TestOverlayMount(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("overlay whiteouts need root")
	}
	base := t.TempDir()
	lower1, lower2 := filepath.Join(base, "l1"), filepath.Join(base, "l2")
	for _, p := range []string{"l1/gone", "l1/opq/hidden", "l1/keep", "l2/opq/shown"} {
		if err := os.MkdirAll(filepath.Join(base, filepath.Dir(p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(base, p), []byte(p), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := unix.Mknod(filepath.Join(lower2, "gone"), unix.S_IFCHR, 0); err != nil {
		t.Fatal(err)
	}
	if err := unix.Setxattr(filepath.Join(lower2, "opq"), "trusted.overlay.opaque", []byte("y"), 0); err != nil {
		t.Fatal(err)
	}
	runScenario(t, "overlay", map[string]string{"base": base, "l1": lower1, "l2": lower2})
}

func scenarioOverlay(args map[string]string) error {
	c := &checker{}
	lowers := []string{args["l2"], args["l1"]}
	view := func(how string, root string) {
		_, err := os.Stat(filepath.Join(root, "gone"))
		c.check(os.IsNotExist(err), "%s: whited-out file: stat err %v", how, err)
		_, err = os.Stat(filepath.Join(root, "opq", "hidden"))
		c.check(os.IsNotExist(err), "%s: file under an opaque directory: stat err %v", how, err)
		_, err = os.Stat(filepath.Join(root, "opq", "shown"))
		c.check(err == nil, "%s: opq/shown: %v", how, err)
		_, err = os.Stat(filepath.Join(root, "keep"))
		c.check(err == nil, "%s: keep: %v", how, err)
	}
	for i, mount := range []struct {
		how string
		fn  func(target string, lowers []string, upper, work string) error
	}{{"MountOverlay", MountOverlay}, {"mount(2)", mountOverlayLegacy}} {
		dir := filepath.Join(args["base"], "m"+string(rune('0'+i)))
		for _, d := range []string{"rootfs", "upper", "work"} {
			c.noErr(os.MkdirAll(filepath.Join(dir, d), 0o755), "mkdir")
		}
		target := filepath.Join(dir, "rootfs")
		if err := mount.fn(target, lowers, filepath.Join(dir, "upper"), filepath.Join(dir, "work")); err != nil {
			c.noErr(err, mount.how)
			continue
		}
		view(mount.how, target)
		c.noErr(os.WriteFile(filepath.Join(target, "keep"), []byte("new"), 0o644), mount.how+": write keep")
		data, _ := os.ReadFile(filepath.Join(dir, "upper", "keep"))
		c.check(string(data) == "new", "%s: upper/keep %q, want the write", mount.how, data)
		data, _ = os.ReadFile(filepath.Join(args["l1"], "keep"))
		c.check(string(data) == "l1/keep", "%s: the lower changed: %q", mount.how, data)
		c.noErr(unix.Unmount(target, 0), mount.how+": unmount")
	}
	for _, open := range []struct {
		how string
		fn  func([]string) (int, error)
	}{{"OpenOverlay", OpenOverlay}, {"openOverlayLegacy", openOverlayLegacy}} {
		fd, err := open.fn(lowers)
		if err != nil {
			c.noErr(err, open.how)
			continue
		}
		view(open.how, "/proc/self/fd/"+strconv.Itoa(fd))
		unix.Close(fd)
	}
	return c.err()
}
