package nsenter_test

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"berth/internal/nstest"
	"berth/libcontainer/seccomp"
	"berth/nsenter"
)

// The executor's procfs writes (procfs.c) against a /proc shaped as a
// hostile container would shape it: the C twin of libcontainer/lsm's
// TestProcOvermount. Each scenario runs in a copy of the test binary with
// its own mount and UTS namespaces, on one locked thread.

const childEnv = "BERTH_NSENTER_TEST_CHILD"

func TestMain(m *testing.M) { nstest.Main(m, childEnv, childScenarios) }

var childScenarios = map[string]func() error{
	"sysctl": sysctlScenario,
	"lsm":    lsmScenario,
}

// TestSysctlWrite: OP_SYSCTL's write goes to the real file through a
// fresh procfs whatever is mounted on the container's /proc; where the
// kernel refuses a fresh one, /proc is used only when it is a procfs root,
// and a mount over the file (even of another procfs file) is refused, as
// is a symlink on the way.
func TestSysctlWrite(t *testing.T) { nstest.Run(t, childEnv, "sysctl") }

// TestLSMWrite: the exec attributes are opened below a fresh procfs as
// <pid>/task/<tid>/attr/[<lsm>/]exec, a test write goes to attr/current
// first, and the kernel's answer comes back with the field and path named
// (on a host without AppArmor or SELinux: EINVAL); through /proc, a mount
// over the attribute is refused.
func TestLSMWrite(t *testing.T) { nstest.Run(t, childEnv, "lsm") }

// overmount gives the UTS namespace names and mounts hostname's procfs file
// over domainname's: a write through /proc to domainname would land in the
// hostname, and an fstatfs check passes on it.
func overmount() error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make / rprivate: %w", err)
	}
	if err := unix.Sethostname([]byte("berth-c-host")); err != nil {
		return err
	}
	if err := unix.Setdomainname([]byte("berth-c-domain")); err != nil {
		return err
	}
	return unix.Mount("/proc/sys/kernel/hostname", "/proc/sys/kernel/domainname", "", unix.MS_BIND, "")
}

func uts() (host, domain string) {
	var u unix.Utsname
	unix.Uname(&u)
	return unix.ByteSliceToString(u.Nodename[:]), unix.ByteSliceToString(u.Domainname[:])
}

// refuseFsopen makes fsopen(2) fail on this thread (EPERM), as a kernel or
// a user namespace that refuses a fresh procfs would.
func refuseFsopen() error {
	errno := uint(unix.EPERM)
	sc := &specs.LinuxSeccomp{DefaultAction: specs.ActAllow,
		Syscalls: []specs.LinuxSyscall{{Names: []string{"fsopen"}, Action: specs.ActErrno, ErrnoRet: &errno}}}
	prog, err := seccomp.Compile(sc)
	if err != nil {
		return err
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return err
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	if _, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, 0, uintptr(unsafe.Pointer(&fprog))); errno != 0 {
		return errno
	}
	return nil
}

func wantErr(err error, parts ...string) error {
	if err == nil {
		return fmt.Errorf("no error, want one with %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			return fmt.Errorf("error %q, want one with %q", err, parts)
		}
	}
	return nil
}

