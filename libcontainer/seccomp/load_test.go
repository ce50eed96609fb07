package seccomp

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// childEnv makes the test binary load a filter and report instead of
// running tests: a filter can never be removed, so it is only ever loaded
// in a child process.
const childEnv = "BERTH_SECCOMP_TEST_CHILD"

func TestMain(m *testing.M) {
	name := os.Getenv(childEnv)
	if name == "" {
		os.Exit(m.Run())
	}
	c, ok := childCases[name]
	if !ok {
		fmt.Fprintln(os.Stderr, "child: no case", name)
		os.Exit(1)
	}
	// The filter goes on this thread; everything measured runs here too.
	runtime.LockOSThread()
	rep := &report{}
	if err := c(rep); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(1)
	}
	os.Stdout.Write(rep.buf.Bytes())
	os.Exit(0)
}

// report collects key=value lines; they are written once at the end so
// that the write happens after every probe.
type report struct{ buf bytes.Buffer }

func (r *report) set(key, value string) { fmt.Fprintf(&r.buf, "%s=%s\n", key, value) }

// result is "ok" or the errno's name.
func (r *report) result(key string, errno syscall.Errno) {
	if errno == 0 {
		r.set(key, "ok")
	} else {
		r.set(key, unix.ErrnoName(errno))
	}
}

func sys(nr uintptr, args ...uintptr) syscall.Errno {
	var a [6]uintptr
	copy(a[:], args)
	_, _, errno := unix.Syscall6(nr, a[0], a[1], a[2], a[3], a[4], a[5])
	return errno
}

func load(c *specs.LinuxSeccomp) (int, error) {
	prog, err := Compile(c)
	if err != nil {
		return -1, err
	}
	return loadProg(c, prog)
}

func getcwd() syscall.Errno {
	buf := make([]byte, 4096)
	return sys(unix.SYS_GETCWD, uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)))
}

// atFdcwd is AT_FDCWD (-100) as a raw syscall argument.
var atFdcwd = func() uintptr { fd := unix.AT_FDCWD; return uintptr(fd) }()

func mkdir(path string) syscall.Errno {
	p, _ := unix.BytePtrFromString(path)
	return sys(unix.SYS_MKDIRAT, atFdcwd, uintptr(unsafe.Pointer(p)), 0o700)
}

func openFlags(path string, flags int) syscall.Errno {
	p, _ := unix.BytePtrFromString(path)
	fd, _, errno := unix.Syscall6(unix.SYS_OPENAT, atFdcwd, uintptr(unsafe.Pointer(p)), uintptr(flags), 0, 0, 0)
	if errno == 0 {
		unix.Close(int(fd))
	}
	return errno
}

// onOtherThread runs f on a thread that existed before the filter was
// loaded. Go starts new threads from a clean template thread while a
// goroutine holds LockOSThread, so this thread does not inherit it.
func onOtherThread(before func(), f func()) (wait func()) {
	ready, goOn, done := make(chan struct{}), make(chan struct{}), make(chan struct{})
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		close(ready)
		<-goOn
		f()
		close(done)
	}()
	<-ready
	before()
	close(goOn)
	return func() { <-done }
}

// int80 makes an i386-ABI syscall from this 64-bit process with
// "int $0x80", which the kernel presents to seccomp as AUDIT_ARCH_I386.
// Go's amd64 register ABI passes the arguments in RAX, RBX, RCX, exactly
// where the i386 convention wants nr, arg1, arg2, so the code is just
// "int $0x80; ret". Only pointer-free syscalls are made this way.
var int80 func(nr, a1, a2 uintptr) uintptr

func setupInt80() error {
	if runtime.GOARCH != "amd64" {
		return errors.New("int $0x80 needs amd64")
	}
	mem, err := unix.Mmap(-1, 0, 4096, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return err
	}
	copy(mem, []byte{0xcd, 0x80, 0xc3})
	if err := unix.Mprotect(mem, unix.PROT_READ|unix.PROT_EXEC); err != nil {
		return err
	}
	// A func value points at a closure whose first word is the code.
	closure := &struct{ code uintptr }{uintptr(unsafe.Pointer(&mem[0]))}
	int80 = *(*func(nr, a1, a2 uintptr) uintptr)(unsafe.Pointer(&closure))
	return nil
}

