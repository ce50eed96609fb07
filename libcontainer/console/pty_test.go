package console

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func newTestPty(t *testing.T) (*os.File, *os.File, string) {
	t.Helper()
	master, slave, path, err := openPty()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		master.Close()
		slave.Close()
	})
	return master, slave, path
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

// openPty makes a pty pair from /dev/ptmx, both ends blocking, as the C
// init's OP_CONSOLE does in the container.
func openPty() (master, slave *os.File, slavePath string, err error) {
	mfd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, "", err
	}
	master = os.NewFile(uintptr(mfd), "/dev/ptmx")
	if err := unix.IoctlSetPointerInt(mfd, unix.TIOCSPTLCK, 0); err != nil {
		master.Close()
		return nil, nil, "", err
	}
	n, err := unix.IoctlGetUint32(mfd, unix.TIOCGPTN)
	if err != nil {
		master.Close()
		return nil, nil, "", err
	}
	slavePath = "/dev/pts/" + strconv.FormatUint(uint64(n), 10)
	sfd, err := unix.Open(slavePath, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		master.Close()
		return nil, nil, "", err
	}
	return master, os.NewFile(uintptr(sfd), slavePath), slavePath, nil
}
