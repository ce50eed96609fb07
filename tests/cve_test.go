package tests

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestCVE2019_5736 recreates the attack's write step as the strongest
// attacker there is, host root: take /proc/<pid>/exe of a waiting container
// init, let the process die, reopen the handle for writing. The binary must
// not be writable through it (berth runs from a read-only detached bind
// mount), and the host binary must be unchanged.
func TestCVE2019_5736(t *testing.T) {
	r := newRuntime(t)
	before, err := os.ReadFile(r.bin)
	if err != nil {
		t.Fatal(err)
	}
	c := r.create(newBundle(t, "true"))
	pid := r.state(c.id).Pid
	fd, err := unix.Open("/proc/"+strconv.Itoa(pid)+"/exe", unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("open exe of the init: %v", err)
	}
	defer unix.Close(fd)
	r.mustRun("kill", c.id, "KILL")
	waitGone(t, pid)
	w, err := unix.Open("/proc/self/fd/"+strconv.Itoa(fd), unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err == nil {
		unix.Write(w, []byte("pwned"))
		unix.Close(w)
		t.Fatalf("the runtime binary was opened for writing through /proc/<init>/exe")
	}
	if err != unix.EROFS && err != unix.ETXTBSY && err != unix.EACCES {
		t.Errorf("reopen for writing failed with %v; want EROFS (read-only mount)", err)
	}
	after, _ := os.ReadFile(r.bin)
	if string(after) != string(before) {
		t.Fatal("the runtime binary changed")
	}
}

// TestCVE2024_21626 points process.cwd at /proc/self/fd/N for every fd the
// init might hold (state dir, sockets): the container must never start with
// a working directory outside its root.
func TestCVE2024_21626(t *testing.T) {
	r := newRuntime(t)
	for fd := 3; fd <= 9; fd++ {
		b := newBundle(t, "sh", "-c", "pwd; ls")
		b.spec.Process.Cwd = "/proc/self/fd/" + strconv.Itoa(fd)
		_, res := r.runContainer(b)
		if res.code == 0 && (strings.Contains(res.stdout, "unreachable") || strings.Contains(res.stdout, "state.json")) {
			t.Fatalf("cwd /proc/self/fd/%d escaped the container root: %s", fd, res)
		}
		if res.code != 0 && !strings.Contains(res.stderr, "process.cwd") {
			t.Errorf("cwd /proc/self/fd/%d: failure does not name process.cwd: %s", fd, res)
		}
	}
}