// errno32 reads an i386 syscall's return value.
func errno32(ret uintptr) syscall.Errno {
	if r := int32(ret); r < 0 && r > -4096 {
		return syscall.Errno(-r)
	}
	return 0
}

// i386 and x32 syscall numbers used below.
const (
	i386Getppid     = 64
	i386Getuid32    = 199
	i386Personality = 136
	x32Getppid      = x32BaseNR | 110
	x32Getuid       = x32BaseNR | 102
)

var childCases = map[string]func(r *report) error{
	"x86abis": func(r *report) error {
		if err := setupInt80(); err != nil {
			return err
		}
		// Without IA32 emulation this faults and the child dies before
		// saying so; the parent then skips.
		errno32(int80(i386Getuid32, 0, 0))
		fmt.Println("ia32=ok")
		cfg := &specs.LinuxSeccomp{
			DefaultAction: specs.ActAllow,
			Architectures: []specs.Arch{specs.ArchX86, specs.ArchX32},
			Syscalls: []specs.LinuxSyscall{
				{Names: []string{"getppid"}, Action: specs.ActErrno, ErrnoRet: uptr(uint(unix.EXDEV))},
				{Names: []string{"personality"}, Action: specs.ActErrno, ErrnoRet: uptr(uint(unix.EACCES))},
				{Names: []string{"personality"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: 0, Value: 0xffffffff, Op: specs.OpEqualTo}}},
			},
		}
		fd, err := load(cfg)
		r.set("load", fmt.Sprint(fd, err))
		r.result("native_getppid", sys(unix.SYS_GETPPID))
		r.result("i386_getppid", errno32(int80(i386Getppid, 0, 0)))
		r.result("i386_getuid32", errno32(int80(i386Getuid32, 0, 0)))
		r.result("i386_personality_query", errno32(int80(i386Personality, 0xffffffff, 0)))
		r.result("i386_personality_0", errno32(int80(i386Personality, 0, 0)))
		r.result("x32_getppid", sys(x32Getppid))
		r.result("x32_getuid", sys(x32Getuid))
		return nil
	},
	"i386_unlisted": func(r *report) error {
		if err := setupInt80(); err != nil {
			return err
		}
		errno32(int80(i386Getuid32, 0, 0))
		fmt.Println("ia32=ok")
		if _, err := load(&specs.LinuxSeccomp{DefaultAction: specs.ActAllow}); err != nil {
			return err
		}
		fmt.Println("loaded")
		int80(i386Getuid32, 0, 0)
		fmt.Println("survived")
		return nil
	},
	"x32_unlisted": func(r *report) error {
		if _, err := load(&specs.LinuxSeccomp{DefaultAction: specs.ActAllow}); err != nil {
			return err
		}
		fmt.Println("loaded")
		sys(x32Getuid)
		fmt.Println("survived")
		return nil
	},
	"errno": func(r *report) error {
		cfg := &specs.LinuxSeccomp{
			DefaultAction: specs.ActAllow,
			Syscalls: []specs.LinuxSyscall{
				{Names: []string{"getcwd", "getcwd_from_the_future"}, Action: specs.ActErrno, ErrnoRet: uptr(uint(unix.EXDEV))},
				{Names: []string{"no_such_syscall"}, Action: specs.ActKillProcess},
				{Names: []string{"mkdirat", "mkdir"}, Action: specs.ActErrno},
			},
		}
		var otherCwd syscall.Errno
		wait := onOtherThread(func() {
			fd, err := load(cfg)
			r.set("load", fmt.Sprint(fd, err))
		}, func() { otherCwd = getcwd() })
		wait()
		r.result("getcwd", getcwd())
		r.result("getcwd_other_thread", otherCwd)
		r.result("mkdirat", mkdir(filepath.Join(os.TempDir(), "berth-seccomp-never")))
		r.result("getpid", sys(unix.SYS_GETPID))
		return nil
	},
	"args": func(r *report) error {
		dir, err := os.MkdirTemp("", "berth-seccomp")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		file := filepath.Join(dir, "f")
		if err := os.WriteFile(file, nil, 0o600); err != nil {
			return err
		}
		argsOf := func(a ...specs.LinuxSeccompArg) []specs.LinuxSeccompArg { return a }
		cfg := &specs.LinuxSeccomp{
			DefaultAction: specs.ActAllow,
			Syscalls: []specs.LinuxSyscall{
				// Refuse personality, except the query.
				{Names: []string{"personality"}, Action: specs.ActErrno, ErrnoRet: uptr(uint(unix.EACCES))},
				{Names: []string{"personality"}, Action: specs.ActAllow, Args: argsOf(specs.LinuxSeccompArg{Index: 0, Value: 0xffffffff, Op: specs.OpEqualTo})},
				// Read-only opens.
				{Names: []string{"openat"}, Action: specs.ActErrno, ErrnoRet: uptr(uint(unix.EROFS)),
					Args: argsOf(specs.LinuxSeccompArg{Index: 2, Value: unix.O_ACCMODE, ValueTwo: unix.O_WRONLY, Op: specs.OpMaskedEqual})},
				{Names: []string{"openat"}, Action: specs.ActErrno, ErrnoRet: uptr(uint(unix.EROFS)),
					Args: argsOf(specs.LinuxSeccompArg{Index: 2, Value: unix.O_ACCMODE, ValueTwo: unix.O_RDWR, Op: specs.OpMaskedEqual})},
				// Same argument twice: OR. Different arguments: AND.
				{Names: []string{"getpriority"}, Action: specs.ActErrno, ErrnoRet: uptr(uint(unix.EDOM)),
					Args: argsOf(specs.LinuxSeccompArg{Index: 0, Value: unix.PRIO_PGRP, Op: specs.OpEqualTo}, specs.LinuxSeccompArg{Index: 0, Value: unix.PRIO_USER, Op: specs.OpEqualTo})},
				{Names: []string{"getpriority"}, Action: specs.ActErrno, ErrnoRet: uptr(uint(unix.ERANGE)),
					Args: argsOf(specs.LinuxSeccompArg{Index: 0, Value: unix.PRIO_PROCESS, Op: specs.OpEqualTo}, specs.LinuxSeccompArg{Index: 1, Value: 99999, Op: specs.OpGreaterEqual})},
			},
		}
		fd, err := load(cfg)
		r.set("load", fmt.Sprint(fd, err))
		r.result("personality_query", sys(unix.SYS_PERSONALITY, 0xffffffff))
		r.result("personality_0", sys(unix.SYS_PERSONALITY, 0))
		// Same low word, high bit set: the high word is compared too.
		r.result("personality_high", sys(unix.SYS_PERSONALITY, 1<<32|0xffffffff))
		r.result("open_rdonly", openFlags(file, unix.O_RDONLY))
		r.result("open_rdonly_cloexec", openFlags(file, unix.O_RDONLY|unix.O_CLOEXEC))
		r.result("open_wronly", openFlags(file, unix.O_WRONLY))
		r.result("open_rdwr", openFlags(file, unix.O_RDWR|unix.O_CLOEXEC))
		r.result("prio_process_self", sys(unix.SYS_GETPRIORITY, unix.PRIO_PROCESS, 0))
		r.result("prio_pgrp", sys(unix.SYS_GETPRIORITY, unix.PRIO_PGRP, 0))
		r.result("prio_user", sys(unix.SYS_GETPRIORITY, unix.PRIO_USER, 0))
		r.result("prio_process_big", sys(unix.SYS_GETPRIORITY, unix.PRIO_PROCESS, 123456))
		r.result("prio_pgrp_big", sys(unix.SYS_GETPRIORITY, unix.PRIO_PGRP, 123456))
		return nil
	},
	"allowlist": func(r *report) error {
		cfg := dockerLikeProfile()
		start := time.Now()
		prog, err := Compile(cfg)
		r.set("compile_cold", time.Since(start).String())
		if err != nil {
			return err
		}
		r.set("instructions", fmt.Sprint(len(prog)))
		start = time.Now()
		fd, err := loadProg(cfg, prog)
		r.set("load_time", time.Since(start).String())
		r.set("load", fmt.Sprint(fd, err))
		r.result("getpid", sys(unix.SYS_GETPID))
		r.result("getcwd", getcwd())
		r.result("unshare", sys(unix.SYS_UNSHARE, 0))
		r.result("syslog", sys(unix.SYS_SYSLOG, 10, 0, 0))
		r.result("mseal", sys(unix.SYS_MSEAL, 0, 0, 1<<20)) // newer than the profile
		r.result("syscall_1000", sys(1000))                 // no such syscall
		r.result("clone3", sys(unix.SYS_CLONE3, 0, 0))      // explicit ENOSYS
		r.result("personality_query", sys(unix.SYS_PERSONALITY, 0xffffffff))
		r.result("personality_other", sys(unix.SYS_PERSONALITY, 0x1234))
		r.result("socket_vsock", sys(unix.SYS_SOCKET, unix.AF_VSOCK, unix.SOCK_STREAM, 0))
		s, _, errno := unix.Syscall(unix.SYS_SOCKET, unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		r.result("socket_unix", errno)
		if errno == 0 {
			unix.Close(int(s))
		}
		// The Go runtime keeps working on the filtered thread.
		done := make(chan struct{})
		go func() { time.Sleep(time.Millisecond); close(done) }()
		<-done
		r.set("runtime", "ok")
		return nil
	},
	"notify": func(r *report) error {
		cfg := &specs.LinuxSeccomp{
			DefaultAction: specs.ActAllow,
			Flags:         []specs.LinuxSeccompFlag{flagTsync, specs.LinuxSeccompFlagWaitKillableRecv},
			Syscalls:      []specs.LinuxSyscall{{Names: []string{"mkdirat"}, Action: specs.ActNotify}},
		}
		fd, err := load(cfg)
		r.set("load_err", fmt.Sprint(err))
		if fd < 0 {
			return fmt.Errorf("no listener fd: %v", err)
		}
		fdFlags, _ := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
		r.set("cloexec", fmt.Sprint(fdFlags&unix.FD_CLOEXEC != 0))
		// The supervisor answers from another thread: EXDEV, without
		// running the syscall.
		type notif struct {
			id    uint64
			pid   uint32
			flags uint32
			nr    int32
			arch  uint32
			ip    uint64
			args  [6]uint64
		}
		type resp struct {
			id    uint64
			val   int64
			error int32
			flags uint32
		}
		got := make(chan string, 1)
		go func() {
			var n notif
			if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SECCOMP_IOCTL_NOTIF_RECV, uintptr(unsafe.Pointer(&n))); e != 0 {
				got <- "recv " + e.Error()
				return
			}
			rs := resp{id: n.id, error: -int32(unix.EXDEV)}
			if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SECCOMP_IOCTL_NOTIF_SEND, uintptr(unsafe.Pointer(&rs))); e != 0 {
				got <- "send " + e.Error()
				return
			}
			got <- fmt.Sprintf("nr=%d arch=%#x", n.nr, n.arch)
		}()
		path := filepath.Join(os.TempDir(), fmt.Sprintf("berth-seccomp-notify-%d", os.Getpid()))
		r.result("mkdirat", mkdir(path))
		r.set("supervisor", <-got)
		_, statErr := os.Stat(path)
		r.set("created", fmt.Sprint(statErr == nil))
		os.Remove(path)
		return nil
	},
	"tsync": func(r *report) error {
		cfg := &specs.LinuxSeccomp{
			DefaultAction: specs.ActAllow,
			Flags:         []specs.LinuxSeccompFlag{flagTsync, specs.LinuxSeccompFlagLog, specs.LinuxSeccompFlagSpecAllow},
			Syscalls:      []specs.LinuxSyscall{{Names: []string{"getcwd"}, Action: specs.ActErrno, ErrnoRet: uptr(uint(unix.EXDEV))}},
		}
		var otherCwd syscall.Errno
		wait := onOtherThread(func() {
			fd, err := load(cfg)
			r.set("load", fmt.Sprint(fd, err))
		}, func() { otherCwd = getcwd() })
		wait()
		r.result("getcwd", getcwd())
		r.result("getcwd_other_thread", otherCwd)
		return nil
	},
	"kill": func(r *report) error {
		cfg := &specs.LinuxSeccomp{
			DefaultAction: specs.ActAllow,
			Syscalls:      []specs.LinuxSyscall{{Names: []string{"getcwd"}, Action: specs.ActKillProcess}},
		}
		if _, err := load(cfg); err != nil {
			return err
		}
		fmt.Println("loaded")
		getcwd()
		fmt.Println("survived")
		return nil
	},
	"trap": func(r *report) error {
		cfg := &specs.LinuxSeccomp{
			DefaultAction: specs.ActAllow,
			Syscalls:      []specs.LinuxSyscall{{Names: []string{"getcwd"}, Action: specs.ActTrap}},
		}
		if _, err := load(cfg); err != nil {
			return err
		}
		fmt.Println("loaded")
		getcwd()
		fmt.Println("survived")
		return nil
	},
	"eacces": func(r *report) error {
		// Drop CAP_SYS_ADMIN from this thread; no_new_privs is unset.
		hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
		var data [2]unix.CapUserData
		if err := unix.Capget(&hdr, &data[0]); err != nil {
			return err
		}
		data[0].Effective &^= 1 << unix.CAP_SYS_ADMIN
		if err := unix.Capset(&hdr, &data[0]); err != nil {
			return err
		}
		_, err := load(&specs.LinuxSeccomp{DefaultAction: specs.ActAllow})
		r.set("err", fmt.Sprint(err))
		r.set("is_eacces", fmt.Sprint(errors.Is(err, unix.EACCES)))
		return nil
	},
}

