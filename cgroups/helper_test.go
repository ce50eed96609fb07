package cgroups

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The tests put a helper process (this test binary, re-executed) in the
// cgroup under test and ask it, one line at a time, to open or mknod
// devices; it answers "ok" or the errno's name. A frozen helper does not
// answer.
const helperEnv = "BERTH_CGROUP_TEST_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "1" {
		helperMain()
		return
	}
	os.Exit(m.Run())
}

var hold [][]byte

func helperMain() {
	in := bufio.NewScanner(os.Stdin)
	fmt.Println("ready")
	for in.Scan() {
		f := strings.Fields(in.Text())
		var err error
		switch {
		case len(f) == 1 && f[0] == "ping":
		case len(f) == 2 && f[0] == "alloc":
			// Touch n MiB, page by page, and keep it.
			n, _ := strconv.Atoi(f[1])
			b := make([]byte, n<<20)
			for i := 0; i < len(b); i += 4096 {
				b[i] = 1
			}
			hold = append(hold, b)
		case len(f) == 3 && f[0] == "open":
			flags := map[string]int{"r": unix.O_RDONLY, "w": unix.O_WRONLY, "rw": unix.O_RDWR}[f[2]]
			var fd int
			if fd, err = unix.Open(f[1], flags|unix.O_CLOEXEC|unix.O_NONBLOCK, 0); err == nil {
				unix.Close(fd)
			}
		case len(f) == 5 && f[0] == "mknod":
			maj, _ := strconv.Atoi(f[3])
			min, _ := strconv.Atoi(f[4])
			mode := uint32(unix.S_IFCHR)
			if f[2] == "b" {
				mode = unix.S_IFBLK
			}
			if err = unix.Mknod(f[1], mode|0o600, int(unix.Mkdev(uint32(maj), uint32(min)))); err == nil {
				unix.Unlink(f[1])
			}
		default:
			err = fmt.Errorf("bad command %q", in.Text())
		}
		if err != nil {
			var errno unix.Errno
			if errors.As(err, &errno) {
				fmt.Println(unix.ErrnoName(errno))
				continue
			}
			fmt.Println(err)
			continue
		}
		fmt.Println("ok")
	}
}

type helper struct {
	cmd     *exec.Cmd
	in      io.WriteCloser
	replies chan string
}

func startHelper(t *testing.T, attr *syscall.SysProcAttr) *helper {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"=1")
	cmd.SysProcAttr = attr
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start helper: %v", err)
	}
	h := &helper{cmd: cmd, in: in, replies: make(chan string, 16)}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			h.replies <- sc.Text()
		}
		close(h.replies)
	}()
	if r := h.reply(t, 10*time.Second); r != "ready" {
		t.Fatalf("helper said %q", r)
	}
	return h
}

func (h *helper) pid() int { return h.cmd.Process.Pid }

func (h *helper) send(t *testing.T, line string) {
	t.Helper()
	if _, err := io.WriteString(h.in, line+"\n"); err != nil {
		t.Fatalf("to helper: %v", err)
	}
}

func (h *helper) reply(t *testing.T, timeout time.Duration) string {
	t.Helper()
	select {
	case r, ok := <-h.replies:
		if !ok {
			return "<exited>"
		}
		return r
	case <-time.After(timeout):
		return "<timeout>"
	}
}

// ask sends a command and waits for the answer.
func (h *helper) ask(t *testing.T, line string) string {
	t.Helper()
	h.send(t, line)
	return h.reply(t, 10*time.Second)
}

// waitExit waits for the helper to die and returns how.
func (h *helper) waitExit(t *testing.T) string {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- h.cmd.Wait() }()
	select {
	case err := <-done:
		if err == nil {
			return "exit 0"
		}
		return err.Error()
	case <-time.After(10 * time.Second):
		t.Fatal("helper did not exit")
		return ""
	}
}

var cgSeq int

// testPath is a cgroup path of this test process's own.
func testPath() string {
	cgSeq++
	return fmt.Sprintf("/berth-test-%d-%d", os.Getpid(), cgSeq)
}

func needRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
}

// cleanupManager kills what is left in m's cgroup and removes it at the
// end of the test, failing the test if anything stays behind.
func cleanupManager(t *testing.T, m Manager) {
	t.Cleanup(func() {
		if err := m.Kill(); err != nil {
			t.Errorf("cleanup kill: %v", err)
		}
		if err := m.Destroy(); err != nil {
			t.Errorf("cleanup destroy: %v", err)
		}
		for _, d := range m.Paths() {
			if exists(d) {
				t.Errorf("cgroup %s left behind", d)
			}
		}
	})
}

func readBack(t *testing.T, dir, file string) string {
	t.Helper()
	s, err := readTrimmed(dir, file)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func procState(t *testing.T, pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	return strings.Fields(s[strings.LastIndexByte(s, ')')+1:])[0]
}

// deniedNode returns a device node of a device no test list allows: the
// loop-control device (c 10:237), made in a temporary directory when its
// filesystem allows device nodes. Opening it for reading is harmless if
// the cgroup fails to deny it.
func deniedNode(t *testing.T) string {
	tmp := t.TempDir()
	var st unix.Statfs_t
	if unix.Statfs(tmp, &st) == nil && st.Flags&unix.ST_NODEV == 0 {
		p := tmp + "/loop-control"
		if err := unix.Mknod(p, unix.S_IFCHR|0o600, int(unix.Mkdev(10, 237))); err == nil {
			return p
		}
	}
	if !exists("/dev/loop-control") {
		t.Skip("no device node to test a denial with")
	}
	return "/dev/loop-control"
}

// checkDevices asks the helper, inside a cgroup whose list is the default
// one plus "c 1:11 r", to open and mknod devices.
func checkDevices(t *testing.T, h *helper) {
	t.Helper()
	tmp := t.TempDir()
	denied := deniedNode(t)
	for _, c := range []struct{ cmd, want string }{
		{"open /dev/null rw", "ok"},
		{"open /dev/zero r", "ok"},
		{"open /dev/kmsg r", "ok"},
		{"open /dev/kmsg w", "EPERM"},
		{"open " + denied + " r", "EPERM"},
		{"mknod " + tmp + "/null c 1 3", "ok"},
		{"mknod " + tmp + "/lc c 10 237", "EPERM"},
		{"mknod " + tmp + "/kmsg c 1 11", "EPERM"},
	} {
		if got := h.ask(t, c.cmd); got != c.want {
			t.Errorf("%s: %s, want %s", c.cmd, got, c.want)
		}
	}
}
