package tests

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// receiveConsole accepts one connection on ln and returns the pty master
// the runtime sends with SCM_RIGHTS, plus the message payload. It runs on
// its own goroutine, so it reports errors instead of failing the test.
func receiveConsole(ln *net.UnixListener) (*os.File, string, error) {
	ln.SetDeadline(time.Now().Add(30 * time.Second))
	conn, err := ln.AcceptUnix()
	if err != nil {
		return nil, "", fmt.Errorf("accept on the console socket: %w", err)
	}
	defer conn.Close()
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4*4))
	n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
	if err != nil {
		return nil, "", fmt.Errorf("read the console message: %w", err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return nil, "", fmt.Errorf("console message: want one control message, got %d (%v)", len(msgs), err)
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return nil, "", fmt.Errorf("console message: want one SCM_RIGHTS fd, got %v (%v)", fds, err)
	}
	// Non-blocking so read deadlines work on the master.
	if err := unix.SetNonblock(fds[0], true); err != nil {
		return nil, "", err
	}
	return os.NewFile(uintptr(fds[0]), "pty-master"), string(buf[:n]), nil
}

// consoleReceived is what listenConsole's receiver got.
type consoleReceived struct {
	f   *os.File
	msg string
	err error
}

// listenConsole listens on a new console socket and receives one pty
// master on its own goroutine. Closing ln ends the receiver early.
func listenConsole(t *testing.T) (sock string, ln *net.UnixListener, got <-chan consoleReceived) {
	t.Helper()
	sock = filepath.Join(testDir(t, "console"), "console.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan consoleReceived, 1)
	go func() {
		f, msg, err := receiveConsole(ln)
		ch <- consoleReceived{f, msg, err}
	}()
	return sock, ln, ch
}

// waitConsole waits for the pty master (30 s) and fails the test without it.
func waitConsole(t *testing.T, got <-chan consoleReceived, who string) consoleReceived {
	t.Helper()
	select {
	case m := <-got:
		if m.err != nil {
			t.Fatal(m.err)
		}
		return m
	case <-time.After(30 * time.Second):
		t.Fatalf("%s never sent the pty master", who)
	}
	return consoleReceived{}
}

// readUntil reads from f until the output contains want or the deadline
// passes; an EIO (the slave side closed) ends reading too.
func readUntil(f *os.File, want string, d time.Duration) string {
	var out bytes.Buffer
	buf := make([]byte, 4096)
	deadline := time.Now().Add(d)
	for !strings.Contains(out.String(), want) && time.Now().Before(deadline) {
		f.SetReadDeadline(deadline)
		n, err := f.Read(buf)
		out.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return out.String()
}

func TestTerminalConsoleSocket(t *testing.T) {
	r := newRuntime(t)
	sock, ln, got := listenConsole(t)
	defer ln.Close()

	b := newBundle(t, "sh")
	b.spec.Process.Terminal = true
	b.spec.Process.ConsoleSize = &specs.Box{Height: 30, Width: 100}

	c := r.create(b, "--console-socket", sock)
	master := waitConsole(t, got, "the runtime")
	defer master.f.Close()
	if master.msg == "" {
		t.Errorf("the console message has an empty payload; want the fd's name")
	}
	c.start()

	if _, err := master.f.Write([]byte("tty; stty size; echo hi-$((40+2)); exit 7\n")); err != nil {
		t.Fatalf("write to the pty master: %v", err)
	}
	out := readUntil(master.f, "hi-42", 15*time.Second)
	if !strings.Contains(out, "hi-42") {
		t.Fatalf("the shell on the terminal did not run the input; got %q", out)
	}
	if !strings.Contains(out, "/dev/pts/") {
		t.Errorf("tty inside: %q, want a /dev/pts/N terminal", out)
	}
	if !strings.Contains(out, "30 100") {
		t.Errorf("stty size inside: %q, want 30 100 from consoleSize", out)
	}
	r.waitStatus(c.id, specs.StateStopped)
}

// TestTerminalWithoutSocket: a terminal container needs a console socket
// when it is created detached.
func TestTerminalWithoutSocket(t *testing.T) {
	r := newRuntime(t)
	b := newBundle(t, "sh")
	b.spec.Process.Terminal = true
	before := hostMounts()
	c, res := r.tryCreate(b)
	assertErrorLine(t, res, "console", "terminal")
	assertNothingLeft(t, r, c.id, before)
}

// The terminal of process.terminal is made by the init (nsenter/cinit.c
// OP_CONSOLE) and the exec process (cexec.c).

// withLog makes r log --debug to a file and returns a reader of it.
func withLog(t *testing.T, r *runtime) func() string {
	logFile := filepath.Join(testDir(t, "log"), "berth.log")
	r.global = []string{"--debug", "--log", logFile}
	return func() string {
		b, _ := os.ReadFile(logFile)
		return string(b)
	}
}

// checkInit fails the test unless the log shows the init's plan at work.
func checkInit(t *testing.T, log string) {
	t.Helper()
	if !strings.Contains(log, "create: init: plan received") {
		t.Errorf("the init's steps are not in the log:\n%s", log)
	}
}

// terminalProbe prints what a terminal container should see: its tty, the
// size, the owner of the slave (uid gid), /dev/console bound in, ONLCR.
const terminalProbe = `tty; stty size; ls -ln $(tty) | awk '{ print "owner", $3, $4 }'
awk '$5 == "/dev/console" { print "console mounted" }' /proc/self/mountinfo
stty -a | tr ' ' '\n' | grep -x -e onlcr -e -onlcr
echo probe-done`

// readAll reads f until EIO (every slave closed) or the deadline.
func readAll(f *os.File, d time.Duration) string {
	return readUntil(f, "\x00never\x00", d)
}

// TestTerminalInit: the init makes the container's terminal: a /dev/pts
// tty of consoleSize, owned by process.user.uid and the devpts gid
// (gid=5), bound over /dev/console, ONLCR on for a console socket's
// receiver.
func TestTerminalInit(t *testing.T) {
	r := newRuntime(t)
	log := withLog(t, r)
	sock, ln, got := listenConsole(t)
	defer ln.Close()
	b := newShBundle(t, terminalProbe)
	b.spec.Process.Terminal = true
	b.spec.Process.ConsoleSize = &specs.Box{Height: 25, Width: 91}
	b.spec.Process.User = specs.User{UID: 1000, GID: 1000}
	_, _, wait := r.startAttached(b, "--console-socket", sock)
	m := waitConsole(t, got, "run")
	defer m.f.Close()
	out := readAll(m.f, 15*time.Second)
	if res := wait(); res.code != 0 {
		t.Fatalf("run: %s", res)
	}
	checkInit(t, log())
	for _, want := range []string{"/dev/pts/", "25 91", "owner 1000 5", "console mounted", "\nonlcr", "probe-done"} {
		if !strings.Contains(out, want) {
			t.Errorf("terminal output %q lacks %q", out, want)
		}
	}
}

// acceptRaw accepts one connection on ln and returns the descriptor the
// runtime sends, as it came (no O_NONBLOCK added), or an error.
func acceptRaw(ln *net.UnixListener) (int, error) {
	ln.SetDeadline(time.Now().Add(30 * time.Second))
	conn, err := ln.AcceptUnix()
	if err != nil {
		return -1, err
	}
	defer conn.Close()
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4*4))
	_, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
	if err != nil {
		return -1, err
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return -1, fmt.Errorf("want one control message, got %d (%v)", len(msgs), err)
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return -1, fmt.Errorf("want one fd, got %v (%v)", fds, err)
	}
	return fds[0], nil
}