type childResult struct {
	values map[string]string
	stdout string
	stderr string
	state  *os.ProcessState
}

func runChild(t *testing.T, name string) childResult {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("loading seccomp filters without no_new_privs needs root")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+name)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		t.Fatal(err)
	}
	res := childResult{values: map[string]string{}, stdout: stdout.String(), stderr: stderr.String(), state: cmd.ProcessState}
	sc := bufio.NewScanner(&stdout)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			res.values[k] = v
		}
	}
	return res
}

func (c childResult) mustSucceed(t *testing.T) map[string]string {
	t.Helper()
	if !c.state.Success() {
		t.Fatalf("child: %v\nstdout:\n%s\nstderr:\n%s", c.state, c.stdout, c.stderr)
	}
	return c.values
}

func checkValues(t *testing.T, got map[string]string, want map[string]string) {
	t.Helper()
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: got %q, want %q", k, got[k], w)
		}
	}
}

func TestLoadErrno(t *testing.T) {
	got := runChild(t, "errno").mustSucceed(t)
	checkValues(t, got, map[string]string{
		"load":                "-1 <nil>",
		"getcwd":              "EXDEV",
		"getcwd_other_thread": "ok", // no TSYNC: only the loading thread
		"mkdirat":             "EPERM",
		"getpid":              "ok",
	})
}

