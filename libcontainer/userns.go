package libcontainer

import (
	"errors"
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// A container with a user namespace of its own needs that namespace to be
// allowed to make a procfs of the container's pid namespace: the init makes
// one for itself first thing (nsenter/cinit.c open_proc,
// rootfs.EnterOwnProc: every magic link it uses goes through it), and the
// kernel lets a process make a procfs only with CAP_SYS_ADMIN in the user
// namespace that owns the pid namespace it shows. A new pid namespace is
// made after the user namespace and belongs to it; a joined one, or berth's
// own when the spec has none, must belong to the container's user namespace
// or to one inside it. A new user namespace owns nothing made before it.
//
// Where it does not, the init cannot start, and neither could a "proc"
// mount. There is no safe stand-in: a procfs the stub made before entering
// the user namespace would show the pid namespace berth runs in, with
// processes the container cannot see, to a process any of the container's
// could reach through the waiting init's /proc/1/fd. So create refuses the
// spec, naming what to change, before anything is made.

// checkUserNSProcfs is that rule on the spec's namespaces; owns answers
// whether the user namespace at userPath owns (itself or through one inside
// it) the pid namespace at pidPath.
func checkUserNSProcfs(l *specs.Linux, owns func(userPath, pidPath string) (bool, error)) error {
	if l == nil {
		return nil
	}
	userIdx, pidIdx := -1, -1
	for i, ns := range l.Namespaces {
		switch ns.Type {
		case specs.UserNamespace:
			userIdx = i
		case specs.PIDNamespace:
			pidIdx = i
		}
	}
	if userIdx < 0 || pidIdx >= 0 && l.Namespaces[pidIdx].Path == "" {
		return nil
	}
	user := l.Namespaces[userIdx]
	pidPath, field := "/proc/self/ns/pid", "linux.namespaces"
	if pidIdx >= 0 {
		pidPath = l.Namespaces[pidIdx].Path
		field = fmt.Sprintf("linux.namespaces[%d].path %q", pidIdx, pidPath)
	}
	if user.Path != "" {
		ok, err := owns(user.Path, pidPath)
		if err != nil || ok {
			// A path that cannot be opened is the stub's to report.
			return nil
		}
	}
	whose := "the container's new user namespace"
	if user.Path != "" {
		whose = fmt.Sprintf("the joined user namespace %q", user.Path)
	}
	if pidIdx < 0 {
		return fmt.Errorf("%s: without a pid namespace of its own the container is in berth's, of which %s may not make a procfs (the init needs one of its own): add a new \"pid\" namespace", field, whose)
	}
	fix := "join the user namespace that owns it too, or make the pid namespace new"
	if user.Path != "" {
		fix = "join a pid namespace of that user namespace, or make the pid namespace new"
	}
	return fmt.Errorf("%s: the pid namespace does not belong to %s, which may not make a procfs of it (the init needs one of its own): %s", field, whose, fix)
}

// userNSOwnsPidNS walks up from the user namespace that owns the pid
// namespace at pidPath (NS_GET_USERNS, then NS_GET_PARENT) looking for the
// one at userPath.
func userNSOwnsPidNS(userPath, pidPath string) (bool, error) {
	var want unix.Stat_t
	if err := unix.Stat(userPath, &want); err != nil {
		return false, err
	}
	pid, err := unix.Open(pidPath, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return false, err
	}
	fd, err := unix.IoctlRetInt(pid, unix.NS_GET_USERNS)
	unix.Close(pid)
	if err != nil {
		return false, err
	}
	for {
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			unix.Close(fd)
			return false, err
		}
		if st.Dev == want.Dev && st.Ino == want.Ino {
			unix.Close(fd)
			return true, nil
		}
		parent, err := unix.IoctlRetInt(fd, unix.NS_GET_PARENT)
		unix.Close(fd)
		if errors.Is(err, unix.EPERM) {
			// Above the top, or outside berth's own user namespace.
			return false, nil
		}
		if err != nil {
			return false, err
		}
		fd = parent
	}
}