// TestTerminalBlockingReceiver: a console socket receiver that reads the
// master without poll(2), as a simple tool would, gets it blocking (runc
// hands it so): its first read waits for the output instead of failing
// with EAGAIN, after which such a receiver closes it.
func TestTerminalBlockingReceiver(t *testing.T) {
	r := newRuntime(t)
	sock := filepath.Join(testDir(t, "console"), "console.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type read struct {
		out    string
		status string
	}
	done := make(chan read, 1)
	go func() {
		fd, err := acceptRaw(ln)
		if err != nil {
			done <- read{status: err.Error()}
			return
		}
		defer unix.Close(fd)
		if fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0); err != nil || fl&unix.O_NONBLOCK != 0 {
			done <- read{status: fmt.Sprintf("the master came non-blocking (flags %#x, %v)", fl, err)}
			return
		}
		var out []byte
		buf := make([]byte, 4096)
		for {
			n, err := unix.Read(fd, buf)
			if n > 0 {
				out = append(out, buf[:n]...)
			}
			switch {
			case err == unix.EINTR:
			case err == unix.EAGAIN:
				done <- read{string(out), "EAGAIN"}
				return
			case err != nil || n == 0:
				// EIO: the container's last slave closed.
				done <- read{string(out), "eof"}
				return
			}
		}
	}()
	b := newShBundle(t, "echo blocking-ok")
	b.spec.Process.Terminal = true
	c := r.create(b, "--console-socket", sock)
	c.start()
	select {
	case got := <-done:
		if got.status != "eof" || !strings.Contains(got.out, "blocking-ok") {
			t.Errorf("blocking receiver: %s, read %q", got.status, got.out)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the blocking receiver got nothing in 20 s")
	}
	r.waitStatus(c.id, specs.StateStopped)
}