func TestLoadArgs(t *testing.T) {
	got := runChild(t, "args").mustSucceed(t)
	checkValues(t, got, map[string]string{
		"load":                "-1 <nil>",
		"personality_query":   "ok",
		"personality_0":       "EACCES",
		"personality_high":    "EACCES",
		"open_rdonly":         "ok",
		"open_rdonly_cloexec": "ok",
		"open_wronly":         "EROFS",
		"open_rdwr":           "EROFS",
		"prio_process_self":   "ok",
		"prio_pgrp":           "EDOM",
		"prio_user":           "EDOM",
		"prio_process_big":    "ERANGE",
		"prio_pgrp_big":       "EDOM",
	})
}

func TestLoadAllowList(t *testing.T) {
	got := runChild(t, "allowlist").mustSucceed(t)
	checkValues(t, got, map[string]string{
		"load":              "-1 <nil>",
		"getpid":            "ok",
		"getcwd":            "ok",
		"unshare":           "EPERM",
		"syslog":            "EPERM",
		"mseal":             "ENOSYS",
		"syscall_1000":      "ENOSYS",
		"clone3":            "ENOSYS",
		"personality_query": "ok",
		"personality_other": "EPERM",
		"socket_vsock":      "EPERM",
		"socket_unix":       "ok",
		"runtime":           "ok",
	})
	t.Logf("docker-like profile (%d names): %s instructions, first Compile in a fresh process %s, Load %s",
		countNames(dockerLikeProfile()), got["instructions"], got["compile_cold"], got["load_time"])
}

