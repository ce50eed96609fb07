package doctor

import (
	"errors"
	"fmt"
	"io"
	"os/exec"
	"syscall"

	"golang.org/x/sys/unix"
)

// spawnProbe starts a child that blocks reading its stdin (cat) with the
// given attributes, runs inspect with its pid while it is alive, and then
// lets it exit. It is how the doctor asks the kernel for clone flags
// (CLONE_NEWUSER, CLONE_INTO_CGROUP) without forking the Go runtime by
// hand.
func spawnProbe(attr *syscall.SysProcAttr, inspect func(pid int) error) error {
	bin, err := exec.LookPath("cat")
	if err != nil {
		return fmt.Errorf("not probed: no cat in PATH to start a probe child")
	}
	cmd := exec.Command(bin)
	cmd.SysProcAttr = attr
	// Not /dev/null, which exec.Cmd would open for a nil writer: the
	// doctor may run where /dev is empty (a bare chroot or container).
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		stdin.Close()
		return err
	}
	var ierr error
	if inspect != nil {
		ierr = inspect(cmd.Process.Pid)
	}
	stdin.Close()
	cmd.Wait()
	return ierr
}

// errnoOf digs the errno out of an error chain.
func errnoOf(err error) (unix.Errno, bool) {
	var errno unix.Errno
	if errors.As(err, &errno) {
		return errno, true
	}
	return 0, false
}

// errnoText words an error with its errno's name, the form a person can
// search for: "ENOSPC (no space left on device)" for a bare errno,
// "EROFS: open /x: read-only file system" for one with context.
func errnoText(err error) string {
	errno, ok := errnoOf(err)
	name := unix.ErrnoName(errno)
	switch {
	case !ok || name == "":
		return err.Error()
	case err == error(errno):
		return fmt.Sprintf("%s (%v)", name, errno)
	}
	return name + ": " + err.Error()
}

// blocked words a syscall error: ENOSYS is an old kernel (or a seccomp
// filter pretending to be one), EPERM usually a filter or missing
// privilege.
func (h *host) blocked(err error) string {
	s := errnoText(err)
	errno, _ := errnoOf(err)
	if (errno == unix.ENOSYS || errno == unix.EPERM) && h.seccompMode != "" && h.seccompMode != "0" {
		s += "; berth runs under seccomp mode " + h.seccompMode + ", whose filter may be the one refusing"
	} else if errno == unix.ENOSYS {
		s += ": not in this kernel"
	}
	return s
}