// TestTerminalReceiverGone: a receiver that closes the master at once
// hangs the terminal up, and the kernel sends SIGHUP to the init, which
// leads the terminal's session. The init survives to its exec: start
// succeeds and the workload runs, on a hung-up terminal. (runc 1.1's init
// dies of it, and its start fails.)
func TestTerminalReceiverGone(t *testing.T) {
	r := newRuntime(t)
	sock, ln, got := listenConsole(t)
	defer ln.Close()
	b := newShBundle(t, "echo to-nobody; echo ran > /tmp/ran")
	b.spec.Process.Terminal = true
	c := r.create(b, "--console-socket", sock)
	m := waitConsole(t, got, "create")
	m.f.Close()
	// Give the hang-up time to reach the waiting init.
	time.Sleep(100 * time.Millisecond)
	if res := r.run("start", c.id); res.code != 0 {
		t.Fatalf("start after the receiver went away: %s", res)
	}
	r.waitStatus(c.id, specs.StateStopped)
	if data, err := os.ReadFile(filepath.Join(b.rootfs, "tmp", "ran")); err != nil || string(data) != "ran\n" {
		t.Errorf("the workload did not run: %q, %v", data, err)
	}
}

// TestTerminalRunNoCR: `run -t` relaying the pty itself (no
// --console-socket) passes on the container's bytes, as runc does: ONLCR
// is off, so "\n" does not come out as "\r\n".
func TestTerminalRunNoCR(t *testing.T) {
	r := newRuntime(t)
	b := newShBundle(t, `printf 'a\nb\n'`)
	b.spec.Process.Terminal = true
	_, res := r.runContainer(b)
	if res.code != 0 {
		t.Fatalf("run -t: %s", res)
	}
	if res.stdout != "a\nb\n" {
		t.Errorf("run -t output %q, want %q", res.stdout, "a\nb\n")
	}
}

// TestExecTerminalRelay: `exec -t` in the foreground (berth relays the
// pty) passes on the process's bytes without "\r" added, and the slave
// belongs to the process's user (uid, with the devpts gid): the exec
// process turns ONLCR off before the process runs.
func TestExecTerminalRelay(t *testing.T) {
	r := newRuntime(t)
	c := runningSleeper(t, r)
	res := r.run("exec", "-t", "--user", "1000:1000", c.id, "sh", "-c", `ls -ln $(tty) | awk '{ print "owner", $3, $4 }'; printf 'a\nb\n'`)
	if res.code != 0 {
		t.Fatalf("exec -t: %s", res)
	}
	out := strings.ReplaceAll(res.stdout, "\r\n", "\n")
	if out != "owner 1000 5\na\nb\n" {
		t.Errorf("exec -t output %q, want the owner 1000 5, a, b", res.stdout)
	}
	if strings.Contains(res.stdout, "\r") {
		t.Errorf("exec -t output %q has \\r added", res.stdout)
	}
}

// TestTerminalExecFailure: when the execve itself fails after start, the
// error is start's to report, and none of berth's words reach the
// container's terminal, which belongs to the container's output.
func TestTerminalExecFailure(t *testing.T) {
	r := newRuntime(t)
	sock, ln, got := listenConsole(t)
	defer ln.Close()
	b := newBundle(t, "/bin/not-a-program")
	writeFile(t, filepath.Join(b.rootfs, "bin", "not-a-program"), "neither ELF nor #!\n")
	os.Chmod(filepath.Join(b.rootfs, "bin", "not-a-program"), 0o755)
	b.spec.Process.Terminal = true
	c := r.create(b, "--console-socket", sock)
	m := waitConsole(t, got, "create")
	defer m.f.Close()
	res := r.run("start", c.id)
	if res.code == 0 || !strings.Contains(res.stderr, `exec "/bin/not-a-program" (process.args[0]): exec format error`) {
		t.Errorf("start of a workload whose execve fails: %s", res)
	}
	if out := readAll(m.f, 2*time.Second); out != "" {
		t.Errorf("the container's terminal got %q, want nothing", out)
	}
}
