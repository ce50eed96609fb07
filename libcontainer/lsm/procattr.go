package lsm

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// procRootIno is the inode number of every procfs root (PROC_ROOT_INO).
const procRootIno = 1

// Proc is a procfs root that is known to be procfs and not a bind mount of
// some directory inside one.
type Proc struct {
	fd      int
	private bool // a detached fsopen instance: no container mount can reach it
}

// OpenProc returns a private procfs instance (fsopen/fsmount, detached, so
// nothing mounted in the container can cover its files) or, when the kernel
// or the namespaces refuse that (a user namespace whose /proc is partly
// masked is "too revealing" for a new proc mount), the procfs at /proc after
// checking it is one.
func OpenProc() (*Proc, error) {
	fd, ferr := fsopenProc()
	if ferr == nil {
		return &Proc{fd: fd, private: true}, nil
	}
	fd, err := unix.Open("/proc", unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open /proc: %w (and a private procfs failed: %v)", err, ferr)
	}
	if err := checkProcRoot(fd); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("/proc: %w (and a private procfs failed: %v)", err, ferr)
	}
	return &Proc{fd: fd}, nil
}

func fsopenProc() (int, error) {
	fsfd, err := unix.Fsopen("proc", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return -1, fmt.Errorf("fsopen proc: %w", err)
	}
	defer unix.Close(fsfd)
	if err := unix.FsconfigCreate(fsfd); err != nil {
		return -1, fmt.Errorf("fsconfig create proc: %w", err)
	}
	fd, err := unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOEXEC)
	if err != nil {
		return -1, fmt.Errorf("fsmount proc: %w", err)
	}
	return fd, nil
}

func checkProcRoot(fd int) error {
	if err := checkProcfs(fd); err != nil {
		return err
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("fstat: %w", err)
	}
	if st.Ino != procRootIno {
		return fmt.Errorf("not the root of a procfs (inode %d): refusing to use it", st.Ino)
	}
	return nil
}

func checkProcfs(fd int) error {
	var fs unix.Statfs_t
	if err := unix.Fstatfs(fd, &fs); err != nil {
		return fmt.Errorf("fstatfs: %w", err)
	}
	if fs.Type != unix.PROC_SUPER_MAGIC {
		return fmt.Errorf("not on procfs (filesystem type %#x): refusing to write", fs.Type)
	}
	return nil
}

// Close releases the procfs root; files opened below it stay usable.
func (p *Proc) Close() {
	if p != nil && p.fd >= 0 {
		unix.Close(p.fd)
		p.fd = -1
	}
}

// FD is the procfs root's descriptor (for a caller that must keep it open).
func (p *Proc) FD() int { return p.fd }

// Private reports whether p is a detached instance of its own.
func (p *Proc) Private() bool { return p.private }

// OpenFile opens rel (relative to the procfs root, e.g. "sys/net/core/somaxconn")
// without following any symlink or crossing any mount, and checks the file
// it got is on procfs.
func (p *Proc) OpenFile(rel string, flags int) (int, error) {
	if err := checkRel(rel); err != nil {
		return -1, err
	}
	how := &unix.OpenHow{
		Flags:   uint64(flags | unix.O_CLOEXEC | unix.O_NOFOLLOW),
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_NO_XDEV,
	}
	fd, err := unix.Openat2(p.fd, rel, how)
	if err != nil {
		if errors.Is(err, unix.EXDEV) {
			return -1, fmt.Errorf("openat2 /proc/%s: %w (something is mounted over it)", rel, err)
		}
		return -1, fmt.Errorf("openat2 /proc/%s: %w", rel, err)
	}
	if err := checkProcfs(fd); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("/proc/%s: %w", rel, err)
	}
	return fd, nil
}

// Write writes value to rel in one write(2), as procfs wants.
func (p *Proc) Write(rel, value string) error {
	fd, err := p.OpenFile(rel, unix.O_WRONLY)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if _, err := unix.Write(fd, []byte(value)); err != nil {
		return fmt.Errorf("write %q to /proc/%s: %w", value, rel, err)
	}
	return nil
}

// checkRel keeps rel a plain relative path: the resolve flags would refuse
// an escape anyway, this gives the error a clearer cause.
func checkRel(rel string) error {
	if rel == "" || strings.HasPrefix(rel, "/") {
		return fmt.Errorf("procfs path %q: must be relative to /proc", rel)
	}
	for _, part := range strings.Split(rel, "/") {
		if part == "" || part == "." || part == ".." {
			return fmt.Errorf("procfs path %q: invalid component %q", rel, part)
		}
	}
	return nil
}

// threadAttr is the path of this thread's LSM attribute name below a procfs
// root: "<pid>/task/<tid>/attr/[<lsm>/]<name>". pid and tid are as seen in
// the caller's pid namespace, which is the procfs instance's own (fsopen) or
// the container's /proc; thread-self would be a symlink.
func threadAttr(pid, tid int, lsmDir, name string) string {
	p := fmt.Sprintf("%d/task/%d/attr/", pid, tid)
	if lsmDir != "" {
		p += lsmDir + "/"
	}
	return p + name
}

// ThreadAttr opens this thread's attribute file for writing, in the LSM's
// own directory (attr/apparmor/...) when lsmDir is set and the kernel has
// it, else the shared legacy one (attr/...). The caller must stay on this
// OS thread until it writes (runtime.LockOSThread).
func (p *Proc) ThreadAttr(lsmDir, name string) (fd int, path string, err error) {
	pid, tid := unix.Getpid(), unix.Gettid()
	if lsmDir != "" {
		path = threadAttr(pid, tid, lsmDir, name)
		fd, err = p.OpenFile(path, unix.O_WRONLY)
		if !errors.Is(err, unix.ENOENT) {
			return fd, path, err
		}
	}
	path = threadAttr(pid, tid, "", name)
	fd, err = p.OpenFile(path, unix.O_WRONLY)
	return fd, path, err
}