func TestLoadNotify(t *testing.T) {
	got := runChild(t, "notify").mustSucceed(t)
	checkValues(t, got, map[string]string{
		"load_err":   "<nil>",
		"cloexec":    "true",
		"mkdirat":    "EXDEV",
		"supervisor": fmt.Sprintf("nr=%d arch=%#x", unix.SYS_MKDIRAT, unix.AUDIT_ARCH_X86_64),
		"created":    "false",
	})
}

func TestLoadTsync(t *testing.T) {
	got := runChild(t, "tsync").mustSucceed(t)
	checkValues(t, got, map[string]string{
		"load":                "-1 <nil>",
		"getcwd":              "EXDEV",
		"getcwd_other_thread": "EXDEV",
	})
}

func TestLoadKillProcess(t *testing.T) {
	res := runChild(t, "kill")
	ws := res.state.Sys().(syscall.WaitStatus)
	if !ws.Signaled() || ws.Signal() != unix.SIGSYS || !strings.Contains(res.stdout, "loaded") || strings.Contains(res.stdout, "survived") {
		t.Fatalf("child: %v, stdout %q, stderr %q", res.state, res.stdout, res.stderr)
	}
}

func needAMD64(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("x86 ABIs need an amd64 host")
	}
}

// TestLoadX86ABIs drives the i386 and x32 branches through the real
// kernel: int $0x80 from this process is an i386 syscall, and a number with
// bit 30 set is an x32 one as far as seccomp is concerned (the filter runs
// before the kernel finds out whether it supports x32; this one does not,
// hence ENOSYS when the filter allows).
func TestLoadX86ABIs(t *testing.T) {
	needAMD64(t)
	res := runChild(t, "x86abis")
	if !strings.Contains(res.stdout, "ia32=ok") {
		t.Skipf("no IA32 emulation: %v %s", res.state, res.stderr)
	}
	got := res.mustSucceed(t)
	checkValues(t, got, map[string]string{
		"load":                   "-1 <nil>",
		"native_getppid":         "EXDEV",
		"i386_getppid":           "EXDEV",
		"i386_getuid32":          "ok",
		"i386_personality_query": "ok",
		"i386_personality_0":     "EACCES",
		"x32_getppid":            "EXDEV",
	})
	if v := got["x32_getuid"]; v != "ENOSYS" && v != "ok" {
		t.Errorf("x32 getuid, allowed by the filter: %s", v)
	}
}

