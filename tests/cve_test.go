package tests

import (
	"os"
	"strconv"
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
