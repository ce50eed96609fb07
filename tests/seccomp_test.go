package tests

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// TestSeccomp loads a real filter: mkdir gets the configured errno, other
// syscalls pass, with and without no_new_privs (the two load points).
func TestSeccomp(t *testing.T) { scenarioSeccomp(t, newRuntime(t)) }

func scenarioSeccomp(t *testing.T, r *runtime) {
	errno := uint(18) // EXDEV: an errno mkdir never returns by itself here
	for _, nnp := range []bool{true, false} {
		b := r.shBundle(t, "mkdir /tmp/x 2>&1; echo rc=$?; echo alive")
		b.spec.Root.Readonly = false
		b.spec.Process.NoNewPrivileges = nnp
		b.spec.Linux.Seccomp = &specs.LinuxSeccomp{
			DefaultAction: specs.ActAllow,
			Architectures: []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32},
			Syscalls: []specs.LinuxSyscall{
				{Names: []string{"mkdir", "mkdirat", "no_such_syscall_berth"}, Action: specs.ActErrno, ErrnoRet: &errno},
			},
		}
		out := r.mustRunContainer(b)
		if !strings.Contains(out, "Invalid cross-device link") || !strings.Contains(out, "rc=1") || !strings.Contains(out, "alive") {
			t.Errorf("noNewPrivileges=%v: mkdir under seccomp printed %q, want EXDEV and the shell alive", nnp, out)
		}
	}
}

// notifyAgent is a seccomp agent in the test process: it listens on a unix
// socket as linux.seccomp.listenerPath names it, takes the container
// process state and the seccompFd of each connection, and answers the
// notified mkdir/mkdirat calls by path.
type notifyAgent struct {
	t    *testing.T
	path string
	ln   *net.UnixListener
	// got receives one handoff per connection.
	got  chan agentHandoff
	stop chan struct{}
	wg   sync.WaitGroup
}

// agentHandoff is what one connection brought.
type agentHandoff struct {
	raw   []byte
	state specs.ContainerProcessState
	nfds  int
	err   error
}

// Paths the agent answers specially; anything else continues (the kernel
// runs the syscall as if nothing intercepted it).
const (
	agentErrnoPath = "/tmp/agent-errno" // -> EXDEV
	agentFakePath  = "/tmp/agent-fake"  // -> success (0) without creating it
)

func startNotifyAgent(t *testing.T) *notifyAgent {
	t.Helper()
	path := filepath.Join(testDir(t, "agent"), "agent.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	a := &notifyAgent{t: t, path: path, ln: ln, got: make(chan agentHandoff, 8), stop: make(chan struct{})}
	a.wg.Add(1)
	go a.accept()
	t.Cleanup(func() {
		close(a.stop)
		ln.Close()
		a.wg.Wait()
	})
	return a
}

func (a *notifyAgent) accept() {
	defer a.wg.Done()
	for {
		conn, err := a.ln.AcceptUnix()
		if err != nil {
			return
		}
		h, fd := receiveHandoff(conn)
		conn.Close()
		if fd >= 0 {
			a.wg.Add(1)
			go a.serve(fd)
		}
		a.got <- h
	}
}

// receiveHandoff reads one connection to its end: the fds come with the
// first message, the JSON may span several.
func receiveHandoff(conn *net.UnixConn) (agentHandoff, int) {
	var h agentHandoff
	fd := -1
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 64<<10)
	oob := make([]byte, unix.CmsgSpace(4*8))
	for {
		n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
		if oobn > 0 {
			msgs, perr := unix.ParseSocketControlMessage(oob[:oobn])
			if perr != nil {
				h.err = perr
			}
			for i := range msgs {
				fds, _ := unix.ParseUnixRights(&msgs[i])
				for _, f := range fds {
					if fd < 0 {
						fd = f
					} else {
						unix.Close(f)
					}
					h.nfds++
				}
			}
		}
		h.raw = append(h.raw, buf[:n]...)
		if err != nil || n == 0 {
			break
		}
	}
	if h.err == nil {
		h.err = json.Unmarshal(h.raw, &h.state)
	}
	return h, fd
}

// seccompNotif, seccompData and seccompNotifResp mirror the kernel's
// struct seccomp_notif, seccomp_data and seccomp_notif_resp.
type seccompData struct {
	Nr                 int32
	Arch               uint32
	InstructionPointer uint64
	Args               [6]uint64
}

type seccompNotif struct {
	ID    uint64
	Pid   uint32
	Flags uint32
	Data  seccompData
}

type seccompNotifResp struct {
	ID    uint64
	Val   int64
	Error int32
	Flags uint32
}

