package console

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// maxRecvFds is how many descriptors RecvFd makes room for: one is
// expected, the spare room lets it close extras rather than have the
// kernel truncate the message and leak them into nowhere.
const maxRecvFds = 8

// nameBufSize bounds the name sent with the descriptor; the receivers
// engines use (containerd's console.RecvFd) read at most this much.
const nameBufSize = 4096

// RecvFd receives one descriptor sent on sock as the console socket
// protocol does (one message: the name, SCM_RIGHTS the descriptor); the returned file
// is named by the message payload.
func RecvFd(sock *os.File) (*os.File, error) {
	buf := make([]byte, nameBufSize)
	oob := make([]byte, unix.CmsgSpace(maxRecvFds*4))
	var n, oobn, flags int
	err := readRaw(sock, func(fd int) error {
		var err error
		n, oobn, flags, _, err = unix.Recvmsg(fd, buf, oob, unix.MSG_CMSG_CLOEXEC)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("recvmsg on %q: %w", sock.Name(), err)
	}
	fds, err := parseRights(oob[:oobn])
	if err == nil && flags&unix.MSG_CTRUNC != 0 {
		err = errors.New("control message truncated")
	}
	if err == nil && len(fds) != 1 {
		if n == 0 && oobn == 0 {
			err = errors.New("connection closed before a descriptor arrived")
		} else {
			err = fmt.Errorf("got %d descriptors, want 1", len(fds))
		}
	}
	if err != nil {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return nil, fmt.Errorf("receive fd on %q: %w", sock.Name(), err)
	}
	return os.NewFile(uintptr(fds[0]), string(buf[:n])), nil
}

// parseRights returns every descriptor in the control messages, so that
// all of them can be closed when the message is not what we expect.
func parseRights(oob []byte) ([]int, error) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, fmt.Errorf("parse control message: %w", err)
	}
	var fds []int
	for i := range msgs {
		if msgs[i].Header.Level != unix.SOL_SOCKET || msgs[i].Header.Type != unix.SCM_RIGHTS {
			continue
		}
		got, err := unix.ParseUnixRights(&msgs[i])
		if err != nil {
			return fds, fmt.Errorf("parse SCM_RIGHTS: %w", err)
		}
		fds = append(fds, got...)
	}
	return fds, nil
}

// Dial connects to the unix stream socket at path (--console-socket) and
// returns the connection as a file, ready to hand to a child process.
func Dial(path string) (*os.File, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("socket AF_UNIX for console socket %q: %w", path, err)
	}
	if err := connect(fd, path); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("connect to console socket %q: %w", path, err)
	}
	return os.NewFile(uintptr(fd), path), nil
}

// sunPathMax is the size of sockaddr_un.sun_path, NUL included.
const sunPathMax = 108

func connect(fd int, path string) error {
	if len(path) < sunPathMax {
		return unix.Connect(fd, &unix.SockaddrUnix{Name: path})
	}
	// Too long for sockaddr_un: reach the socket through an O_PATH handle
	// on its directory, which keeps the address short.
	dir, err := unix.Open(filepath.Dir(path), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open directory of long socket path: %w", err)
	}
	defer unix.Close(dir)
	short := "/proc/self/fd/" + strconv.Itoa(dir) + "/" + filepath.Base(path)
	if len(short) >= sunPathMax {
		return fmt.Errorf("socket name longer than %d bytes", sunPathMax-1)
	}
	return unix.Connect(fd, &unix.SockaddrUnix{Name: short})
}

// readRaw runs a syscall on f's descriptor, waiting in the
// poller when f is non-blocking and the syscall would block.
func readRaw(f *os.File, fn func(fd int) error) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var opErr error
	err = rc.Read(func(fd uintptr) bool {
		opErr = fn(int(fd))
		return opErr != unix.EAGAIN
	})
	if err != nil {
		return err
	}
	return opErr
}
