package libcontainer

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// sd_notify: when berth runs with NOTIFY_SOCKET in its environment (a
// systemd unit of Type=notify, podman --sdnotify=container), the container
// gets a notify socket of its own, bound by berth in the container's state
// directory and bind-mounted read-only at /run/notify (the container's
// NOTIFY_SOCKET=/run/notify/notify.sock), as runc does: the host's socket
// is never exposed. `start` (and `run`) bind it before the workload runs
// and forward what the container sends to the host's socket, READY=1 with
// MAINPID set to the container's init, and return once READY=1 is passed
// on (or the init is gone). runc's protocol and paths, so an engine sees no
// difference.

// Where the container finds its notify socket.
const (
	NotifyDirInContainer    = "/run/notify"
	NotifySocketInContainer = NotifyDirInContainer + "/notify.sock"
	notifyDirName           = "notify"
)

// notifyDir is the host directory bind-mounted at /run/notify.
func notifyDir(stateDir string) string { return filepath.Join(stateDir, notifyDirName) }

// withNotifySocket adds the notify directory's mount to a copy of spec's
// mounts: read-only, no devices, no setuid, no exec.
func withNotifySocket(spec *specs.Spec, stateDir string) *specs.Spec {
	s := *spec
	s.Mounts = append(append([]specs.Mount{}, spec.Mounts...), specs.Mount{
		Destination: NotifyDirInContainer,
		Type:        "bind",
		Source:      notifyDir(stateDir),
		Options:     []string{"bind", "nosuid", "noexec", "nodev", "ro"},
	})
	return &s
}

// Notify is a container's notify socket, bound for start or run.
type Notify struct {
	conn *net.UnixConn
	path string
}

// ListenNotify binds the notify socket of container id, made by a create
// that had NOTIFY_SOCKET; a container made without it has none (nil, nil).
func ListenNotify(root, id string) (*Notify, error) {
	if err := validateID(id); err != nil {
		return nil, err
	}
	dir := notifyDir(containerDir(root, id))
	if _, err := os.Lstat(dir); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	path := filepath.Join(dir, filepath.Base(NotifySocketInContainer))
	// A socket left by an earlier start (or the create of run) goes.
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("notify socket %s: %w", path, err)
	}
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return nil, fmt.Errorf("notify socket: %w", err)
	}
	// Whatever user the container's process runs as may send.
	if err := os.Chmod(path, 0o777); err != nil {
		conn.Close()
		return nil, fmt.Errorf("notify socket: %w", err)
	}
	return &Notify{conn: conn, path: path}, nil
}

// Close closes the socket.
func (n *Notify) Close() { n.conn.Close() }

// Forward passes what the container sends on to the host's socket (a
// path, or "@name" for the abstract namespace) until it has passed on
// READY=1, with MAINPID=pid ahead of it. It fails when the init (pid,
// started at start) is gone first.
func (n *Notify) Forward(host string, pid int, start uint64) error {
	buf := make([]byte, 4096)
	for {
		n.conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		k, _, err := n.conn.ReadFromUnix(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				if !alive(pid, start) {
					return fmt.Errorf("NOTIFY_SOCKET: the container's init %d exited before it sent READY=1", pid)
				}
				continue
			}
			return fmt.Errorf("NOTIFY_SOCKET: read %s: %w", n.path, err)
		}
		out, ready := notifyMessage(buf[:k], pid)
		if len(out) > 0 {
			if err := sendNotify(host, out); err != nil {
				return err
			}
		}
		if ready {
			slog.Debug("notify: READY=1 passed on", "mainpid", pid)
			return nil
		}
	}
}

// notifyMessage is what goes to the host for a message from the
// container: its lines but MAINPID (a pid of the container's namespace,
// meaningless to the host's systemd), and, with READY=1, MAINPID=pid first
// so that systemd takes the init as the main process before it sees the
// service ready.
func notifyMessage(msg []byte, pid int) (out []byte, ready bool) {
	var b bytes.Buffer
	for _, line := range bytes.Split(msg, []byte("\n")) {
		if len(line) == 0 || bytes.HasPrefix(line, []byte("MAINPID=")) {
			continue
		}
		if bytes.Equal(line, []byte("READY=1")) {
			ready = true
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	if ready {
		return append([]byte("MAINPID="+strconv.Itoa(pid)+"\n"), b.Bytes()...), true
	}
	return b.Bytes(), false
}

func sendNotify(host string, msg []byte) error {
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: host, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("NOTIFY_SOCKET %s: %w", host, err)
	}
	defer conn.Close()
	if _, err := conn.Write(msg); err != nil {
		return fmt.Errorf("NOTIFY_SOCKET %s: send: %w", host, err)
	}
	return nil
}

// InitOf is the pid and start time of a container's init, for Forward.
func InitOf(root, id string) (int, uint64, error) {
	c, err := Load(root, id)
	if err != nil {
		return 0, 0, err
	}
	return c.state.Pid, c.state.PidStart, nil
}
