package tests

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// receiveConsole accepts one connection on ln and returns the pty master
// the runtime sends with SCM_RIGHTS, plus the message payload. It runs on
// its own goroutine, so it reports errors instead of failing the test.
func receiveConsole(ln *net.UnixListener) (*os.File, string, error) {
	ln.SetDeadline(time.Now().Add(30 * time.Second))
	conn, err := ln.AcceptUnix()
	if err != nil {
		return nil, "", fmt.Errorf("accept on the console socket: %w", err)
	}
	defer conn.Close()
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4*4))
	n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
	if err != nil {
		return nil, "", fmt.Errorf("read the console message: %w", err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return nil, "", fmt.Errorf("console message: want one control message, got %d (%v)", len(msgs), err)
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return nil, "", fmt.Errorf("console message: want one SCM_RIGHTS fd, got %v (%v)", fds, err)
	}
	// Non-blocking so read deadlines work on the master.
	if err := unix.SetNonblock(fds[0], true); err != nil {
		return nil, "", err
	}
	return os.NewFile(uintptr(fds[0]), "pty-master"), string(buf[:n]), nil
}

// consoleReceived is what listenConsole's receiver got.
type consoleReceived struct {
	f   *os.File
	msg string
	err error
}

// listenConsole listens on a new console socket and receives one pty
// master on its own goroutine. Closing ln ends the receiver early.
func listenConsole(t *testing.T) (sock string, ln *net.UnixListener, got <-chan consoleReceived) {
	t.Helper()
	sock = filepath.Join(testDir(t, "console"), "console.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan consoleReceived, 1)
	go func() {
		f, msg, err := receiveConsole(ln)
		ch <- consoleReceived{f, msg, err}
	}()
	return sock, ln, ch
}

// waitConsole waits for the pty master (30 s) and fails the test without it.
func waitConsole(t *testing.T, got <-chan consoleReceived, who string) consoleReceived {
	t.Helper()
	select {
	case m := <-got:
		if m.err != nil {
			t.Fatal(m.err)
		}
		return m
	case <-time.After(30 * time.Second):
		t.Fatalf("%s never sent the pty master", who)
	}
	return consoleReceived{}
}

// readUntil reads from f until the output contains want or the deadline
// passes; an EIO (the slave side closed) ends reading too.
func readUntil(f *os.File, want string, d time.Duration) string {
	var out bytes.Buffer
	buf := make([]byte, 4096)
	deadline := time.Now().Add(d)
	for !strings.Contains(out.String(), want) && time.Now().Before(deadline) {
		f.SetReadDeadline(deadline)
		n, err := f.Read(buf)
		out.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return out.String()
}

func TestTerminalConsoleSocket(t *testing.T) {
	r := newRuntime(t)
	sock, ln, got := listenConsole(t)
	defer ln.Close()

	b := newBundle(t, "sh")
	b.spec.Process.Terminal = true
	b.spec.Process.ConsoleSize = &specs.Box{Height: 30, Width: 100}

	c := r.create(b, "--console-socket", sock)
	master := waitConsole(t, got, "the runtime")
	defer master.f.Close()
	if master.msg == "" {
		t.Errorf("the console message has an empty payload; want the fd's name")
	}
	c.start()

	if _, err := master.f.Write([]byte("tty; stty size; echo hi-$((40+2)); exit 7\n")); err != nil {
		t.Fatalf("write to the pty master: %v", err)
	}
	out := readUntil(master.f, "hi-42", 15*time.Second)
	if !strings.Contains(out, "hi-42") {
		t.Fatalf("the shell on the terminal did not run the input; got %q", out)
	}
	if !strings.Contains(out, "/dev/pts/") {
		t.Errorf("tty inside: %q, want a /dev/pts/N terminal", out)
	}
	if !strings.Contains(out, "30 100") {
		t.Errorf("stty size inside: %q, want 30 100 from consoleSize", out)
	}
	r.waitStatus(c.id, specs.StateStopped)
}

// TestTerminalWithoutSocket: a terminal container needs a console socket
// when it is created detached.
func TestTerminalWithoutSocket(t *testing.T) {
	r := newRuntime(t)
	b := newBundle(t, "sh")
	b.spec.Process.Terminal = true
	before := hostMounts()
	c, res := r.tryCreate(b)
	assertErrorLine(t, res, "console", "terminal")
	assertNothingLeft(t, r, c.id, before)
}
