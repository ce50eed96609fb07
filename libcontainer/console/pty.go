// Package console is the parent's side of process.terminal: the console
// socket (Dial, RecvFd of the pty master the C init or exec process made
// and sent: nsenter/cinit.c OP_CONSOLE, cexec.c), the master's size and
// output mode, and berth's own relay of it to a local terminal.
package console

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// SetSize sets the window size of the terminal f (process.consoleSize).
func SetSize(f *os.File, height, width uint16) error {
	ws := &unix.Winsize{Row: height, Col: width}
	err := control(f, func(fd int) error {
		return unix.IoctlSetWinsize(fd, unix.TIOCSWINSZ, ws)
	})
	if err != nil {
		return fmt.Errorf("ioctl TIOCSWINSZ %dx%d on %q: %w", height, width, f.Name(), err)
	}
	return nil
}

// ClearONLCR turns off the output translation of "\n" into "\r\n" on
// the terminal of f (a master sets its slave's), so a relay copies the
// bytes the container wrote, as runc's does.
func ClearONLCR(f *os.File) error {
	return control(f, func(fd int) error {
		t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
		if err != nil {
			return fmt.Errorf("ioctl TCGETS on %q: %w", f.Name(), err)
		}
		t.Oflag &^= unix.ONLCR
		if err := unix.IoctlSetTermios(fd, unix.TCSETS, t); err != nil {
			return fmt.Errorf("ioctl TCSETS on %q: %w", f.Name(), err)
		}
		return nil
	})
}

// control runs fn with f's descriptor without f.Fd(), which would switch a
// polled file to blocking mode behind the backs of its other users.
func control(f *os.File, fn func(fd int) error) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var fnErr error
	if err := rc.Control(func(fd uintptr) { fnErr = fn(int(fd)) }); err != nil {
		return err
	}
	return fnErr
}