func sysctlScenario() error {
	if err := overmount(); err != nil {
		return err
	}
	if err := nsenter.SysctlWrite("sys/kernel/domainname", "fresh", `"fresh"`); err != nil {
		return fmt.Errorf("fresh procfs: %w", err)
	}
	if h, d := uts(); h != "berth-c-host" || d != "fresh" {
		return fmt.Errorf("after the write through a fresh procfs: hostname %q domainname %q, want berth-c-host fresh", h, d)
	}
	if err := wantErr(nsenter.SysctlWrite("self/attr/exec", "x", `"x"`), "openat2 /proc/self/attr/exec: too many levels of symbolic links"); err != nil {
		return fmt.Errorf("a symlink on the way: %w", err)
	}
	if err := wantErr(nsenter.SysctlWrite("sys/kernel/no_such_sysctl", "x", `"x"`), "openat2 /proc/sys/kernel/no_such_sysctl: no such file or directory"); err != nil {
		return err
	}

	if err := refuseFsopen(); err != nil {
		return fmt.Errorf("refuse fsopen: %w", err)
	}
	err := nsenter.SysctlWrite("sys/kernel/domainname", "redirected", `"redirected"`)
	if err := wantErr(err, "openat2 /proc/sys/kernel/domainname: invalid cross-device link (something is mounted over it)"); err != nil {
		return fmt.Errorf("through /proc with a mount over the file: %w", err)
	}
	if h, _ := uts(); h != "berth-c-host" {
		return fmt.Errorf("the write through /proc landed in the hostname: %q", h)
	}
	if err := nsenter.SysctlWrite("sys/kernel/hostname", "via-proc", `"via-proc"`); err != nil {
		return fmt.Errorf("through /proc: %w", err)
	}
	if h, _ := uts(); h != "via-proc" {
		return fmt.Errorf("hostname %q after the write through /proc", h)
	}
	if err := unix.Mount("tmpfs", "/proc", "tmpfs", 0, ""); err != nil {
		return err
	}
	err = nsenter.SysctlWrite("sys/kernel/hostname", "x", `"x"`)
	if err := wantErr(err, "/proc: not on procfs (filesystem type 0x1021994): refusing to write (and a private procfs failed: fsopen proc: operation not permitted)"); err != nil {
		return fmt.Errorf("a tmpfs on /proc: %w", err)
	}
	if err := unix.Unmount("/proc", 0); err != nil {
		return err
	}
	if err := unix.Mount("/proc/sys", "/proc", "", unix.MS_BIND, ""); err != nil {
		return err
	}
	if err := wantErr(nsenter.SysctlWrite("kernel/hostname", "x", `"x"`), "/proc: not the root of a procfs (inode"); err != nil {
		return fmt.Errorf("/proc/sys on /proc: %w", err)
	}
	return nil
}

// lsmOn reports whether the kernel runs AppArmor or SELinux, whose answer
// to a write this test cannot know.
func lsmOn() bool {
	b, err := os.ReadFile("/sys/module/apparmor/parameters/enabled")
	if err == nil && strings.TrimSpace(string(b)) == "Y" {
		return true
	}
	_, err = os.Stat("/sys/fs/selinux/enforce")
	return err == nil
}

func lsmScenario() error {
	if err := overmount(); err != nil {
		return err
	}
	self := fmt.Sprintf("%d/task/%d/attr/", unix.Getpid(), unix.Gettid())
	label := nsenter.LSMAttr{Value: "u:r:t:s0", Quoted: `"u:r:t:s0"`, Field: `process.selinuxLabel "u:r:t:s0"`}
	profile := nsenter.LSMAttr{Dir: "apparmor", Value: "exec p", Quoted: `"exec p"`, Test: "permprofile p",
		TestQuoted: `"permprofile"`, Missing: "no such profile is loaded", Field: `process.apparmorProfile "p"`}
	_, aaDir := os.Stat("/proc/thread-self/attr/apparmor")
	prep, apply := nsenter.LSMExec([]nsenter.LSMAttr{label})
	if prep != nil {
		return fmt.Errorf("open %sexec: %w", self, prep)
	}
	if !lsmOn() {
		if err := wantErr(apply, `process.selinuxLabel "u:r:t:s0": write "u:r:t:s0" to /proc/`+self+"exec: invalid argument"); err != nil {
			return fmt.Errorf("no LSM: %w", err)
		}
		current := self + "current"
		if aaDir == nil {
			current = self + "apparmor/current"
		}
		prep, _ = nsenter.LSMExec([]nsenter.LSMAttr{profile, label})
		if err := wantErr(prep, `process.apparmorProfile "p": write "permprofile" to /proc/`+current+": invalid argument"); err != nil {
			return fmt.Errorf("no LSM, profile test: %w", err)
		}
	}

	// Through /proc (no fresh procfs), with another procfs file over the
	// attribute: refused, as in CVE-2025-52881.
	if err := refuseFsopen(); err != nil {
		return fmt.Errorf("refuse fsopen: %w", err)
	}
	if err := unix.Mount("/proc/sys/kernel/domainname", "/proc/"+self+"exec", "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind over attr/exec: %w", err)
	}
	prep, _ = nsenter.LSMExec([]nsenter.LSMAttr{label})
	if err := wantErr(prep, `process.selinuxLabel "u:r:t:s0": openat2 /proc/`+self+"exec: invalid cross-device link (something is mounted over it)"); err != nil {
		return fmt.Errorf("a mount over attr/exec: %w", err)
	}
	if h, d := uts(); h != "berth-c-host" || d != "berth-c-domain" {
		return errors.New("the write went through the mount")
	}
	return nil
}
