package libcontainer

import (
	"berth/nsenter"
	"encoding/binary"
	"encoding/json"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

var notifySeccomp = &specs.LinuxSeccomp{
	DefaultAction: specs.ActAllow,
	Syscalls:      []specs.LinuxSyscall{{Names: []string{"mkdir"}, Action: specs.ActNotify}},
}

// TestFdConnKeepsDescriptor: a message that carries a descriptor, sent
// right behind another one, decodes in order and leaves the descriptor for
// take; read(2) would have closed it.
func TestFdConnKeepsDescriptor(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	parent := os.NewFile(uintptr(fds[0]), "parent")
	child := os.NewFile(uintptr(fds[1]), "child")
	defer parent.Close()

	if syncConn(parent, &specs.LinuxSeccomp{DefaultAction: specs.ActAllow}) != io.ReadWriter(parent) {
		t.Fatal("syncConn wraps the socket although nothing notifies")
	}
	conn := syncConn(parent, notifySeccomp)

	passed, err := os.Open("/dev/null")
	if err != nil {
		t.Fatal(err)
	}
	defer passed.Close()
	// As the C init sends them: a plain tag, then the listener's tag with
	// the fd in the same sendmsg.
	tag := func(t, v uint32) []byte {
		return binary.NativeEndian.AppendUint32(binary.NativeEndian.AppendUint32(nil, t), v)
	}
	if _, err := child.Write(tag(nsenter.SyncHooks, 0)); err != nil {
		t.Fatal(err)
	}
	if err := unix.Sendmsg(int(child.Fd()), tag(nsenter.SyncSeccomp, 0), unix.UnixRights(int(passed.Fd())), nil, 0); err != nil {
		t.Fatal(err)
	}
	for _, want := range []uint32{nsenter.SyncHooks, nsenter.SyncSeccomp} {
		if got, _, err := readSync(conn); err != nil || got != want {
			t.Fatalf("tag %#x, %v; want %#x", got, err, want)
		}
	}
	got := conn.(*fdConn).take()
	if got < 0 {
		t.Fatal("the descriptor sent with the message was not kept")
	}
	var a, b unix.Stat_t
	unix.Fstat(got, &a)
	unix.Fstat(int(passed.Fd()), &b)
	unix.Close(got)
	if a.Ino != b.Ino || a.Rdev != b.Rdev {
		t.Errorf("received fd is not the one sent")
	}
	child.Close()
	if _, _, err := readSync(conn); err != io.EOF {
		t.Fatalf("after the init closed its end: %v, want EOF", err)
	}
}

// TestSendProcessState: one connection, the JSON state and the fd (named
// seccompFd) arrive together; an absent agent is an error naming connect.
func TestSendProcessState(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "agent.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type got struct {
		st   specs.ContainerProcessState
		nfds int
		err  error
	}
	res := make(chan got, 1)
	go func() {
		c, err := ln.AcceptUnix()
		if err != nil {
			res <- got{err: err}
			return
		}
		defer c.Close()
		buf := make([]byte, 4096)
		oob := make([]byte, unix.CmsgSpace(4*4))
		n, oobn, _, _, err := c.ReadMsgUnix(buf, oob)
		var g got
		g.err = err
		if msgs, _ := unix.ParseSocketControlMessage(oob[:oobn]); len(msgs) == 1 {
			fds, _ := unix.ParseUnixRights(&msgs[0])
			g.nfds = len(fds)
			for _, fd := range fds {
				unix.Close(fd)
			}
		}
		if g.err == nil {
			g.err = json.Unmarshal(buf[:n], &g.st)
		}
		res <- g
	}()
	f, err := os.Open("/dev/null")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st := &specs.ContainerProcessState{Version: specs.Version, Fds: []string{specs.SeccompFdName}, Pid: 42, Metadata: "m",
		State: specs.State{Version: specs.Version, ID: "c1", Status: specs.StateCreating, Pid: 42}}
	if err := sendProcessState(path, st, int(f.Fd())); err != nil {
		t.Fatal(err)
	}
	g := <-res
	if g.err != nil || g.nfds != 1 || g.st.Pid != 42 || g.st.Metadata != "m" || g.st.State.ID != "c1" || g.st.Fds[0] != "seccompFd" {
		t.Fatalf("agent got %+v", g)
	}
	err = sendProcessState(filepath.Join(dir, "absent.sock"), st, int(f.Fd()))
	if err == nil || !strings.Contains(err.Error(), "connect") {
		t.Fatalf("absent agent: %v", err)
	}
}
