package cgfs

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// WriteError is a failed write to a cgroup file. Field names the spec
// field the value came from ("linux.resources.memory.limit"), so the
// message says what to change:
//
//	write "512" to /sys/fs/cgroup/memory/x/memory.limit_in_bytes (linux.resources.memory.limit): device or resource busy
type WriteError struct {
	Path  string
	Value string
	Field string
	Err   error
}

func (e *WriteError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("write %q to %s: %v", e.Value, e.Path, e.Err)
	}
	return fmt.Sprintf("write %q to %s (%s): %v", e.Value, e.Path, e.Field, e.Err)
}

func (e *WriteError) Unwrap() error { return e.Err }

// Write writes value to dir/file in one write(2), as cgroup files
// expect. It uses raw syscalls: os.File would register every cgroup file
// with the poller for nothing.
func Write(dir, file, value, field string) error {
	p := dir + "/" + file
	fd, err := openRetry(p, unix.O_WRONLY|unix.O_TRUNC|unix.O_CLOEXEC)
	if err != nil {
		return &WriteError{Path: p, Value: value, Field: field, Err: err}
	}
	defer unix.Close(fd)
	b := []byte(value)
	for {
		n, err := unix.Write(fd, b)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return &WriteError{Path: p, Value: value, Field: field, Err: err}
		}
		if n < len(b) {
			return &WriteError{Path: p, Value: value, Field: field, Err: fmt.Errorf("short write (%d of %d bytes)", n, len(b))}
		}
		return nil
	}
}

func openRetry(p string, flags int) (int, error) {
	for {
		fd, err := unix.Open(p, flags, 0)
		if err != unix.EINTR {
			return fd, err
		}
	}
}

// Read reads a cgroup file whole.
func Read(dir, file string) (string, error) {
	b, err := os.ReadFile(dir + "/" + file)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// ReadTrimmed reads a one-value file.
func ReadTrimmed(dir, file string) (string, error) {
	s, err := Read(dir, file)
	return strings.TrimSpace(s), err
}

// ReadUint reads a one-number file; "max" reads as MaxUint64.
func ReadUint(dir, file string) (uint64, error) {
	s, err := ReadTrimmed(dir, file)
	if err != nil {
		return 0, err
	}
	return ParseUint(s, dir+"/"+file)
}

// ParseUint parses a cgroup number; "max" (and v1's "-1" for unlimited)
// is MaxUint64. where names the file in the error.
func ParseUint(s, where string) (uint64, error) {
	if s == "max" {
		return ^uint64(0), nil
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		// Some v1 counters read "-1" for unlimited.
		if i, ierr := strconv.ParseInt(s, 10, 64); ierr == nil && i < 0 {
			return ^uint64(0), nil
		}
		return 0, fmt.Errorf("%s: %q is not a number", where, s)
	}
	return v, nil
}

// ReadKV reads a flat keyed file ("key value" lines, as memory.stat,
// cpu.stat, memory.events).
func ReadKV(dir, file string) (map[string]uint64, error) {
	b, err := os.ReadFile(dir + "/" + file)
	if err != nil {
		return nil, err
	}
	out := make(map[string]uint64)
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		if n, err := ParseUint(strings.TrimSpace(v), ""); err == nil {
			out[k] = n
		}
	}
	return out, nil
}

// Exists reports whether p exists.
func Exists(p string) bool {
	return unix.Access(p, unix.F_OK) == nil
}

// IsNotExist reports a missing file (or cgroup). A cgroup removed while
// its file is read (systemd removing an emptied scope as a kill's thaw
// waits on cgroup.events) fails the read with ENODEV: gone as well.
func IsNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.ENODEV) }

// Optional treats a missing file (a controller the cgroup lacks) as no
// error.
func Optional(err error) error {
	if err != nil && IsNotExist(err) {
		return nil
	}
	return err
}

// ReadPids parses dir/cgroup.procs.
func ReadPids(dir string) ([]int, error) {
	s, err := Read(dir, "cgroup.procs")
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, f := range strings.Fields(s) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("%s/cgroup.procs: %q is not a pid", dir, f)
		}
		pids = append(pids, pid)
	}
	return pids, nil
}

// ParseDevnum parses "major:minor".
func ParseDevnum(s string) (uint64, uint64, bool) {
	a, b, ok := strings.Cut(s, ":")
	if !ok {
		return 0, 0, false
	}
	maj, err1 := strconv.ParseUint(a, 10, 64)
	min, err2 := strconv.ParseUint(b, 10, 64)
	return maj, min, err1 == nil && err2 == nil
}