// serve answers notifications on fd until no process uses the filter.
func (a *notifyAgent) serve(fd int) {
	defer a.wg.Done()
	defer unix.Close(fd)
	for {
		select {
		case <-a.stop:
			return
		default:
		}
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		if n, err := unix.Poll(pfd, 100); err != nil || n == 0 {
			continue
		}
		if pfd[0].Revents&unix.POLLIN == 0 {
			return // POLLHUP: every process of the filter exited
		}
		var req seccompNotif
		if _, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SECCOMP_IOCTL_NOTIF_RECV, uintptr(unsafe.Pointer(&req))); errno != 0 {
			continue // ENOENT: the caller went away meanwhile
		}
		resp := seccompNotifResp{ID: req.ID, Flags: unix.SECCOMP_USER_NOTIF_FLAG_CONTINUE}
		switch notifPath(req) {
		case agentErrnoPath:
			resp = seccompNotifResp{ID: req.ID, Error: -int32(unix.EXDEV)}
		case agentFakePath:
			resp = seccompNotifResp{ID: req.ID, Val: 0}
		}
		unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SECCOMP_IOCTL_NOTIF_SEND, uintptr(unsafe.Pointer(&resp)))
	}
}

// notifPath reads the path argument of a notified mkdir/mkdirat from the
// caller's memory.
func notifPath(req seccompNotif) string {
	var addr uint64
	switch req.Data.Nr {
	case unix.SYS_MKDIR:
		addr = req.Data.Args[0]
	case unix.SYS_MKDIRAT:
		addr = req.Data.Args[1]
	default:
		return ""
	}
	mem, err := os.Open("/proc/" + strconv.Itoa(int(req.Pid)) + "/mem")
	if err != nil {
		return ""
	}
	defer mem.Close()
	buf := make([]byte, 256)
	n, _ := mem.ReadAt(buf, int64(addr))
	s, _, _ := strings.Cut(string(buf[:n]), "\x00")
	return s
}

// next waits for the next handoff.
func (a *notifyAgent) next() agentHandoff {
	a.t.Helper()
	select {
	case h := <-a.got:
		if h.err != nil {
			a.t.Fatalf("seccomp agent: bad handoff: %v\n%s", h.err, h.raw)
		}
		return h
	case <-time.After(15 * time.Second):
		a.t.Fatal("seccomp agent: no connection from the runtime within 15s")
	}
	return agentHandoff{}
}

// notifyProfile intercepts mkdir and mkdirat for the agent at path.
func notifyProfile(path, metadata string) *specs.LinuxSeccomp {
	return &specs.LinuxSeccomp{
		DefaultAction:    specs.ActAllow,
		ListenerPath:     path,
		ListenerMetadata: metadata,
		Architectures:    []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32},
		Syscalls:         []specs.LinuxSyscall{{Names: []string{"mkdir", "mkdirat"}, Action: specs.ActNotify}},
	}
}

// checkHandoff checks the container process state against the spec's
// format and what the runtime reports.
func checkHandoff(t *testing.T, h agentHandoff, id, bundle, metadata string, pid int, status specs.ContainerState, initPid int) {
	t.Helper()
	t.Logf("container process state: %s", h.raw)
	st := h.state
	if h.nfds != 1 || len(st.Fds) != 1 || st.Fds[0] != specs.SeccompFdName {
		t.Errorf("handoff: %d fds named %q, want one named seccompFd\n%s", h.nfds, st.Fds, h.raw)
	}
	if st.Version != specs.Version || st.State.Version != specs.Version {
		t.Errorf("handoff: ociVersion %q / state.ociVersion %q, want %q\n%s", st.Version, st.State.Version, specs.Version, h.raw)
	}
	if st.Pid <= 0 || st.Pid != pid {
		t.Errorf("handoff: pid %d, want %d\n%s", st.Pid, pid, h.raw)
	}
	if st.Metadata != metadata {
		t.Errorf("handoff: metadata %q, want %q", st.Metadata, metadata)
	}
	if st.State.ID != id || st.State.Status != status || st.State.Pid != initPid || st.State.Bundle != bundle {
		t.Errorf("handoff: state id %q status %q pid %d bundle %q, want %q %q %d %q\n%s",
			st.State.ID, st.State.Status, st.State.Pid, st.State.Bundle, id, status, initPid, bundle, h.raw)
	}
	if st.State.Annotations["berth.test/notify"] != "yes" {
		t.Errorf("handoff: state.annotations %v lack the spec's", st.State.Annotations)
	}
	for _, key := range []string{`"ociVersion"`, `"fds"`, `"pid"`, `"state"`, `"status"`} {
		if !strings.Contains(string(h.raw), key) {
			t.Errorf("handoff JSON lacks %s: %s", key, h.raw)
		}
	}
}

