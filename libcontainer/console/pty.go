// Package console is the pty plumbing behind process.terminal: creating the
// pair inside the container, handing the master to whoever holds the
// console socket (containerd, conmon, or berth itself), and relaying it to
// a local terminal.
package console

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// NewPty opens a new pty pair through ptmx (the container's "/dev/ptmx"
// once its devpts is mounted and the root pivoted), unlocks it and opens the
// slave. slavePath is where the slave appears, "/dev/pts/N".
//
// Both ends are blocking. The master goes to a receiver as it is, and
// O_NONBLOCK lives on the open file description, so it would be the
// receiver's too: one that reads without polling would see EAGAIN and close
// it. runc hands it over blocking; receivers that poll set it themselves.
func NewPty(ptmx string) (master *os.File, slave *os.File, slavePath string, err error) {
	mfd, err := unix.Open(ptmx, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, "", fmt.Errorf("open %q: %w", ptmx, err)
	}
	master = os.NewFile(uintptr(mfd), ptmx)
	defer func() {
		if err != nil {
			master.Close()
		}
	}()
	if err := unix.IoctlSetPointerInt(mfd, unix.TIOCSPTLCK, 0); err != nil {
		return nil, nil, "", fmt.Errorf("ioctl TIOCSPTLCK on %q: %w", ptmx, err)
	}
	n, err := unix.IoctlGetUint32(mfd, unix.TIOCGPTN)
	if err != nil {
		return nil, nil, "", fmt.Errorf("ioctl TIOCGPTN on %q: %w", ptmx, err)
	}
	slavePath = "/dev/pts/" + strconv.FormatUint(uint64(n), 10)

	// TIOCGPTPEER opens the slave from the master itself, so a path that
	// the container could have swapped is never looked up.
	sfd, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(mfd), unix.TIOCGPTPEER,
		uintptr(unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC))
	switch {
	case errno == 0:
		return master, os.NewFile(sfd, slavePath), slavePath, nil
	case errno != unix.EINVAL && errno != unix.ENOTTY:
		return nil, nil, "", fmt.Errorf("ioctl TIOCGPTPEER on %q: %w", ptmx, errno)
	}
	// Kernels before 4.13: open the slave by name, in the devpts that
	// ptmx belongs to.
	path := peerPath(ptmx, n)
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, "", fmt.Errorf("open pty slave %q: %w", path, err)
	}
	return master, os.NewFile(uintptr(fd), slavePath), slavePath, nil
}

// peerPath is the slave's path next to ptmx: ".../pts/ptmx" lives in the
// devpts itself, ".../ptmx" beside a "pts" directory.
func peerPath(ptmx string, n uint32) string {
	dir := filepath.Dir(ptmx)
	if filepath.Base(dir) != "pts" {
		dir = filepath.Join(dir, "pts")
	}
	return filepath.Join(dir, strconv.FormatUint(uint64(n), 10))
}

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

// SetControlling makes slave the controlling terminal of the calling
// process, in a new session, and its stdin, stdout and stderr. If slave's
// own descriptor is 0, 1 or 2 it stays in use as stdio, so the caller must
// not close it then.
func SetControlling(slave *os.File) error {
	if _, err := unix.Setsid(); err != nil {
		// A process already leading its own session can take a terminal
		// as it is; any other group leader cannot.
		if !errors.Is(err, unix.EPERM) || !isSessionLeader() {
			return fmt.Errorf("setsid: %w", err)
		}
	}
	return control(slave, func(fd int) error {
		if err := unix.IoctlSetInt(fd, unix.TIOCSCTTY, 0); err != nil {
			return fmt.Errorf("ioctl TIOCSCTTY on %q: %w", slave.Name(), err)
		}
		for target := range 3 {
			if fd == target {
				// dup3 refuses equal descriptors; clearing close-on-exec
				// is what the dup would have achieved.
				if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFD, 0); err != nil {
					return fmt.Errorf("fcntl F_SETFD on fd %d: %w", fd, err)
				}
				continue
			}
			if err := unix.Dup3(fd, target, 0); err != nil {
				return fmt.Errorf("dup3 %q onto fd %d: %w", slave.Name(), target, err)
			}
		}
		return nil
	})
}

func isSessionLeader() bool {
	sid, err := unix.Getsid(0)
	return err == nil && sid == unix.Getpid()
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
