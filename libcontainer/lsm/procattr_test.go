package lsm

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"berth/internal/nstest"
)

const childEnv = "BERTH_LSM_TEST_CHILD"

func TestMain(m *testing.M) { nstest.Main(m, childEnv, childScenarios) }

// childScenarios run in a copy of the test binary with its own mount and
// UTS namespaces, so what they mount or name never reaches the host.
var childScenarios = map[string]func() error{
	"overmount": overmountScenario,
}

// TestProcOvermount is the CVE-2025-52881 shape: a procfs file bind-mounted
// over another one passes an fstatfs check, so only the resolve flags (or a
// private procfs) can tell.
func TestProcOvermount(t *testing.T) { nstest.Run(t, childEnv, "overmount") }

func overmountScenario() error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make / rprivate: %w", err)
	}
	if err := unix.Sethostname([]byte("berth-lsm-host")); err != nil {
		return err
	}
	if err := unix.Setdomainname([]byte("berth-lsm-domain")); err != nil {
		return err
	}
	// domainname now shows hostname's file: an fstatfs check passes on it.
	if err := unix.Mount("/proc/sys/kernel/hostname", "/proc/sys/kernel/domainname", "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind over domainname: %w", err)
	}
	b, _ := os.ReadFile("/proc/sys/kernel/domainname")
	if strings.TrimSpace(string(b)) != "berth-lsm-host" {
		return fmt.Errorf("the bind mount did not take: domainname reads %q", b)
	}

	// The container's /proc, as the fallback uses it: the mount is refused.
	fd, err := unix.Open("/proc", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	shared := &Proc{fd: fd}
	defer shared.Close()
	if err := checkProcRoot(fd); err != nil {
		return fmt.Errorf("checkProcRoot(/proc): %w", err)
	}
	_, err = shared.OpenFile("sys/kernel/domainname", unix.O_WRONLY)
	if !errors.Is(err, unix.EXDEV) || !strings.Contains(err.Error(), "mounted over") {
		return fmt.Errorf("open through the bind mount: err %v, want EXDEV naming the mount", err)
	}
	if err := shared.Write("sys/kernel/domainname", "written"); err == nil {
		return errors.New("Write followed the bind mount")
	}

	// A private procfs has no mounts on it: the real file.
	p, err := OpenProc()
	if err != nil {
		return fmt.Errorf("OpenProc: %w", err)
	}
	defer p.Close()
	if !p.Private() {
		return errors.New("OpenProc as root in a mount namespace gave the shared /proc, want a private instance")
	}
	rfd, err := p.OpenFile("sys/kernel/domainname", unix.O_RDONLY)
	if err != nil {
		return fmt.Errorf("private procfs: %w", err)
	}
	defer unix.Close(rfd)
	buf := make([]byte, 64)
	n, _ := unix.Read(rfd, buf)
	if got := strings.TrimSpace(string(buf[:n])); got != "berth-lsm-domain" {
		return fmt.Errorf("private procfs domainname reads %q, want berth-lsm-domain", got)
	}
	if err := p.Write("sys/kernel/domainname", "berth-lsm-written"); err != nil {
		return fmt.Errorf("private procfs write: %w", err)
	}
	var u unix.Utsname
	unix.Uname(&u)
	if got := unix.ByteSliceToString(u.Domainname[:]); got != "berth-lsm-written" {
		return fmt.Errorf("domainname after the write is %q", got)
	}
	return nil
}

func TestCheckProcRoot(t *testing.T) {
	for path, want := range map[string]string{
		"/proc":     "",
		"/proc/sys": "not the root of a procfs",
		t.TempDir(): "not on procfs",
	} {
		fd, err := unix.Open(path, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		err = checkProcRoot(fd)
		unix.Close(fd)
		if want == "" && err != nil || want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
			t.Errorf("checkProcRoot(%s) = %v, want %q", path, err, want)
		}
	}
}

// TestProcOpenFileNoSymlinks: thread-self and self are symlinks in procfs;
// the resolver must refuse them rather than follow.
func TestProcOpenFileNoSymlinks(t *testing.T) {
	p, err := OpenProc()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for _, rel := range []string{"self/attr/current", "thread-self/attr/exec"} {
		if _, err := p.OpenFile(rel, unix.O_RDONLY); !errors.Is(err, unix.ELOOP) {
			t.Errorf("OpenFile(%s): err %v, want ELOOP", rel, err)
		}
	}
	for _, rel := range []string{"", "/etc/passwd", "sys/../self", "sys//kernel", "./sys"} {
		if _, err := p.OpenFile(rel, unix.O_RDONLY); err == nil || !strings.Contains(err.Error(), "procfs path") {
			t.Errorf("OpenFile(%q): err %v, want a path error", rel, err)
		}
	}
}

// TestThreadAttr opens this thread's exec attribute through the resolver
// (the kernel's LSMs decide what a write does; this host may have none).
func TestThreadAttr(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	p, err := OpenProc()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	fd, path, err := p.ThreadAttr("apparmor", "exec")
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	want := fmt.Sprintf("%d/task/%d/attr/", unix.Getpid(), unix.Gettid())
	if !strings.HasPrefix(path, want) || !strings.HasSuffix(path, "/exec") {
		t.Errorf("path %q, want %s[apparmor/]exec", path, want)
	}
	if _, err := os.Stat("/proc/thread-self/attr/apparmor"); err == nil && path != want+"apparmor/exec" {
		t.Errorf("path %q: the kernel has attr/apparmor, want it used", path)
	} else if err != nil && path != want+"exec" {
		t.Errorf("path %q: no attr/apparmor here, want the legacy file", path)
	}
}

func TestThreadAttrPath(t *testing.T) {
	if got := threadAttr(1, 7, "apparmor", "exec"); got != "1/task/7/attr/apparmor/exec" {
		t.Errorf("threadAttr = %q", got)
	}
	if got := threadAttr(12, 12, "", "exec"); got != "12/task/12/attr/exec" {
		t.Errorf("threadAttr = %q", got)
	}
}
