package libcontainer

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"berth/rootfs"
)

// idmappedMounts makes, on the host side, the detached idmapped mount of
// each rootfs.Idmaps entry: the source cloned with open_tree, then
// mount_setattr(MOUNT_ATTR_IDMAP) with a user namespace holding the
// mount's mappings. Both need privilege over the source's filesystem,
// which the container's own user namespace would not have. The init gets
// the mounts as inherited fds and moves them into place (OpIdmapFD).
// It returns the files in mount order with the mount index of each.
func idmappedMounts(c *rootfs.Config) ([]*os.File, []int, error) {
	ims, err := rootfs.Idmaps(c)
	if err != nil || len(ims) == 0 {
		return nil, nil, err
	}
	var files []*os.File
	var index []int
	fail := func(err error) ([]*os.File, []int, error) {
		for _, f := range files {
			f.Close()
		}
		return nil, nil, err
	}
	userns := map[string]*os.File{} // one per distinct mapping
	defer func() {
		for _, f := range userns {
			f.Close()
		}
	}()
	for _, im := range ims {
		key := idMapText(im.UID) + "|" + idMapText(im.GID)
		ns, ok := userns[key]
		if !ok {
			if ns, err = mappingUserns(im.UID, im.GID); err != nil {
				return fail(fmt.Errorf("%s: user namespace for uidMappings/gidMappings: %w", im.Field, err))
			}
			userns[key] = ns
		}
		flags := unix.OPEN_TREE_CLONE | unix.OPEN_TREE_CLOEXEC
		if im.Tree {
			flags |= unix.AT_RECURSIVE
		}
		fd, err := unix.OpenTree(unix.AT_FDCWD, im.Source, uint(flags))
		if err != nil {
			return fail(fmt.Errorf("%s: idmapped mount of %q: open_tree: %w", im.Field, im.Source, err))
		}
		f := os.NewFile(uintptr(fd), "idmapped "+im.Source)
		files = append(files, f)
		index = append(index, im.Index)
		at := unix.AT_EMPTY_PATH
		if im.Recursive {
			at |= unix.AT_RECURSIVE
		}
		attr := &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_IDMAP, Userns_fd: uint64(ns.Fd())}
		if err := unix.MountSetattr(fd, "", uint(at), attr); err != nil {
			return fail(fmt.Errorf("%s: idmapped mount of %q: mount_setattr MOUNT_ATTR_IDMAP (does its filesystem support idmapped mounts?): %w", im.Field, im.Source, err))
		}
	}
	return files, index, nil
}

// idMapText is a mapping as uid_map holds it, one range a line.
func idMapText(m []specs.LinuxIDMapping) string {
	var b strings.Builder
	for _, e := range m {
		b.WriteString(strconv.FormatUint(uint64(e.ContainerID), 10) + " " + strconv.FormatUint(uint64(e.HostID), 10) + " " +
			strconv.FormatUint(uint64(e.Size), 10) + "\n")
	}
	return b.String()
}

// mappingUserns returns a user namespace with the given mappings, made
// by a child that never runs: it is started traced, so the kernel stops
// it at its execve, its namespace is opened, and it is killed.
func mappingUserns(uid, gid []specs.LinuxIDMapping) (*os.File, error) {
	conv := func(m []specs.LinuxIDMapping) []syscall.SysProcIDMap {
		var out []syscall.SysProcIDMap
		for _, e := range m {
			out = append(out, syscall.SysProcIDMap{ContainerID: int(e.ContainerID), HostID: int(e.HostID), Size: int(e.Size)})
		}
		return out
	}
	// The tracer is this thread until the child is reaped.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cmd := exec.Command("/proc/self/exe")
	cmd.Args = []string{"berth-idmap"}
	cmd.Env = []string{}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER,
		UidMappings: conv(uid),
		GidMappings: conv(gid),
		Ptrace:      true,
		Pdeathsig:   syscall.SIGKILL,
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	f, err := os.Open("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/ns/user")
	if err != nil {
		return nil, err
	}
	return f, nil
}
