package console

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The SetControlling test runs in a child process: setsid and dup2 onto
// stdio would wreck the test binary itself.
const childEnv = "BERTH_CONSOLE_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "setcontrolling" {
		setControllingChild()
		return
	}
	os.Exit(m.Run())
}

func setControllingChild() {
	if err := SetControlling(os.NewFile(3, "slave")); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	stat, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// Fields after the ")" closing comm: state ppid pgrp session tty_nr.
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	sid, _ := unix.Getsid(0)
	fmt.Printf("pid=%d sid=%d tty_nr=%s stdin_tty=%v stderr_tty=%v\n",
		os.Getpid(), sid, fields[4], isTTY(0), isTTY(2))
}

func isTTY(fd int) bool {
	_, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	return err == nil
}

func newTestPty(t *testing.T) (*os.File, *os.File, string) {
	t.Helper()
	master, slave, path, err := NewPty("/dev/ptmx")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		master.Close()
		slave.Close()
	})
	return master, slave, path
}

func TestNewPty(t *testing.T) {
	master, slave, path := newTestPty(t)
	if !strings.HasPrefix(path, "/dev/pts/") {
		t.Fatalf("slave path %q", path)
	}
	// The slave we got is the one at path.
	var fromPath, fromFile unix.Stat_t
	if err := unix.Stat(path, &fromPath); err != nil {
		t.Fatal(err)
	}
	if err := unix.Fstat(int(slave.Fd()), &fromFile); err != nil {
		t.Fatal(err)
	}
	if fromPath.Rdev != fromFile.Rdev {
		t.Fatalf("slave rdev %#x, %s has %#x", fromFile.Rdev, path, fromPath.Rdev)
	}
	flags, err := unix.FcntlInt(slave.Fd(), unix.F_GETFL, 0)
	if err != nil {
		t.Fatal(err)
	}
	if flags&unix.O_NONBLOCK != 0 {
		t.Fatal("slave is non-blocking; it must not be, it becomes stdio")
	}
	// The master goes out blocking, as runc hands it: a receiver that
	// reads it without polling must not see EAGAIN.
	err = control(master, func(fd int) error {
		flags, err = unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if flags&unix.O_NONBLOCK != 0 {
		t.Fatal("master is non-blocking; a receiver reading it without poll(2) would see EAGAIN")
	}
	// Read deadlines below: a non-blocking duplicate (the flag is shared,
	// which no longer matters here).
	mfd, err := unix.Dup(int(master.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.SetNonblock(mfd, true); err != nil {
		t.Fatal(err)
	}
	master = os.NewFile(uintptr(mfd), "master")
	defer master.Close()

	if _, err := master.Write([]byte("hello\n")); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(slave).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	if line != "hello\n" {
		t.Fatalf("slave read %q, want %q", line, "hello\n")
	}

	if _, err := slave.Write([]byte("back\n")); err != nil {
		t.Fatal(err)
	}
	master.SetReadDeadline(time.Now().Add(5 * time.Second))
	got := readUntil(t, master, "back")
	if !strings.Contains(got, "back") {
		t.Fatalf("master read %q", got)
	}
}

// readUntil reads f until want shows up or its deadline passes.
func readUntil(t *testing.T, f *os.File, want string) string {
	t.Helper()
	var sb strings.Builder
	buf := make([]byte, 1024)
	for !strings.Contains(sb.String(), want) {
		n, err := f.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			t.Fatalf("read %q so far: %v", sb.String(), err)
		}
	}
	return sb.String()
}

func TestNewPtyMissing(t *testing.T) {
	_, _, _, err := NewPty("/nonexistent/ptmx")
	if err == nil || !strings.Contains(err.Error(), `open "/nonexistent/ptmx": no such file or directory`) {
		t.Fatalf("error = %v", err)
	}
}

func TestPeerPath(t *testing.T) {
	for _, tc := range []struct{ ptmx, want string }{
		{"/dev/ptmx", "/dev/pts/7"},
		{"/dev/pts/ptmx", "/dev/pts/7"},
		{"/run/c/rootfs/dev/ptmx", "/run/c/rootfs/dev/pts/7"},
	} {
		if got := peerPath(tc.ptmx, 7); got != tc.want {
			t.Errorf("peerPath(%q) = %q, want %q", tc.ptmx, got, tc.want)
		}
	}
}

func TestSetSize(t *testing.T) {
	master, slave, _ := newTestPty(t)
	if err := SetSize(master, 42, 132); err != nil {
		t.Fatal(err)
	}
	// Read back from the slave: the side the workload sees.
	ws, err := unix.IoctlGetWinsize(int(slave.Fd()), unix.TIOCGWINSZ)
	if err != nil {
		t.Fatal(err)
	}
	if ws.Row != 42 || ws.Col != 132 {
		t.Fatalf("window size %dx%d, want 42x132", ws.Row, ws.Col)
	}
}

// TestClearONLCR: after it, "\n" written on the slave reaches the master
// as it is, not as "\r\n".
func TestClearONLCR(t *testing.T) {
	master, slave, _ := newTestPty(t)
	if err := ClearONLCR(master); err != nil {
		t.Fatal(err)
	}
	tio, err := unix.IoctlGetTermios(int(slave.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if tio.Oflag&unix.ONLCR != 0 {
		t.Fatal("ONLCR still set on the slave")
	}
	if _, err := slave.Write([]byte("a\nb\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	n, err := master.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(buf[:n]); got != "a\nb\n" {
		t.Fatalf("master read %q, want %q", got, "a\nb\n")
	}
}

func TestSetSizeNotTerminal(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "plain")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := SetSize(f, 1, 1); err == nil || !strings.Contains(err.Error(), "TIOCSWINSZ") {
		t.Fatalf("error = %v", err)
	}
}

func TestSetControlling(t *testing.T) {
	master, slave, _ := newTestPty(t)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=setcontrolling")
	cmd.ExtraFiles = []*os.File{slave}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	master.SetReadDeadline(time.Now().Add(10 * time.Second))
	out := readUntil(t, master, "\n")
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v: %s", err, stderr.String())
	}
	var pid, sid int
	var ttyNr, stdinTTY, stderrTTY string
	if _, err := fmt.Sscanf(strings.TrimSpace(out), "pid=%d sid=%d tty_nr=%s stdin_tty=%s stderr_tty=%s",
		&pid, &sid, &ttyNr, &stdinTTY, &stderrTTY); err != nil {
		t.Fatalf("child said %q: %v", out, err)
	}
	if sid != pid {
		t.Errorf("child session %d, want its own (%d)", sid, pid)
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(slave.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	// tty_nr uses the kernel's dev_t encoding; compare major and minor.
	nr, err := strconv.ParseUint(ttyNr, 10, 32)
	if err != nil {
		t.Fatal(err)
	}
	gotMajor, gotMinor := uint32(nr>>8)&0xfff, uint32(nr&0xff)|uint32(nr>>12)&0xfff00
	if gotMajor != unix.Major(st.Rdev) || gotMinor != unix.Minor(st.Rdev) {
		t.Errorf("child controlling tty %d:%d, want the slave %d:%d",
			gotMajor, gotMinor, unix.Major(st.Rdev), unix.Minor(st.Rdev))
	}
	if stdinTTY != "true" || stderrTTY != "true" {
		t.Errorf("child stdin/stderr are terminals: %s/%s, want true/true", stdinTTY, stderrTTY)
	}
}
