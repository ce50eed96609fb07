package rootfs

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// OverlayAnnotation names the read-only lower directories of an overlay
// root, as a JSON array of absolute paths, top layer first (what `berth
// bundle --overlay` writes). With it the init mounts, before anything else
// of the rootfs, overlay(lowerdir=those, upperdir=<bundle>/upper,
// workdir=<bundle>/work) onto root.path. The mount lives only in the
// container's mount namespace, so delete has nothing to unmount: the
// kernel drops it with the namespace.
const OverlayAnnotation = "berth.rootfs.overlay"

// Directories of an overlay bundle next to config.json.
const (
	OverlayUpper = "upper"
	OverlayWork  = "work"
)

// OverlayLowers reads and checks the annotation: every lower is an
// absolute, clean path of an existing directory. ok is false when the
// annotation is absent.
func OverlayLowers(annotations map[string]string) (lowers []string, ok bool, err error) {
	v, ok := annotations[OverlayAnnotation]
	if !ok {
		return nil, false, nil
	}
	bad := func(format string, a ...any) error {
		return fmt.Errorf("annotation %s: "+format, append([]any{OverlayAnnotation}, a...)...)
	}
	if err := json.Unmarshal([]byte(v), &lowers); err != nil {
		return nil, true, bad("want a JSON array of lower directories, top layer first: %w", err)
	}
	if len(lowers) == 0 {
		return nil, true, bad("no lower directories")
	}
	for i, l := range lowers {
		if !filepath.IsAbs(l) || filepath.Clean(l) != l {
			return nil, true, bad("[%d] %q is not a clean absolute path", i, l)
		}
		st, err := os.Stat(l)
		if err != nil {
			return nil, true, bad("[%d]: %w", i, err)
		}
		if !st.IsDir() {
			return nil, true, bad("[%d] %q is not a directory", i, l)
		}
	}
	return lowers, true, nil
}

// overlayDirs reads and checks what an overlay rootfs is made of: the
// annotation's lowers and the bundle's upper and work directories. ok is
// false when the spec has no overlay rootfs.
func (c *Config) overlayDirs() (lowers []string, upper, work string, ok bool, err error) {
	lowers, ok, err = OverlayLowers(c.Spec.Annotations)
	if err != nil || !ok {
		return nil, "", "", ok, err
	}
	if c.UserNS {
		// Whiteouts and opaque directories of the lowers are trusted.*
		// xattrs and 0:0 devices made by the host's root; an overlay
		// mounted inside a user namespace cannot read trusted.* xattrs.
		return nil, "", "", true, fmt.Errorf("annotation %s: an overlay rootfs cannot be used with a user namespace", OverlayAnnotation)
	}
	if c.Bundle == "" {
		return nil, "", "", true, fmt.Errorf("annotation %s: no bundle directory to hold %s/ and %s/", OverlayAnnotation, OverlayUpper, OverlayWork)
	}
	upper = filepath.Join(c.Bundle, OverlayUpper)
	work = filepath.Join(c.Bundle, OverlayWork)
	for _, d := range []string{upper, work} {
		if st, err := os.Stat(d); err != nil || !st.IsDir() {
			return nil, "", "", true, fmt.Errorf("annotation %s: the bundle needs the directory %q: %v", OverlayAnnotation, d, errOrNotDir(err))
		}
	}
	return lowers, upper, work, true, nil
}

func errOrNotDir(err error) error {
	if err != nil {
		return err
	}
	return unix.ENOTDIR
}

// OpenOverlay returns an O_PATH descriptor of the root of a read-only
// overlay of lowers (top first) that is mounted nowhere: it exists while
// the descriptor is open. `berth bundle --overlay` reads the image's
// /etc/passwd through it, with the kernel's own whiteout rules.
func OpenOverlay(lowers []string) (int, error) {
	if len(lowers) == 1 {
		// overlayfs wants two lowers without an upper; one layer is
		// its own merged view.
		fd, err := unix.Open(lowers[0], unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return -1, fmt.Errorf("open %q: %w", lowers[0], err)
		}
		return fd, nil
	}
	fd, err := newOverlay(lowers, "", "", unix.MOUNT_ATTR_RDONLY)
	if !errors.Is(err, errNoLowerdirPlus) {
		return fd, err
	}
	return openOverlayLegacy(lowers)
}

// errNoLowerdirPlus: the kernel predates "lowerdir+" (Linux 6.8), which
// takes the lowers one by one instead of in one option string of at most
// a page.
var errNoLowerdirPlus = errors.New("overlayfs has no lowerdir+ option")

