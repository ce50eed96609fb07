package console

import (
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func socketPair(t *testing.T) (*os.File, *os.File) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	a, b := os.NewFile(uintptr(fds[0]), "a"), os.NewFile(uintptr(fds[1]), "b")
	t.Cleanup(func() {
		a.Close()
		b.Close()
	})
	return a, b
}

func sameFile(t *testing.T, a, b *os.File) bool {
	t.Helper()
	var sa, sb unix.Stat_t
	if err := unix.Fstat(int(a.Fd()), &sa); err != nil {
		t.Fatal(err)
	}
	if err := unix.Fstat(int(b.Fd()), &sb); err != nil {
		t.Fatal(err)
	}
	return sa.Dev == sb.Dev && sa.Ino == sb.Ino
}

func TestSendRecvFd(t *testing.T) {
	a, b := socketPair(t)
	master, _, _ := newTestPty(t)
	if err := sendFd(a, "/dev/pts/ptmx", master); err != nil {
		t.Fatal(err)
	}
	got, err := RecvFd(b)
	if err != nil {
		t.Fatal(err)
	}
	defer got.Close()
	if got.Name() != "/dev/pts/ptmx" {
		t.Fatalf("received name %q", got.Name())
	}
	if int(got.Fd()) == int(master.Fd()) {
		t.Fatal("received the very same descriptor number; no transfer happened")
	}
	if !sameFile(t, got, master) {
		t.Fatal("received descriptor refers to another file")
	}
	flags, err := unix.FcntlInt(got.Fd(), unix.F_GETFD, 0)
	if err != nil {
		t.Fatal(err)
	}
	if flags&unix.FD_CLOEXEC == 0 {
		t.Fatal("received descriptor is not close-on-exec")
	}
}

func TestSendRecvFdRegularFile(t *testing.T) {
	a, b := socketPair(t)
	f, err := os.CreateTemp(t.TempDir(), "f")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := sendFd(a, "some file", f); err != nil {
		t.Fatal(err)
	}
	got, err := RecvFd(b)
	if err != nil {
		t.Fatal(err)
	}
	defer got.Close()
	if got.Name() != "some file" || !sameFile(t, got, f) {
		t.Fatalf("received %q, not the file sent", got.Name())
	}
}

func TestRecvFdClosed(t *testing.T) {
	a, b := socketPair(t)
	a.Close()
	if _, err := RecvFd(b); err == nil || !strings.Contains(err.Error(), "connection closed") {
		t.Fatalf("error = %v", err)
	}
}

func TestRecvFdNoDescriptor(t *testing.T) {
	a, b := socketPair(t)
	if _, err := a.Write([]byte("just bytes")); err != nil {
		t.Fatal(err)
	}
	if _, err := RecvFd(b); err == nil || !strings.Contains(err.Error(), "got 0 descriptors") {
		t.Fatalf("error = %v", err)
	}
}

func TestRecvFdTwoDescriptors(t *testing.T) {
	a, b := socketPair(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if err := unix.Sendmsg(int(a.Fd()), []byte("x"), unix.UnixRights(int(r.Fd()), int(w.Fd())), nil, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := RecvFd(b); err == nil || !strings.Contains(err.Error(), "got 2 descriptors") {
		t.Fatalf("error = %v", err)
	}
	// The extras were closed: with no other write end left, the read
	// end sees end of file.
	w.Close()
	r.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 1)
	if n, err := r.Read(buf); n != 0 || err != io.EOF {
		t.Fatalf("pipe still has a writer after RecvFd rejected the message: n=%d err=%v", n, err)
	}
}

func TestDial(t *testing.T) {
	path := filepath.Join(t.TempDir(), "console.sock")
	testDial(t, path)
}

func TestDialLongPath(t *testing.T) {
	dir := t.TempDir()
	long := filepath.Join(dir, strings.Repeat("d", 100))
	if err := os.Mkdir(long, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(long, "console.sock")
	if len(path) < sunPathMax {
		t.Fatalf("path %q is not long enough to test", path)
	}
	// Listen through /proc/self/fd too: net.Listen cannot bind it either.
	dfd, err := unix.Open(long, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(dfd)
	l, err := net.Listen("unix", "/proc/self/fd/"+strconv.Itoa(dfd)+"/console.sock")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	acceptAndCheck(t, l, path)
}

func testDial(t *testing.T, path string) {
	t.Helper()
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	acceptAndCheck(t, l, path)
}

// acceptAndCheck dials path, sends a pty master over the connection as the
// runtime would, and checks the listening side gets it.
func acceptAndCheck(t *testing.T, l net.Listener, path string) {
	t.Helper()
	type result struct {
		f   *os.File
		err error
	}
	done := make(chan result, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			done <- result{err: err}
			return
		}
		defer c.Close()
		cf, err := c.(*net.UnixConn).File()
		if err != nil {
			done <- result{err: err}
			return
		}
		defer cf.Close()
		f, err := RecvFd(cf)
		done <- result{f, err}
	}()

	sock, err := Dial(path)
	if err != nil {
		t.Fatal(err)
	}
	defer sock.Close()
	master, _, _ := newTestPty(t)
	if err := sendFd(sock, "/dev/ptmx", master); err != nil {
		t.Fatal(err)
	}
	res := <-done
	if res.err != nil {
		t.Fatal(res.err)
	}
	defer res.f.Close()
	if res.f.Name() != "/dev/ptmx" || !sameFile(t, res.f, master) {
		t.Fatalf("listener received %q, not the master", res.f.Name())
	}
}

func TestDialNoListener(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nobody.sock")
	_, err := Dial(path)
	if err == nil || !strings.Contains(err.Error(), `connect to console socket "`+path+`": no such file or directory`) {
		t.Fatalf("error = %v", err)
	}
}

// sendFd sends f, as the C init sends the pty master (OP_CONSOLE), over the connected unix socket sock as one message whose
// payload is name and whose SCM_RIGHTS carries f: the console socket
// protocol of runc that containerd and conmon speak.
func sendFd(sock *os.File, name string, f *os.File) error {
	if len(name) > nameBufSize {
		return fmt.Errorf("send fd %q: name longer than %d bytes", name, nameBufSize)
	}
	err := control(f, func(fd int) error {
		rights := unix.UnixRights(fd)
		return writeRaw(sock, func(sfd int) error {
			return unix.Sendmsg(sfd, []byte(name), rights, nil, 0)
		})
	})
	if err != nil {
		return fmt.Errorf("sendmsg SCM_RIGHTS %q on %q: %w", name, sock.Name(), err)
	}
	return nil
}

// writeRaw is readRaw for writing.
func writeRaw(f *os.File, fn func(fd int) error) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var opErr error
	err = rc.Write(func(fd uintptr) bool {
		opErr = fn(int(fd))
		return opErr != unix.EAGAIN
	})
	if err != nil {
		return err
	}
	return opErr
}
