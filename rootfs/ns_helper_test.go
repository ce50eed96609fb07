package rootfs

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"berth/internal/mountinfo"
)

// Mount tests run in a child copy of the test binary in its own mount
// namespace, so nothing they mount is ever visible to the host, and a
// pivot_root only moves the child.
const (
	childEnv     = "BERTH_ROOTFS_TEST_CHILD"
	childArgsEnv = "BERTH_ROOTFS_TEST_ARGS"
	childOK      = "ROOTFS-CHILD-OK"
)

// scenarios are the child-side halves of the namespace tests.
var scenarios = map[string]func(args map[string]string) error{}

func TestMain(m *testing.M) {
	if name := os.Getenv(childEnv); name != "" {
		os.Exit(childMain(name))
	}
	os.Exit(m.Run())
}

func childMain(name string) int {
	runtime.LockOSThread()
	// Belt and braces: even if the namespace were shared with the host's
	// peer groups, nothing from here propagates back.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		fmt.Fprintln(os.Stderr, "make / rprivate:", err)
		return 2
	}
	var args map[string]string
	if err := json.Unmarshal([]byte(os.Getenv(childArgsEnv)), &args); err != nil {
		fmt.Fprintln(os.Stderr, "args:", err)
		return 2
	}
	fn := scenarios[name]
	if fn == nil {
		fmt.Fprintln(os.Stderr, "unknown scenario", name)
		return 2
	}
	if err := fn(args); err != nil {
		fmt.Fprintln(os.Stderr, "FAIL:", err)
		return 1
	}
	fmt.Println(childOK)
	return 0
}

// runScenario runs scenarios[name] in a new mount namespace and fails t
// with the child's output unless it reports success.
func runScenario(t *testing.T, name string, args map[string]string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mount namespaces need root")
	}
	a, _ := json.Marshal(args)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+name, childArgsEnv+"="+string(a))
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNS}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), childOK) {
		t.Fatalf("scenario %s: %v\n%s", name, err, out)
	}
}

// checker collects failed expectations in the child.
type checker struct{ errs []error }

func (c *checker) check(ok bool, format string, a ...any) {
	if !ok {
		c.errs = append(c.errs, fmt.Errorf(format, a...))
	}
}

func (c *checker) noErr(err error, what string) {
	if err != nil {
		c.errs = append(c.errs, fmt.Errorf("%s: %w", what, err))
	}
}

func (c *checker) err() error { return errors.Join(c.errs...) }

func statfsType(path string) (int64, int64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return 0, 0, err
	}
	return st.Type, st.Flags, nil
}

// expectEROFS checks that creating a file at path fails read-only.
func (c *checker) expectEROFS(path string) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o644)
	if err == nil {
		f.Close()
		c.errs = append(c.errs, fmt.Errorf("%s: writable, want read-only", path))
		return
	}
	if !errors.Is(err, unix.EROFS) {
		c.errs = append(c.errs, fmt.Errorf("%s: err %v, want EROFS", path, err))
	}
}

func (c *checker) expectDevice(path string, typ uint32, major, minor uint32, perm uint32, uid, gid uint32) {
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		c.errs = append(c.errs, fmt.Errorf("%s: %w", path, err))
		return
	}
	c.check(st.Mode&unix.S_IFMT == typ, "%s: type %o, want %o", path, st.Mode&unix.S_IFMT, typ)
	c.check(unix.Major(st.Rdev) == major && unix.Minor(st.Rdev) == minor,
		"%s: device %d:%d, want %d:%d", path, unix.Major(st.Rdev), unix.Minor(st.Rdev), major, minor)
	c.check(st.Mode&0o7777 == perm, "%s: mode %o, want %o", path, st.Mode&0o7777, perm)
	c.check(st.Uid == uid && st.Gid == gid, "%s: owner %d:%d, want %d:%d", path, st.Uid, st.Gid, uid, gid)
}

func (c *checker) expectLink(path, want string) {
	got, err := os.Readlink(path)
	c.check(err == nil && got == want, "%s: readlink = %q, %v; want %q", path, got, err, want)
}

func isMountRoot(path string) bool {
	_, root, err := mountIDOf(unix.AT_FDCWD, path)
	return err == nil && root
}

// mountinfoFor returns the mountinfo entry of the top mount at path.
func mountinfoFor(path string) (mountinfo.Mount, bool) {
	ms, err := mountinfo.Read()
	if err != nil {
		return mountinfo.Mount{}, false
	}
	var found mountinfo.Mount
	ok := false
	for _, m := range ms {
		if m.Mountpoint == path {
			found, ok = m, true
		}
	}
	return found, ok
}
