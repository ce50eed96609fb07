// Package cgtest is what the driver tests share: a helper process (the
// test binary, re-executed) to put in a cgroup and question, unique cgroup
// paths of the test's own and their cleanup, and a fake cgroup for the
// planners.
package cgtest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"berth/cgroups"
	"berth/cgroups/internal/cgfs"
)

// The tests put a helper process (this test binary, re-executed) in the
// cgroup under test and ask it, one line at a time, to open or mknod
// devices; it answers "ok" or the errno's name. A frozen helper does not
// answer.
const helperEnv = "BERTH_CGROUP_TEST_HELPER"

// Main is a driver test package's TestMain: it runs the helper when the
// test binary was started as one, else the tests.
func Main(m *testing.M) {
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

// Helper is a running helper process.
type Helper struct {
	cmd     *exec.Cmd
	in      io.WriteCloser
	replies chan string
}

// StartHelper starts a helper with attr (nil, or e.g. a cgroup fd) and
// waits for it to say it is ready.
func StartHelper(t *testing.T, attr *syscall.SysProcAttr) *Helper {
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
	h := &Helper{cmd: cmd, in: in, replies: make(chan string, 16)}
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
	if r := h.Reply(t, 10*time.Second); r != "ready" {
		t.Fatalf("helper said %q", r)
	}
	return h
}

// Pid is the helper's pid.
func (h *Helper) Pid() int { return h.cmd.Process.Pid }

// Send sends one command line.
func (h *Helper) Send(t *testing.T, line string) {
	t.Helper()
	if _, err := io.WriteString(h.in, line+"\n"); err != nil {
		t.Fatalf("to helper: %v", err)
	}
}

// Reply waits up to timeout for the next answer: "<timeout>" or
// "<exited>" when none comes.
func (h *Helper) Reply(t *testing.T, timeout time.Duration) string {
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

// Ask sends a command and waits for the answer.
func (h *Helper) Ask(t *testing.T, line string) string {
	t.Helper()
	h.Send(t, line)
	return h.Reply(t, 10*time.Second)
}

// WaitExit waits for the helper to die and returns how.
func (h *Helper) WaitExit(t *testing.T) string {
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

// Path is a cgroup path of this test process's own.
func Path() string {
	cgSeq++
	return fmt.Sprintf("/berth-test-%d-%d", os.Getpid(), cgSeq)
}

// NeedRoot skips a test run without root.
func NeedRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
}

// Cleanup kills what is left in m's cgroup and removes it at the
// end of the test, failing the test if anything stays behind.
func Cleanup(t *testing.T, m cgroups.Manager) {
	t.Cleanup(func() {
		if err := m.Kill(); err != nil {
			t.Errorf("cleanup kill: %v", err)
		}
		if err := m.Destroy(); err != nil {
			t.Errorf("cleanup destroy: %v", err)
		}
		for _, d := range m.Paths() {
			if cgfs.Exists(d) {
				t.Errorf("cgroup %s left behind", d)
			}
		}
	})
}

// ReadBack reads a cgroup file, failing the test if it cannot.
func ReadBack(t *testing.T, dir, file string) string {
	t.Helper()
	s, err := cgfs.ReadTrimmed(dir, file)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// ProcState is the state letter of pid in /proc/<pid>/stat.
func ProcState(t *testing.T, pid int) string {
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
// the cgroup fails to deny it. It is "" when there is none (a nodev
// TMPDIR and no loop driver, as in the test VM).
func deniedNode(t *testing.T) string {
	tmp := t.TempDir()
	var st unix.Statfs_t
	if unix.Statfs(tmp, &st) == nil && st.Flags&unix.ST_NODEV == 0 {
		p := tmp + "/loop-control"
		if err := unix.Mknod(p, unix.S_IFCHR|0o600, int(unix.Mkdev(10, 237))); err == nil {
			return p
		}
	}
	if cgfs.Exists("/dev/loop-control") {
		return "/dev/loop-control"
	}
	return ""
}

// CheckDevices asks the helper, inside a cgroup whose list is the default
// one plus "c 1:11 r", to open and mknod devices. Without a node of a
// denied device to open, the mknod of one still checks the denial.
func CheckDevices(t *testing.T, h *Helper) {
	t.Helper()
	tmp := t.TempDir()
	checks := []struct{ cmd, want string }{
		{"open /dev/null rw", "ok"},
		{"open /dev/zero r", "ok"},
		{"open /dev/kmsg r", "ok"},
		{"open /dev/kmsg w", "EPERM"},
		{"mknod " + tmp + "/null c 1 3", "ok"},
		{"mknod " + tmp + "/lc c 10 237", "EPERM"},
		{"mknod " + tmp + "/kmsg c 1 11", "EPERM"},
	}
	if denied := deniedNode(t); denied != "" {
		checks = append(checks, struct{ cmd, want string }{"open " + denied + " r", "EPERM"})
	} else {
		t.Log("no node of a denied device to open (nodev TMPDIR, no /dev/loop-control): the denial is checked by mknod alone")
	}
	for _, c := range checks {
		if got := h.Ask(t, c.cmd); got != c.want {
			t.Errorf("%s: %s, want %s", c.cmd, got, c.want)
		}
	}
}

// Ask2 is Ask with a short timeout, for a helper expected to be silent.
func (h *Helper) Ask2(t *testing.T, line string, timeout time.Duration) string {
	t.Helper()
	h.Send(t, line)
	return h.Reply(t, timeout)
}

// Fake is a cgroup for the planners (a cgroups.Prober): a map of
// "dir/file" to contents.
type Fake map[string]string

func (f Fake) Exists(dir, file string) bool {
	_, ok := f[dir+"/"+file]
	return ok
}

func (f Fake) Read(dir, file string) (string, error) {
	v, ok := f[dir+"/"+file]
	if !ok {
		return "", &os.PathError{Op: "open", Path: dir + "/" + file, Err: unix.ENOENT}
	}
	return strings.TrimSpace(v), nil
}

// Show lists a plan's writes as "dir/file=value (field)", with " retry"
// for a write that retries.
func Show(pl *cgroups.Plan) []string {
	var out []string
	for _, w := range pl.Writes {
		s := w.Dir + "/" + w.File + "=" + w.Value + " (" + w.Field + ")"
		if w.Retry {
			s += " retry"
		}
		out = append(out, s)
	}
	return out
}

// CheckPlan checks a planner's answer (pl, err) against a table case:
// an error containing wantErr when it is set, else the writes want (as
// Show prints them) and warns warnings.
func CheckPlan(t *testing.T, pl *cgroups.Plan, err error, wantErr string, want []string, warns int) {
	t.Helper()
	if wantErr != "" {
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Fatalf("error = %v, want %q", err, wantErr)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if got := Show(pl); !slices.Equal(got, want) {
		t.Fatalf("writes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(pl.Warnings) != warns {
		t.Fatalf("warnings %q, want %d", pl.Warnings, warns)
	}
}