// TestSeccompNotify: SCMP_ACT_NOTIFY hands the listener to the agent at
// listenerPath during create (both load points: with and without
// no_new_privs); the agent's answers are exactly what the workload sees:
// an errno, a faked success, and a continued (real) mkdir.
func TestSeccompNotify(t *testing.T) {
	r := newRuntime(t)
	agent := startNotifyAgent(t)
	for _, nnp := range []bool{true, false} {
		t.Run(fmt.Sprintf("noNewPrivileges=%v", nnp), func(t *testing.T) {
			b := newShBundle(t, "mkdir "+agentErrnoPath+" 2>&1; echo rc1=$?; mkdir "+agentFakePath+"; echo rc2=$?; "+
				"mkdir /tmp/agent-real; echo rc3=$?; ls -d "+agentFakePath+" 2>/dev/null || echo fake-absent; echo done")
			b.spec.Process.NoNewPrivileges = nnp
			b.spec.Annotations = map[string]string{"berth.test/notify": "yes"}
			meta := fmt.Sprintf("agent-meta nnp=%v", nnp)
			b.spec.Linux.Seccomp = notifyProfile(agent.path, meta)
			c := r.create(b)
			h := agent.next()
			st := r.state(c.id)
			checkHandoff(t, h, c.id, b.dir, meta, st.Pid, specs.StateCreating, st.Pid)
			if st.Status != specs.StateCreated {
				t.Errorf("state after create: %q", st.Status)
			}
			c.start()
			c.waitOutput("done")
			out := c.stdout()
			for _, want := range []string{"Invalid cross-device link", "rc1=1", "rc2=0", "rc3=0", "fake-absent"} {
				if !strings.Contains(out, want) {
					t.Errorf("container output lacks %q (the agent's answer):\n%s\nstderr: %s", want, out, c.stderr())
				}
			}
			if _, err := os.Stat(filepath.Join(b.rootfs, "tmp/agent-real")); err != nil {
				t.Errorf("a continued mkdir did not create the directory: %v", err)
			}
			for _, p := range []string{agentErrnoPath, agentFakePath} {
				if _, err := os.Stat(filepath.Join(b.rootfs, p)); err == nil {
					t.Errorf("%s exists: the agent's answer was not what ran", p)
				}
			}
		})
	}
}

// TestSeccompNotifyExec: an exec'd process gets the container's filter
// with a listener of its own, handed to the agent with the exec'd pid and
// the container's state.
func TestSeccompNotifyExec(t *testing.T) {
	r := newRuntime(t)
	agent := startNotifyAgent(t)
	b := newBundle(t, "sleep", "1000")
	b.spec.Annotations = map[string]string{"berth.test/notify": "yes"}
	b.spec.Linux.Seccomp = notifyProfile(agent.path, "exec-meta")
	c := r.create(b)
	agent.next() // create's
	c.start()
	initPid := r.state(c.id).Pid
	pidFile := filepath.Join(testDir(t, "pid"), "exec.pid")
	res := r.mustRun("exec", "--pid-file", pidFile, c.id, "sh", "-c", "mkdir "+agentErrnoPath+" 2>&1; echo rc=$?")
	if !strings.Contains(res.stdout, "Invalid cross-device link") || !strings.Contains(res.stdout, "rc=1") {
		t.Errorf("exec'd mkdir did not get the agent's EXDEV: %s", res)
	}
	h := agent.next()
	data, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	execPid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	if execPid == initPid {
		t.Fatalf("exec pid %d is the init's", execPid)
	}
	checkHandoff(t, h, c.id, b.dir, "exec-meta", execPid, specs.StateRunning, initPid)
}

// TestSeccompNotifyBadConfig: NOTIFY without a listenerPath, or with an
// agent that is not there, fails create with the field named and nothing
// left behind.
func TestSeccompNotifyBadConfig(t *testing.T) {
	r := newRuntime(t)
	t.Run("no listenerPath", func(t *testing.T) {
		b := newBundle(t, "true")
		b.spec.Linux.Seccomp = notifyProfile("", "")
		before := hostMounts()
		c, res := r.tryCreate(b)
		assertErrorLine(t, res, "linux.seccomp.listenerPath")
		assertNothingLeft(t, r, c.id, before)
	})
	t.Run("no agent", func(t *testing.T) {
		missing := filepath.Join(testDir(t, "noagent"), "agent.sock")
		b := newBundle(t, "true")
		b.spec.Linux.Seccomp = notifyProfile(missing, "")
		before := hostMounts()
		c, res := r.tryCreate(b)
		assertErrorLine(t, res, "linux.seccomp.listenerPath")
		if !strings.Contains(res.stderr, missing) {
			t.Errorf("error does not name the socket %s: %s", missing, res.stderr)
		}
		assertNothingLeft(t, r, c.id, before)
	})
}