func TestLoadUnlistedABIsKill(t *testing.T) {
	needAMD64(t)
	for _, name := range []string{"i386_unlisted", "x32_unlisted"} {
		res := runChild(t, name)
		if name == "i386_unlisted" && !strings.Contains(res.stdout, "ia32=ok") {
			t.Logf("no IA32 emulation, %s skipped", name)
			continue
		}
		ws := res.state.Sys().(syscall.WaitStatus)
		if !ws.Signaled() || ws.Signal() != unix.SIGSYS || !strings.Contains(res.stdout, "loaded") {
			t.Errorf("%s: %v, stdout %q, stderr %q", name, res.state, res.stdout, res.stderr)
		}
	}
}

func TestLoadTrap(t *testing.T) {
	// The Go runtime treats the SIGSYS as a fatal fault and says so.
	res := runChild(t, "trap")
	if res.state.Success() || !strings.Contains(res.stderr, "SIGSYS") || strings.Contains(res.stdout, "survived") {
		t.Fatalf("child: %v, stdout %q, stderr %q", res.state, res.stdout, res.stderr)
	}
}

func TestLoadWithoutPrivilege(t *testing.T) {
	got := runChild(t, "eacces").mustSucceed(t)
	if got["is_eacces"] != "true" || !strings.Contains(got["err"], "no_new_privs") {
		t.Fatalf("got %v", got)
	}
}