// newOverlay makes a detached overlay mount with the mount API and returns
// its descriptor.
func newOverlay(lowers []string, upper, work string, attrs int) (int, error) {
	if !kernelAtLeast(6, 8) {
		// Before 6.5 overlayfs takes fsconfig keys through the legacy
		// context, which accepts any key and fails only at create: ask
		// the version instead of guessing from EINVAL.
		return -1, errNoLowerdirPlus
	}
	fsfd, err := unix.Fsopen("overlay", unix.FSOPEN_CLOEXEC)
	if err != nil {
		if errors.Is(err, unix.ENOSYS) {
			return -1, errNoLowerdirPlus
		}
		return -1, fmt.Errorf("fsopen overlay: %w", err)
	}
	defer unix.Close(fsfd)
	for i, l := range lowers {
		if err := unix.FsconfigSetString(fsfd, "lowerdir+", l); err != nil {
			if i == 0 && errors.Is(err, unix.EINVAL) {
				return -1, errNoLowerdirPlus
			}
			return -1, fmt.Errorf("overlay lowerdir+ %q: %w%s", l, err, fsLog(fsfd))
		}
	}
	for _, o := range [][2]string{{"upperdir", upper}, {"workdir", work}} {
		if o[1] == "" {
			continue
		}
		if err := unix.FsconfigSetString(fsfd, o[0], o[1]); err != nil {
			return -1, fmt.Errorf("overlay %s %q: %w%s", o[0], o[1], err, fsLog(fsfd))
		}
	}
	if err := unix.FsconfigCreate(fsfd); err != nil {
		return -1, fmt.Errorf("create overlay of %d lower dirs: %w%s", len(lowers), err, fsLog(fsfd))
	}
	mfd, err := unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, attrs)
	if err != nil {
		return -1, fmt.Errorf("fsmount overlay: %w", err)
	}
	return mfd, nil
}

// fsLog is what the filesystem said about a failed fsconfig, which tells
// far more than the errno ("overlayfs: failed to resolve '...'").
func fsLog(fsfd int) string {
	var msgs []string
	buf := make([]byte, 1024)
	for range 8 {
		n, err := unix.Read(fsfd, buf)
		if err != nil || n <= 0 {
			break
		}
		msgs = append(msgs, strings.TrimSpace(string(buf[:n])))
	}
	if len(msgs) == 0 {
		return ""
	}
	return " (" + strings.Join(msgs, "; ") + ")"
}

// overlayOptions is the mount(2) option string for kernels before 6.8.
// The lowers are joined with ':' and the options with ',' there, so paths
// holding either (or the escape '\') cannot be said.
func overlayOptions(lowers []string, upper, work string) (string, error) {
	for _, p := range append(append([]string{}, lowers...), upper, work) {
		if strings.ContainsAny(p, ":,\\") {
			return "", fmt.Errorf("overlay path %q holds ':', ',' or '\\', which this kernel's overlay options cannot carry (Linux 6.8 can)", p)
		}
	}
	data := "lowerdir=" + strings.Join(lowers, ":")
	if upper != "" {
		data += ",upperdir=" + upper + ",workdir=" + work
	}
	if len(data) >= os.Getpagesize() {
		return "", fmt.Errorf("%d lower dirs make %d bytes of overlay options, more than mount(2) takes (%d); Linux 6.8 or later has no such limit",
			len(lowers), len(data), os.Getpagesize()-1)
	}
	return data, nil
}

// openOverlayLegacy mounts the read-only overlay in a throw-away mount
// namespace of one OS thread and returns a descriptor of its root; the
// thread exits with its namespace, and the descriptor keeps the (then
// detached) mount alive.
func openOverlayLegacy(lowers []string) (int, error) {
	data, err := overlayOptions(lowers, "", "")
	if err != nil {
		return -1, err
	}
	dir, err := os.MkdirTemp("", "berth-overlay-")
	if err != nil {
		return -1, err
	}
	defer os.Remove(dir)
	type result struct {
		fd  int
		err error
	}
	ch := make(chan result, 1)
	go func() {
		// Never unlocked: the runtime ends the thread, and with it the
		// mount namespace, when this goroutine returns.
		runtime.LockOSThread()
		fd, err := func() (int, error) {
			if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
				return -1, fmt.Errorf("unshare mount namespace: %w", err)
			}
			if err := unix.Mount("", "/", "", unix.MS_PRIVATE|unix.MS_REC, ""); err != nil {
				return -1, fmt.Errorf("make / private: %w", err)
			}
			if err := unix.Mount("overlay", dir, "overlay", unix.MS_RDONLY, data); err != nil {
				return -1, fmt.Errorf("mount overlay of %d lower dirs: %w", len(lowers), err)
			}
			fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
			if err != nil {
				return -1, fmt.Errorf("open overlay root: %w", err)
			}
			return fd, nil
		}()
		ch <- result{fd, err}
	}()
	r := <-ch
	return r.fd, r.err
}

// kernelAtLeast compares the running kernel's major.minor.
func kernelAtLeast(major, minor int) bool {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return false
	}
	var ma, mi int
	if _, err := fmt.Sscanf(unix.ByteSliceToString(u.Release[:]), "%d.%d", &ma, &mi); err != nil {
		return false
	}
	return ma > major || ma == major && mi >= minor
}
