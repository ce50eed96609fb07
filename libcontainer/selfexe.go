package libcontainer

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// selfExe returns an O_PATH fd of berth's own binary that the container can
// never write through (CVE-2019-5736: a container that gets /proc/<pid>/exe of
// a berth process could otherwise overwrite the host's binary). The binary is
// reached through a private, detached, read-only bind mount (open_tree +
// mount_setattr): the mount is attached to no namespace, costs a few syscalls
// and no copy. Where the kernel lacks the new mount API, a sealed memfd copy
// is the fallback. A rootless caller needs neither where only root can
// write the binary and the container's ids cannot reach root's
// (onlyRootWrites, with the container's user namespace u).
//
// BERTH_SELF_EXE=plain (no protection) or =memfd (the copy, as runc 1.1
// did) exist only so that `make bench` can measure what the protection
// costs; nothing else sets them.
func selfExe(u containerIDs) (*os.File, error) {
	switch os.Getenv("BERTH_SELF_EXE") {
	case "plain":
		return os.OpenFile("/proc/self/exe", unix.O_PATH|unix.O_CLOEXEC, 0)
	case "memfd":
		return sealedCopy()
	}
	if f, err := os.OpenFile("/proc/self/exe", unix.O_PATH|unix.O_CLOEXEC, 0); err == nil {
		var st unix.Stat_t
		var sfs unix.Statfs_t
		if unix.Fstat(int(f.Fd()), &st) == nil && unix.Fstatfs(int(f.Fd()), &sfs) == nil &&
			onlyRootWrites(&st, sfs.Type, os.Geteuid(), u) {
			return f, nil
		}
		f.Close()
	}
	fd, err := unix.OpenTree(unix.AT_FDCWD, "/proc/self/exe", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if err == nil {
		attr := &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV}
		if err = unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH, attr); err == nil {
			return os.NewFile(uintptr(fd), "berth-ro"), nil
		}
		unix.Close(fd)
	}
	slog.Debug("read-only bind of berth's binary unavailable; copying it to a sealed memfd", "err", err)
	return sealedCopy()
}

// containerIDs is what the container's processes run as on the host: a
// user namespace of its own (linux.namespaces "user" without a path),
// whose host ids are uidMaps (linux.uidMappings, which berth wrote).
type containerIDs struct {
	newUserNS bool
	uidMaps   []specs.LinuxIDMapping
}

// containerIDsOf reads containerIDs from the container's namespaces and
// uid mappings.
func containerIDsOf(nss []specs.LinuxNamespace, uidMaps []specs.LinuxIDMapping) containerIDs {
	for _, ns := range nss {
		if ns.Type == specs.UserNamespace {
			return containerIDs{newUserNS: ns.Path == "", uidMaps: uidMaps}
		}
	}
	return containerIDs{}
}

// onlyRootWrites reports whether a caller with effective uid euid needs
// no protected copy of its binary, whose status is st: not root (a rootless
// caller, which may make no mount and would otherwise copy the binary on
// every create and exec, ~10 ms), the binary root's with no group or
// other write bit (no POSIX ACL mask that lets anyone else write either),
// and every process of the container in a user namespace of its own (u)
// that does not map the binary's owner. Such a process runs as a host id
// other than the owner's, and its capabilities hold only for inodes whose
// owner its namespace maps: none can open the file for writing, through
// /proc/<pid>/exe or otherwise. Without a new user namespace (none: a
// caller with file capabilities may make a container without one; or a
// joined one, whose maps berth did not write) a process of the container
// may be root on the host or hold its capabilities there. The mode bits
// say who may write only where the kernel enforces them: a FUSE
// filesystem (fsType, the binary's) mounted without default_permissions
// leaves that to its server, which a user may run.
func onlyRootWrites(st *unix.Stat_t, fsType int64, euid int, u containerIDs) bool {
	if euid == 0 || st.Uid != 0 || st.Mode&unix.S_IFMT != unix.S_IFREG || st.Mode&0o022 != 0 || !u.newUserNS ||
		fsType == unix.FUSE_SUPER_MAGIC {
		return false
	}
	for _, m := range u.uidMaps {
		if uint64(st.Uid) >= uint64(m.HostID) && uint64(st.Uid) < uint64(m.HostID)+uint64(m.Size) {
			return false
		}
	}
	return true
}

func sealedCopy() (*os.File, error) {
	src, err := os.Open("/proc/self/exe")
	if err != nil {
		return nil, fmt.Errorf("open own binary: %w", err)
	}
	defer src.Close()
	mfd, err := unix.MemfdCreate("berth", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, fmt.Errorf("memfd_create: %w", err)
	}
	dst := os.NewFile(uintptr(mfd), "berth-memfd")
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return nil, fmt.Errorf("copy own binary to memfd: %w", err)
	}
	seals := unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if _, err := unix.FcntlInt(uintptr(mfd), unix.F_ADD_SEALS, seals); err != nil {
		dst.Close()
		return nil, fmt.Errorf("seal memfd: %w", err)
	}
	return dst, nil
}

// exeFor returns a copy of f at an fd number that the child's fd shuffle
// cannot reach, and the path through which the child execs it. Go's
// forkExec moves fds that sit below their ExtraFiles slot up to numbers
// from len(files) on; an exe fd there would be overwritten before execve
// (seen as EACCES: the child exec'd a pty). nfiles is 3+len(ExtraFiles).
func exeFor(f *os.File, nfiles int) (*os.File, string, error) {
	fd, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, 2*nfiles+16)
	if err != nil {
		return nil, "", fmt.Errorf("dup berth's binary fd: %w", err)
	}
	return os.NewFile(uintptr(fd), f.Name()), "/proc/self/fd/" + strconv.Itoa(fd), nil
}
