// Package hooks runs OCI lifecycle hooks.
package hooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// How much of a failed hook's output goes into the error.
const (
	tailBytes = 4096
	tailLines = 3
)

// Run runs the hooks of one kind ("prestart", "createRuntime",
// "createContainer", "startContainer", "poststart", "poststop") in order,
// each with the marshalled state on stdin. The first hook that fails, times
// out or cannot be started stops the rest; the error names the kind, the
// index in the spec list and the path. Whether a failure is fatal is up to
// the caller.
func Run(kind string, hooks []specs.Hook, state *specs.State) error {
	if len(hooks) == 0 {
		return nil
	}
	stateJSON, err := json.Marshal(state)
	if err != nil {
		return fmt.Errorf("%s hooks: marshal state: %w", kind, err)
	}
	for i, h := range hooks {
		if err := runOne(h, stateJSON); err != nil {
			return fmt.Errorf("%s hook [%d] %q: %w", kind, i, h.Path, err)
		}
	}
	return nil
}

func runOne(h specs.Hook, stateJSON []byte) error {
	if !filepath.IsAbs(h.Path) {
		return errors.New("path must be absolute")
	}
	ctx := context.Background()
	var timeout time.Duration
	if h.Timeout != nil {
		if *h.Timeout <= 0 {
			return fmt.Errorf("timeout must be greater than zero, got %d", *h.Timeout)
		}
		timeout = time.Duration(*h.Timeout) * time.Second
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}

	// Memory files rather than pipes: exec.Cmd then starts no copying
	// goroutines, so Wait returns as soon as the hook exits even if it left
	// a daemon holding its stdio, and a hook that never reads stdin cannot
	// block us on a full pipe.
	stdin, err := memFile("hook-stdin")
	if err != nil {
		return err
	}
	defer stdin.Close()
	if _, err := stdin.Write(stateJSON); err != nil {
		return fmt.Errorf("write state to memfd: %w", err)
	}
	if _, err := stdin.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("rewind state memfd: %w", err)
	}
	stdout, err := memFile("hook-stdout")
	if err != nil {
		return err
	}
	defer stdout.Close()
	stderr, err := memFile("hook-stderr")
	if err != nil {
		return err
	}
	defer stderr.Close()

	args := h.Args
	if len(args) == 0 {
		args = []string{h.Path}
	}
	env := h.Env
	if env == nil {
		// A nil Env would make exec.Cmd pass our own environment; the
		// spec gives the hook exactly what it lists.
		env = []string{}
	}
	cmd := exec.CommandContext(ctx, h.Path)
	cmd.Args = args
	cmd.Env = env
	cmd.Stdin = stdin
	cmd.Stdout = stdout
	cmd.Stderr = stderr
	// Its own process group so a timeout also kills whatever a shell-script
	// hook has spawned, instead of leaving it running.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		return unix.Kill(-cmd.Process.Pid, unix.SIGKILL)
	}

	err = cmd.Run()
	if err == nil {
		return nil
	}
	if ctx.Err() == context.DeadlineExceeded {
		return fmt.Errorf("timed out after %s", timeout)
	}
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) {
		return err
	}
	out := tail(stderr)
	if out == "" {
		out = tail(stdout)
	}
	if out == "" {
		return err
	}
	return fmt.Errorf("%w: %s", err, out)
}

func memFile(name string) (*os.File, error) {
	fd, err := unix.MemfdCreate(name, unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("memfd_create %q: %w", name, err)
	}
	return os.NewFile(uintptr(fd), "memfd:"+name), nil
}

// tail returns the last few non-empty lines of f joined by "; ": the end of
// a failing hook's output is usually where it says why.
func tail(f *os.File) string {
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil || size == 0 {
		return ""
	}
	off := max(size-tailBytes, 0)
	buf := make([]byte, size-off)
	n, _ := f.ReadAt(buf, off)
	text := string(buf[:n])
	if off > 0 {
		// Drop the partial first line the cut landed in.
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			text = text[i+1:]
		}
	}
	var lines []string
	for _, l := range strings.Split(text, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > tailLines {
		lines = lines[len(lines)-tailLines:]
	}
	return strings.Join(lines, "; ")
}
