package cgroups

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

// writeFile writes value to dir/file in one write(2), as cgroup files
// expect. It uses raw syscalls: os.File would register every cgroup file
// with the poller for nothing.
func writeFile(dir, file, value, field string) error {
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

// readFile reads a cgroup file whole.
func readFile(dir, file string) (string, error) {
	b, err := os.ReadFile(dir + "/" + file)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// readTrimmed reads a one-value file.
func readTrimmed(dir, file string) (string, error) {
	s, err := readFile(dir, file)
	return strings.TrimSpace(s), err
}

// readUint reads a one-number file; "max" reads as MaxUint64.
func readUint(dir, file string) (uint64, error) {
	s, err := readTrimmed(dir, file)
	if err != nil {
		return 0, err
	}
	return parseUint(s, dir+"/"+file)
}

func parseUint(s, where string) (uint64, error) {
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

// readKV reads a flat keyed file ("key value" lines, as memory.stat,
// cpu.stat, memory.events).
func readKV(dir, file string) (map[string]uint64, error) {
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
		if n, err := parseUint(strings.TrimSpace(v), ""); err == nil {
			out[k] = n
		}
	}
	return out, nil
}

func exists(p string) bool {
	return unix.Access(p, unix.F_OK) == nil
}

func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }

// readPids parses cgroup.procs.
func readPids(dir string) ([]int, error) {
	s, err := readFile(dir, "cgroup.procs")
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
