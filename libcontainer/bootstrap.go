package libcontainer

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"berth/nsenter"
)

// nsFlags maps OCI namespace types to clone flags and the names the stub uses.
var nsFlags = map[specs.LinuxNamespaceType]struct {
	flag uintptr
	name string
	proc string // name under /proc/<pid>/ns
}{
	specs.UserNamespace:    {unix.CLONE_NEWUSER, "user", "user"},
	specs.MountNamespace:   {unix.CLONE_NEWNS, "mount", "mnt"},
	specs.PIDNamespace:     {unix.CLONE_NEWPID, "pid", "pid"},
	specs.NetworkNamespace: {unix.CLONE_NEWNET, "network", "net"},
	specs.IPCNamespace:     {unix.CLONE_NEWIPC, "ipc", "ipc"},
	specs.UTSNamespace:     {unix.CLONE_NEWUTS, "uts", "uts"},
	specs.CgroupNamespace:  {unix.CLONE_NEWCGROUP, "cgroup", "cgroup"},
	specs.TimeNamespace:    {unix.CLONE_NEWTIME, "time", "time"},
}

// nsPlan is what the stub must do: namespaces to create and to join.
type nsPlan struct {
	cloneFlags uint32
	join       []string // "type:path"
	timens     string
	exec       []byte // the exec record the stub finishes in C (exec_c.go), or nil
	cinit      bool   // the init runs in C from a plan sent after the pid (cinit.go)
	// cgroupJoin: cgroup v1 tasks files the stub writes "0" to first (Manager.JoinFiles).
	cgroupJoin []string
	// rootFD, when not 0, is the stub's fd of a directory to chroot into
	// after the joins (exec into a container without a mount namespace).
	rootFD int
}

func (p *nsPlan) has(t specs.LinuxNamespaceType) bool {
	return p.cloneFlags&uint32(nsFlags[t].flag) != 0
}

// userNS: the container has a user namespace of its own, new or joined.
func (p *nsPlan) userNS() bool { return p.has(specs.UserNamespace) || joins(p, "user") }

func planNamespaces(l *specs.Linux) (*nsPlan, error) {
	p := &nsPlan{}
	if l == nil {
		return p, nil
	}
	for i, ns := range l.Namespaces {
		f, ok := nsFlags[ns.Type]
		if !ok {
			return nil, fmt.Errorf("linux.namespaces[%d].type %q: unknown namespace type", i, ns.Type)
		}
		if ns.Path == "" {
			p.cloneFlags |= uint32(f.flag)
			continue
		}
		if strings.ContainsRune(ns.Path, 0) {
			return nil, fmt.Errorf("linux.namespaces[%d].path %q: invalid", i, ns.Path)
		}
		p.join = append(p.join, f.name+":"+ns.Path)
	}
	if p.has(specs.TimeNamespace) && len(l.TimeOffsets) > 0 {
		// Sorted so the text is the same every time.
		names := make([]string, 0, len(l.TimeOffsets))
		for k := range l.TimeOffsets {
			names = append(names, k)
		}
		sort.Strings(names)
		var b strings.Builder
		for _, k := range names {
			o := l.TimeOffsets[k]
			fmt.Fprintf(&b, "%s %d %d\n", k, o.Secs, o.Nanosecs)
		}
		p.timens = b.String()
	}
	return p, nil
}

