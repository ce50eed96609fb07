package tests

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// notifyBundle is a container that sends its NOTIFY_SOCKET path as a
// STATUS, waits for the file /go in its rootfs, then sends READY=1 (with a
// MAINPID of its own namespace, which berth must not pass on) and sleeps.
func notifyBundle(t *testing.T) *bundle {
	b := newShBundle(t, `sdnotify "STATUS=socket $NOTIFY_SOCKET"; while [ ! -e /go ]; do sleep 0.05; done; `+
		`sdnotify "$(printf 'MAINPID=1\nREADY=1')"; exec sleep 1000`)
	compileStatic(t, "sdnotify", filepath.Join(b.rootfs, "bin", "sdnotify"))
	return b
}

// hostNotifySocket is the socket systemd would give berth.
func hostNotifySocket(t *testing.T) (*net.UnixConn, string) {
	path := filepath.Join(testDir(t, "notify"), "host.sock")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, path
}

func readNotify(t *testing.T, c *net.UnixConn, wait time.Duration) (string, bool) {
	buf := make([]byte, 4096)
	c.SetReadDeadline(time.Now().Add(wait))
	n, err := c.Read(buf)
	if err != nil {
		return "", false
	}
	return string(buf[:n]), true
}

func TestNotifySocket(t *testing.T) {
	for _, how := range []string{"run -d", "create+start"} {
		t.Run(how, func(t *testing.T) {
			r := newRuntime(t)
			host, path := hostNotifySocket(t)
			b := notifyBundle(t)
			withNotify := func(cmd *exec.Cmd) { cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+path) }
			id := r.newID()
			b.spec.Process.Env = append(b.spec.Process.Env, tokenVar+"="+id)
			b.write(t)
			done := make(chan result, 1)
			go func() {
				if how == "run -d" {
					done <- r.runCmd(withNotify, "run", "-d", "--bundle", b.dir, id)
					return
				}
				if res := r.runCmd(withNotify, "create", "--bundle", b.dir, id); res.code != 0 {
					done <- res
					return
				}
				done <- r.runCmd(withNotify, "start", id)
			}()
			msg, ok := readNotify(t, host, 30*time.Second)
			if !ok || msg != "STATUS=socket /run/notify/notify.sock\n" {
				t.Fatalf("first message %q (%v), want the container's STATUS naming /run/notify/notify.sock", msg, ok)
			}
			select {
			case res := <-done:
				t.Fatalf("%s returned before the container sent READY=1: %s", how, res)
			case <-time.After(500 * time.Millisecond):
			}
			writeFile(t, filepath.Join(b.rootfs, "go"), "")
			msg, ok = readNotify(t, host, 30*time.Second)
			res := <-done
			if res.code != 0 {
				t.Fatalf("%s: %s", how, res)
			}
			pid := r.state(id).Pid
			if want := "MAINPID=" + strconv.Itoa(pid) + "\nREADY=1\n"; !ok || msg != want {
				t.Errorf("READY message %q, want %q (the init's host pid, the container's own MAINPID dropped)", msg, want)
			}
		})
	}
}

// A container that exits without READY=1 fails start instead of hanging it.
func TestNotifySocketInitExits(t *testing.T) {
	r := newRuntime(t)
	_, path := hostNotifySocket(t)
	b := newBundle(t, "true")
	id := r.newID()
	b.spec.Process.Env = append(b.spec.Process.Env, tokenVar+"="+id)
	b.write(t)
	withNotify := func(cmd *exec.Cmd) { cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+path) }
	if res := r.runCmd(withNotify, "create", "--bundle", b.dir, id); res.code != 0 {
		t.Fatal(res)
	}
	res := r.runCmd(withNotify, "start", id)
	if res.code == 0 || !strings.Contains(res.stderr, "exited before it sent READY=1") {
		t.Errorf("start of a container that never sends READY=1: %s", res)
	}
}
