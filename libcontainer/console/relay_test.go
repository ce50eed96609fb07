package console

import (
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// TestRelay plays both ends: a "local" pty stands for the user's terminal
// (typing goes into its master, Relay reads its slave), a "container" pty
// is relayed, and stdout is a pipe.
func TestRelay(t *testing.T) {
	localMaster, localSlave, _ := newTestPty(t)
	ctrMaster, ctrSlave, _ := newTestPty(t)
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer outR.Close()
	defer outW.Close()

	if err := SetSize(localMaster, 30, 100); err != nil {
		t.Fatal(err)
	}
	stop, err := Relay(ctrMaster, localSlave, outW)
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			stop()
		}
	}()

	localFd := int(localSlave.Fd())
	st, err := unix.IoctlGetTermios(localFd, unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if st.Lflag&(unix.ICANON|unix.ECHO) != 0 {
		t.Fatal("local terminal is not in raw mode during the relay")
	}
	waitSize(t, ctrSlave, 30, 100)

	// Typing reaches the container.
	if _, err := localMaster.Write([]byte("ping\n")); err != nil {
		t.Fatal(err)
	}
	if got := readBlocking(t, ctrSlave); got != "ping\n" {
		t.Fatalf("container read %q, want %q", got, "ping\n")
	}

	// A resize of the local terminal follows on SIGWINCH.
	if err := SetSize(localMaster, 50, 200); err != nil {
		t.Fatal(err)
	}
	if err := unix.Kill(os.Getpid(), unix.SIGWINCH); err != nil {
		t.Fatal(err)
	}
	waitSize(t, ctrSlave, 50, 200)

	// Output written just before the container goes away is not lost.
	if _, err := ctrSlave.Write([]byte("last words\n")); err != nil {
		t.Fatal(err)
	}
	ctrSlave.Close()
	start := time.Now()
	stop()
	stopped = true
	if d := time.Since(start); d > drainMax+500*time.Millisecond {
		t.Errorf("stop took %s", d)
	}
	stop() // a second call is harmless

	outW.Close()
	out, err := io.ReadAll(outR)
	if err != nil {
		t.Fatal(err)
	}
	// The container's terminal echoes the typed line, then our output.
	if !strings.Contains(string(out), "ping") || !strings.HasSuffix(string(out), "last words\r\n") {
		t.Fatalf("stdout got %q", out)
	}

	st, err = unix.IoctlGetTermios(localFd, unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if st.Lflag&unix.ICANON == 0 {
		t.Fatal("local terminal still raw after stop")
	}
	// The caller's master is left open and usable.
	if err := SetSize(ctrMaster, 1, 1); err != nil {
		t.Fatalf("master unusable after stop: %v", err)
	}
}

// TestRelayNotTerminal: with stdin not a terminal there is no raw mode and
// no size to follow, but output still flows, and stop does not hang on an
// open slave beyond the drain limit.
func TestRelayNotTerminal(t *testing.T) {
	ctrMaster, ctrSlave, _ := newTestPty(t)
	devNull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devNull.Close()
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer outR.Close()
	defer outW.Close()
	if term.IsTerminal(int(devNull.Fd())) {
		t.Fatal("/dev/null is a terminal?")
	}
	stop, err := Relay(ctrMaster, devNull, outW)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ctrSlave.Write([]byte("hi\n")); err != nil {
		t.Fatal(err)
	}
	// The slave stays open, as when a container's child keeps it.
	start := time.Now()
	stop()
	if d := time.Since(start); d > drainMax+500*time.Millisecond {
		t.Errorf("stop took %s with the slave still open", d)
	}
	outW.Close()
	out, err := io.ReadAll(outR)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != "hi\r\n" {
		t.Fatalf("stdout got %q", out)
	}
}

func waitSize(t *testing.T, f *os.File, rows, cols uint16) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var ws *unix.Winsize
		err := control(f, func(fd int) error {
			var err error
			ws, err = unix.IoctlGetWinsize(fd, unix.TIOCGWINSZ)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if ws.Row == rows && ws.Col == cols {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("container terminal is %dx%d, want %dx%d", ws.Row, ws.Col, rows, cols)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// readBlocking reads once from a blocking file, which has no deadlines,
// failing the test instead of hanging it.
func readBlocking(t *testing.T, f *os.File) string {
	t.Helper()
	got := make(chan string, 1)
	go func() {
		buf := make([]byte, 256)
		n, _ := f.Read(buf)
		got <- string(buf[:n])
	}()
	select {
	case s := <-got:
		return s
	case <-time.After(5 * time.Second):
		t.Fatalf("nothing to read from %s", f.Name())
		return ""
	}
}