func TestLoadRejects(t *testing.T) {
	ok := &specs.LinuxSeccomp{DefaultAction: specs.ActAllow}
	prog := mustCompile(t, ok, runtime.GOARCH)
	for _, c := range []struct {
		cfg  *specs.LinuxSeccomp
		prog []unix.SockFilter
		want string
	}{
		{nil, prog, "no config"},
		{ok, nil, "not 0"},
		{ok, make([]unix.SockFilter, 4097), "not 4097"},
		{&specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Flags: []specs.LinuxSeccompFlag{"SECCOMP_FILTER_FLAG_NOPE"}}, prog, `flags[0]: unknown flag "SECCOMP_FILTER_FLAG_NOPE"`},
	} {
		// Every case fails before seccomp(2) is called.
		_, err := loadProg(c.cfg, c.prog)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got %v, want %q", err, c.want)
		}
	}
}

func TestFilterFlags(t *testing.T) {
	notify := []specs.LinuxSyscall{{Names: []string{"read"}, Action: specs.ActNotify}}
	for _, c := range []struct {
		flags []specs.LinuxSeccompFlag
		calls []specs.LinuxSyscall
		want  uintptr
	}{
		{nil, nil, 0},
		{[]specs.LinuxSeccompFlag{specs.LinuxSeccompFlagLog, specs.LinuxSeccompFlagSpecAllow}, nil, unix.SECCOMP_FILTER_FLAG_LOG | unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW},
		{[]specs.LinuxSeccompFlag{specs.LinuxSeccompFlagWaitKillableRecv}, nil, 0},
		{nil, notify, unix.SECCOMP_FILTER_FLAG_NEW_LISTENER},
		{[]specs.LinuxSeccompFlag{flagTsync, specs.LinuxSeccompFlagWaitKillableRecv}, notify,
			unix.SECCOMP_FILTER_FLAG_TSYNC | unix.SECCOMP_FILTER_FLAG_TSYNC_ESRCH | unix.SECCOMP_FILTER_FLAG_NEW_LISTENER | unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV},
	} {
		got, err := filterFlags(&specs.LinuxSeccomp{Flags: c.flags, Syscalls: c.calls})
		if err != nil || got != c.want {
			t.Errorf("%v: got %#x %v, want %#x", c.flags, got, err, c.want)
		}
	}
}

func TestSupported(t *testing.T) {
	// Linux 5.19+ (this VM runs 6.x) has every action and flag.
	var uts unix.Utsname
	unix.Uname(&uts)
	acts, flags := SupportedActions(), SupportedFlags()
	t.Logf("kernel %s: actions %v, flags %v", unix.ByteSliceToString(uts.Release[:]), acts, flags)
	if !slices.Equal(acts, KnownActions()) {
		t.Errorf("SupportedActions = %v, want %v", acts, KnownActions())
	}
	if !slices.Equal(flags, KnownFlags()) {
		t.Errorf("SupportedFlags = %v, want %v", flags, KnownFlags())
	}
}
