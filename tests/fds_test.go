package tests

import (
	"io"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// fdList makes the shell list its own open fds after a "fds:" marker. ls
// runs as a child and reads the shell's table, so its own directory fd is
// not counted; its output is neither piped nor redirected because the
// shell would hold pipe or saved-stdout fds while it runs, and it is not
// the script's last command, which the shell would exec in place of
// itself.
const fdList = `echo fds:; ls /proc/$$/fd; true`

// openFds parses the fd list printed by fdList.
func openFds(out string) string {
	_, after, _ := strings.Cut(out, "fds:\n")
	fds := lines(after)
	sort.Slice(fds, func(i, j int) bool {
		a, _ := strconv.Atoi(fds[i])
		b, _ := strconv.Atoi(fds[j])
		return a < b
	})
	return strings.Join(fds, " ")
}

func TestPreserveFds(t *testing.T) {
	r := newRuntime(t)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	// A second extra fd the container must not get: only one is preserved.
	extra, err := os.Open("/dev/null")
	if err != nil {
		t.Fatal(err)
	}
	defer extra.Close()

	b := newShBundle(t, "echo via-fd3 >&3; "+fdList)
	b.write(t)
	id := r.newID()
	res := r.runCmd(func(c *exec.Cmd) {
		c.ExtraFiles = []*os.File{pw, extra}
	}, "run", "--preserve-fds", "1", "--bundle", b.dir, id)
	pw.Close()
	if res.code != 0 {
		t.Fatalf("run --preserve-fds 1: %s", res)
	}
	got, _ := io.ReadAll(pr)
	if string(got) != "via-fd3\n" {
		t.Errorf("the pipe passed as fd 3 got %q, want via-fd3", got)
	}
	if fds := openFds(res.stdout); fds != "0 1 2 3" {
		t.Errorf("open fds in the container: %q, want 0 1 2 3", fds)
	}
}

// TestNoLeakedFds: without --preserve-fds the container sees only stdio,
// even when the caller hands the runtime extra fds.
func TestNoLeakedFds(t *testing.T) {
	r := newRuntime(t)
	extra, err := os.Open("/dev/null")
	if err != nil {
		t.Fatal(err)
	}
	defer extra.Close()
	b := newShBundle(t, fdList)
	b.write(t)
	id := r.newID()
	res := r.runCmd(func(c *exec.Cmd) { c.ExtraFiles = []*os.File{extra} }, "run", "--bundle", b.dir, id)
	if res.code != 0 {
		t.Fatalf("run: %s", res)
	}
	if fds := openFds(res.stdout); fds != "0 1 2" {
		t.Errorf("open fds in the container: %q, want 0 1 2", fds)
	}
}

// TestListenFds: socket activation. With LISTEN_FDS=N (and LISTEN_PID the
// runtime's pid) in the runtime's environment, fds 3..3+N-1 go to the
// container and LISTEN_FDS is passed on.
func TestListenFds(t *testing.T) {
	r := newRuntime(t)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	b := newShBundle(t, `echo "LISTEN_FDS=$LISTEN_FDS"; echo via-listen-fd >&3; `+fdList)
	b.write(t)
	id := r.newID()
	// exec keeps the shell's pid, so LISTEN_PID names the runtime.
	const wrap = `LISTEN_PID=$$ LISTEN_FDS=1 exec "$@"`
	res := r.runCmd(func(c *exec.Cmd) {
		c.Args = append([]string{"sh", "-c", wrap, "sh"}, c.Args...)
		c.Path = "/bin/sh"
		c.ExtraFiles = []*os.File{pw}
	}, "run", "--bundle", b.dir, id)
	pw.Close()
	if res.code != 0 {
		t.Fatalf("run with LISTEN_FDS=1: %s", res)
	}
	if !strings.Contains(res.stdout, "LISTEN_FDS=1") {
		t.Errorf("LISTEN_FDS not passed to the container: %q", res.stdout)
	}
	if got, _ := io.ReadAll(pr); string(got) != "via-listen-fd\n" {
		t.Errorf("the listen fd 3 got %q", got)
	}
	if fds := openFds(res.stdout); fds != "0 1 2 3" {
		t.Errorf("open fds in the container: %q, want 0 1 2 3", fds)
	}
}