func (p *nsPlan) encode() []byte {
	var body bytes.Buffer
	rec := func(typ uint32, payload []byte) {
		binary.Write(&body, binary.NativeEndian, typ)
		binary.Write(&body, binary.NativeEndian, uint32(len(payload)))
		body.Write(payload)
	}
	flags := make([]byte, 4)
	binary.NativeEndian.PutUint32(flags, p.cloneFlags)
	rec(nsenter.BootstrapCloneFlags, flags)
	if len(p.join) > 0 {
		var paths []byte
		for _, j := range p.join {
			paths = append(paths, j...)
			paths = append(paths, 0)
		}
		rec(nsenter.BootstrapNsPaths, paths)
	}
	if p.timens != "" {
		rec(nsenter.BootstrapTimens, []byte(p.timens))
	}
	if p.exec != nil {
		rec(nsenter.BootstrapExec, p.exec)
	}
	if p.cinit {
		rec(nsenter.BootstrapInit, nil)
	}
	if len(p.cgroupJoin) > 0 {
		var files []byte
		for _, f := range p.cgroupJoin {
			files = append(append(files, f...), 0)
		}
		rec(nsenter.BootstrapCgroupJoin, files)
	}
	if p.rootFD != 0 {
		fd := make([]byte, 4)
		binary.NativeEndian.PutUint32(fd, uint32(p.rootFD))
		rec(nsenter.BootstrapRootFD, fd)
	}
	out := make([]byte, 4, 4+body.Len())
	binary.NativeEndian.PutUint32(out, uint32(body.Len()))
	return append(out, body.Bytes()...)
}

// stubExchange sends the bootstrap and serves the stub until it reports the
// pid that goes on into Go. writeMaps is called when the stub has unshared
// a user namespace.
func stubExchange(sock *os.File, plan *nsPlan, writeMaps func(pid int) error) (int, error) {
	if _, err := sock.Write(plan.encode()); err != nil {
		return 0, fmt.Errorf("send bootstrap to init: %w", err)
	}
	for {
		tag, val, err := readSync(sock)
		if err != nil {
			return 0, fmt.Errorf("container init exited before reporting its pid: %w", err)
		}
		switch tag {
		case nsenter.SyncUsermap:
			if err := writeMaps(int(val)); err != nil {
				return 0, err
			}
			ack := make([]byte, 4)
			binary.NativeEndian.PutUint32(ack, nsenter.SyncUsermapAck)
			if _, err := sock.Write(ack); err != nil {
				return 0, fmt.Errorf("ack uid/gid maps: %w", err)
			}
		case nsenter.SyncPid:
			return int(val), nil
		case nsenter.SyncErr:
			return 0, readStubError(sock, val)
		default:
			return 0, fmt.Errorf("container init: unexpected sync tag %#x", tag)
		}
	}
}

// readSync reads one sync header of the stub (nsenter.c): tag and value.
func readSync(sock io.Reader) (tag, val uint32, err error) {
	var hdr [8]byte
	if _, err := io.ReadFull(sock, hdr[:]); err != nil {
		return 0, 0, err
	}
	return binary.NativeEndian.Uint32(hdr[:4]), binary.NativeEndian.Uint32(hdr[4:]), nil
}

// readStubError reads the size bytes of a SyncErr report and returns them
// as the error.
func readStubError(sock io.Reader, size uint32) error {
	if size > 64<<10 {
		return fmt.Errorf("container init: error message of %d bytes", size)
	}
	msg := make([]byte, size)
	if _, err := io.ReadFull(sock, msg); err != nil {
		return fmt.Errorf("container init failed (message lost: %w)", err)
	}
	return errors.New(string(msg))
}

func formatIDMap(m []specs.LinuxIDMapping) []byte {
	var b []byte
	for _, e := range m {
		b = strconv.AppendUint(b, uint64(e.ContainerID), 10)
		b = append(b, ' ')
		b = strconv.AppendUint(b, uint64(e.HostID), 10)
		b = append(b, ' ')
		b = strconv.AppendUint(b, uint64(e.Size), 10)
		b = append(b, '\n')
	}
	return b
}

// writeIDMaps writes the container's uid and gid maps for pid. berth runs as
// root, so no setgroups deny is needed (runc does the same for root).
func writeIDMaps(pid int, l *specs.Linux) error {
	base := "/proc/" + strconv.Itoa(pid) + "/"
	if err := os.WriteFile(base+"uid_map", formatIDMap(l.UIDMappings), 0); err != nil {
		return fmt.Errorf("write uid_map (linux.uidMappings): %w", unwrapPathErr(err))
	}
	if err := os.WriteFile(base+"gid_map", formatIDMap(l.GIDMappings), 0); err != nil {
		return fmt.Errorf("write gid_map (linux.gidMappings): %w", unwrapPathErr(err))
	}
	return nil
}

func unwrapPathErr(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}
