package libcontainer

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// procStat returns the state letter and start time of pid from /proc/<pid>/stat.
func procStat(pid int) (state byte, start uint64, err error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, err
	}
	// comm (field 2) may hold spaces and parentheses: fields start after the last ')'.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 || i+2 >= len(data) {
		return 0, 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	fields := bytes.Fields(data[i+2:])
	// fields[0] is field 3 (state); starttime is field 22.
	if len(fields) < 20 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	start, err = strconv.ParseUint(string(fields[19]), 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("/proc/%d/stat: starttime: %w", pid, err)
	}
	return fields[0][0], start, nil
}

// alive reports whether pid is still the process started at start and has not
// exited (a zombie has exited).
func alive(pid int, start uint64) bool {
	if pid <= 0 {
		return false
	}
	st, s, err := procStat(pid)
	if err != nil || s != start {
		return false
	}
	return st != 'Z' && st != 'X'
}

// pidfdFor opens a pidfd for pid and checks, after opening, that the pid still
// belongs to the process started at start: a pidfd then can't be redirected.
func pidfdFor(pid int, start uint64) (int, error) {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		if errors.Is(err, unix.ESRCH) {
			return -1, errProcessGone
		}
		return -1, fmt.Errorf("pidfd_open(%d): %w", pid, err)
	}
	if !alive(pid, start) {
		unix.Close(fd)
		return -1, errProcessGone
	}
	return fd, nil
}

var errProcessGone = errors.New("process has exited")

// signalProcess sends sig to the process identified by pid and start time.
func signalProcess(pid int, start uint64, sig unix.Signal) error {
	fd, err := pidfdFor(pid, start)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.PidfdSendSignal(fd, sig, nil, 0); err != nil {
		if errors.Is(err, unix.ESRCH) {
			return errProcessGone
		}
		return fmt.Errorf("pidfd_send_signal(%d, %s): %w", pid, unix.SignalName(sig), err)
	}
	return nil
}

// waitGone waits until the process has exited (pidfd readable), up to timeout.
func waitGone(pid int, start uint64, timeout time.Duration) error {
	fd, err := pidfdFor(pid, start)
	if err == errProcessGone {
		return nil
	}
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	deadline := time.Now().Add(timeout)
	for {
		ms := int(time.Until(deadline) / time.Millisecond)
		if ms <= 0 {
			return fmt.Errorf("process %d still running after %s", pid, timeout)
		}
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, ms)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("poll pidfd of %d: %w", pid, err)
		}
		if n > 0 {
			return nil
		}
	}
}
