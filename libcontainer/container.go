// Package libcontainer is berth's core: the container state machine
// (creating, created, running, stopped), the state store under --root, the
// parent side of create/start/kill/delete, hooks, and the Go side of the
// container init. The CLI in package main only parses flags and calls it.
package libcontainer

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"berth/cgroups"
	"berth/cgroups/manager"
	"berth/cgroups/systemd"
	"berth/libcontainer/hooks"
	"berth/network"
)

// Container is one container as found under the state root.
type Container struct {
	root  string
	state *State
}

// ErrNotExist is returned for an id that has no container.
var ErrNotExist = errors.New("container does not exist")

type notExistError struct{ id string }

func (e notExistError) Error() string        { return fmt.Sprintf("container does not exist: %q", e.id) }
func (e notExistError) Is(target error) bool { return target == ErrNotExist }

func notExist(id string) error { return notExistError{id} }

// Load reads the container's state without taking its lock.
func Load(root, id string) (*Container, error) {
	if err := validateID(id); err != nil {
		return nil, err
	}
	if err := checkRootIfThere(root); err != nil {
		return nil, err
	}
	s := &store{dir: containerDir(root, id)}
	st, err := s.load()
	if errors.Is(err, os.ErrNotExist) {
		return nil, notExist(id)
	}
	if err != nil {
		return nil, err
	}
	return &Container{root: root, state: st}, nil
}

// withLock runs fn with the container's lock held and its state freshly loaded.
func withLock(root, id string, fn func(s *store, st *State) error) error {
	if err := validateID(id); err != nil {
		return err
	}
	if err := checkRootIfThere(root); err != nil {
		return err
	}
	s, err := lockDir(containerDir(root, id))
	if errors.Is(err, os.ErrNotExist) {
		return notExist(id)
	}
	if err != nil {
		return err
	}
	defer s.unlock()
	st, err := s.load()
	if errors.Is(err, os.ErrNotExist) {
		return notExist(id)
	}
	if err != nil {
		return err
	}
	st.held = true
	return fn(s, st)
}

// List returns every container under root, sorted by id.
func List(root string) ([]*Container, error) {
	if err := checkRootIfThere(root); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(root)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []*Container
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		c, err := Load(root, e.Name())
		if err != nil {
			// Not a container's directory (.network), or a state
			// that cannot be read.
			slog.Debug("list: skipped", "dir", e.Name(), "err", err)
			continue
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].state.ID < out[j].state.ID })
	return out, nil
}

// ID of the container.
func (c *Container) ID() string { return c.state.ID }

// Pid of the container's init.
func (c *Container) Pid() int { return c.state.Pid }

// Created is when create began.
func (c *Container) Created() time.Time { return c.state.Created }

// Bundle path.
func (c *Container) Bundle() string { return c.state.Bundle }

// Status is derived from the process, not trusted from the file: a pid is
// only the container's while its start time matches.
func (c *Container) Status() string { return c.state.status(c.root) }

func (st *State) status(root string) string {
	if st.Status == Creating && !st.createRunning(root) {
		// The create died before it wrote "created" (killed, or the
		// host went down): what it started is left for delete, which
		// finds it through the cgroup the state names.
		return Stopped
	}
	if st.Pid == 0 {
		if st.Status == Creating {
			return Creating
		}
		return Stopped
	}
	if !alive(st.Pid, st.PidStart) {
		return Stopped
	}
	if st.Status == Creating {
		return Creating
	}
	// A created container can be paused too (runc freezes it as well):
	// frozen reads as paused, and thawed it is created again.
	_, err := os.Lstat(filepath.Join(containerDir(root, st.ID), fifoName))
	if st.paused() {
		return Paused
	}
	if err == nil {
		return Created
	}
	return Running
}

// createRunning reports whether the create that wrote a "creating" state
// still runs: it holds the container directory's lock from its mkdir to
// its return, and the kernel drops the lock when it dies.
func (st *State) createRunning(root string) bool {
	if st.held {
		return false // this process holds the lock: the create is over
	}
	fd, err := unix.Open(containerDir(root, st.ID), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	return unix.Flock(fd, unix.LOCK_SH|unix.LOCK_NB) == unix.EWOULDBLOCK
}

// OCIState is the state as the runtime spec defines it.
func (c *Container) OCIState() *specs.State {
	return c.state.oci(c.Status())
}

func (st *State) oci(status string) *specs.State {
	s := &specs.State{
		Version: specs.Version,
		ID:      st.ID,
		Status:  specs.ContainerState(status),
		Bundle:  st.Bundle,
	}
	if status != Stopped {
		s.Pid = st.Pid
	}
	s.Annotations = st.view().Annotations
	return s
}

// Start releases a created container's init to exec the workload.
func Start(root, id string) error {
	clk := startClock()
	defer clk.step("start: done")
	var st *State
	err := withLock(root, id, func(s *store, loaded *State) error {
		st = loaded
		status := st.status(root)
		if status != Created {
			return fmt.Errorf("cannot start container %q: it is %s, not created", id, status)
		}
		clk.step("start: state loaded")
		if err := releaseFifo(filepath.Join(s.dir, fifoName), st); err != nil {
			return fmt.Errorf("start container %q: %w", id, err)
		}
		clk.step("start: workload exec'd")
		// Nothing to write: "running" is derived (the init is alive and the
		// fifo is gone), so the state file keeps the "created" it was
		// written with, and start saves a state write (~0.25 ms here).
		return nil
	})
	if err != nil {
		return err
	}
	if h := st.view().Hooks; h != nil && len(h.Poststart) > 0 {
		if err := hooks.Run("poststart", h.Poststart, st.oci(Running)); err != nil {
			slog.Warn("poststart hook failed", "id", id, "err", err)
		}
	}
	return nil
}

// releaseFifo opens the exec fifo for reading, which lets the init's blocked
// open for writing return. The init runs the startContainer hooks, writes
// fifoOK (or fifoFailed and the error) and execs (a failed execve adds
// fifoFailed and its error after fifoOK); its end of the fifo is
// close-on-exec, so end-of-file means the workload is running and poststart
// hooks may follow. The open is non-blocking and the wait polls, so a dead
// init can't hang start.
func releaseFifo(path string, st *State) error {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open exec fifo %s: %w", path, err)
	}
	defer unix.Close(fd)
	var got []byte
	buf := make([]byte, 4096)
	opened := false
	for {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, 100)
		if err != nil && err != unix.EINTR {
			return fmt.Errorf("poll exec fifo: %w", err)
		}
		if n > 0 {
			r, err := unix.Read(fd, buf)
			if r > 0 {
				if !opened {
					// The init has opened its end by name: the name can go,
					// and with it the container's "created" status.
					if err := os.Remove(path); err != nil {
						return fmt.Errorf("remove exec fifo: %w", err)
					}
				}
				got = append(got, buf[:r]...)
				opened = true
				continue
			}
			if r == 0 && err == nil && opened {
				break // the init's end closed: exec happened or the init died
			}
			if err != nil && err != unix.EAGAIN {
				return fmt.Errorf("read exec fifo: %w", err)
			}
		}
		if !alive(st.Pid, st.PidStart) {
			if len(got) > 0 {
				break
			}
			return fmt.Errorf("container init (pid %d) exited before it was started", st.Pid)
		}
	}
	if len(got) > 0 && got[0] == fifoFailed {
		return errors.New(string(got[1:]))
	}
	if len(got) > 1 && got[0] == fifoOK && got[1] == fifoFailed {
		// Released, then the execve itself failed.
		return errors.New(string(got[2:]))
	}
	if len(got) == 0 || got[0] != fifoOK {
		return fmt.Errorf("container init (pid %d) exited before it was started", st.Pid)
	}
	return nil
}

// What the init writes into the exec fifo once released.
const (
	fifoOK     = '0'
	fifoFailed = '1'
)

// Signal sends sig to the container's init, or with all to every process of
// the container. Signal 0 sends nothing and checks that the init exists.
//
// A stopped container is runc's case: with all it is no error (containerd's
// shim cleans up after an exited init with kill --all 9, and only what is
// left in the cgroup gets the signal); without, the error says "container
// not running", the text containerd maps to a process that is gone.
func Signal(root, id string, sig unix.Signal, all bool) error {
	return withLock(root, id, func(s *store, st *State) error {
		status := st.status(root)
		if status == Stopped {
			if all {
				return signalLeftovers(st, sig)
			}
			return errNotRunning(id)
		}
		if status == Paused && !all && sig != unix.SIGKILL && sig != 0 {
			// A frozen process only sees the signal once thawed: say so.
			slog.Info("container is paused: the signal is delivered when it is resumed", "id", id)
		}
		if status == Creating {
			return fmt.Errorf("cannot kill container %q: it is still being created", id)
		}
		if all {
			return signalAll(st, sig)
		}
		if err := signalProcess(st.Pid, st.PidStart, sig); err != nil {
			if err == errProcessGone {
				return errNotRunning(id)
			}
			return fmt.Errorf("kill container %q: %w", id, err)
		}
		return nil
	})
}

func errNotRunning(id string) error {
	return fmt.Errorf("cannot kill container %q: container not running", id)
}

// Delete removes a created or stopped container; force kills a running one
// first. poststop hooks run after the container is gone.
func Delete(root, id string, force bool) error {
	clk := startClock()
	defer clk.step("delete: done")
	var st *State
	err := withLock(root, id, func(s *store, loaded *State) error {
		st = loaded
		status := st.status(root)
		switch status {
		case Running, Paused:
			if !force {
				return fmt.Errorf("cannot delete container %q: it is %s, not stopped (stop it first or use --force)", id, status)
			}
		case Creating:
			if !force {
				return fmt.Errorf("cannot delete container %q: it is being created (use --force)", id)
			}
		}
		if err := destroy(s, st); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	if h := st.view().Hooks; h != nil && len(h.Poststop) > 0 {
		if err := hooks.Run("poststop", h.Poststop, st.oci(Stopped)); err != nil {
			slog.Warn("poststop hook failed", "id", id, "err", err)
		}
	}
	return nil
}

// destroy kills whatever is left of the container and removes its state. It
// serves delete and the cleanup of a failed create.
func destroy(s *store, st *State) error {
	mgr := st.cgroup()
	// linux.netDevices go back to the host first, while the init still
	// holds the container's netns: killed, it would take virtual devices
	// with it (network.ReclaimNetDevices says why the spec allows this on
	// delete). The netns is opened before the init is checked to be the
	// container's, so a reused pid cannot lend its own.
	netDevs := st.NetDevices
	if len(netDevs) > 0 && st.Pid > 0 {
		if ns, err := os.Open("/proc/" + strconv.Itoa(st.Pid) + "/ns/net"); err == nil {
			if alive(st.Pid, st.PidStart) {
				left, err := network.ReclaimNetDevices(netDevs, ns)
				if err != nil {
					slog.Warn("move net devices back to the host", "id", st.ID, "err", err)
				}
				netDevs = left
			} else {
				slog.Debug("container init gone: moved net devices are left to the kernel", "id", st.ID)
			}
			ns.Close()
		} else {
			slog.Debug("container netns gone: moved net devices are left to the kernel", "id", st.ID, "err", err)
		}
	}
	if st.Pid > 0 && alive(st.Pid, st.PidStart) {
		if err := signalAll(st, unix.SIGKILL); err != nil && err != errProcessGone {
			return fmt.Errorf("kill container %q: %w", st.ID, err)
		}
		if err := waitGone(st.Pid, st.PidStart, 10*time.Second); err != nil {
			return fmt.Errorf("delete container %q: %w", st.ID, err)
		}
	}
	root := filepath.Dir(s.dir)
	if st.Network != nil {
		if err := network.Teardown(root, st.Network); err != nil {
			return fmt.Errorf("delete container %q: %w", st.ID, err)
		}
	}
	if len(netDevs) > 0 {
		if err := network.ReturnNetDevices(netDevs); err != nil {
			slog.Warn("return net devices to the host", "id", st.ID, "err", err)
		}
	}
	if mgr != nil {
		// What is left (processes that escaped the pid namespace kill, or a
		// container sharing the host's) goes with the cgroup.
		slog.Debug("delete: container processes gone")
		if err := mgr.Kill(); err != nil {
			return fmt.Errorf("delete container %q: kill cgroup: %w", st.ID, err)
		}
		if err := mgr.Destroy(); err != nil {
			return fmt.Errorf("delete container %q: remove cgroup: %w", st.ID, err)
		}
	}
	if st.IntelRdt != nil {
		// After the processes: a group with tasks cannot be removed.
		if err := st.IntelRdt.Remove(); err != nil {
			return fmt.Errorf("delete container %q: %w", st.ID, err)
		}
	}
	if err := os.RemoveAll(s.dir); err != nil {
		return fmt.Errorf("delete container %q: remove state %s: %w", st.ID, s.dir, err)
	}
	return nil
}

// cgroup returns the manager of the container's cgroup, nil if it has none
// recorded (or the record cannot be read, which is logged).
func (st *State) cgroup() cgroups.Manager {
	if len(st.CgroupPaths) == 0 {
		return nil
	}
	m, err := manager.Load(st.CgroupPaths)
	if err != nil {
		slog.Warn("container cgroup", "id", st.ID, "err", err)
		return nil
	}
	if st.SystemdUnit != "" {
		sm, err := systemd.Load(st.SystemdUnit, m, st.SystemdUser)
		if err != nil {
			slog.Warn("container cgroup", "id", st.ID, "err", err)
			return nil
		}
		m = sm
	}
	rootlessDevices(m)
	return m
}

// Rootfs is the container's root filesystem path on the host.
func (c *Container) Rootfs() string { return c.state.Rootfs }

// Owner is the name (or uid) of the user who created the container.
func (c *Container) Owner() string {
	if u, err := user.LookupId(strconv.Itoa(c.state.Owner)); err == nil {
		return u.Username
	}
	return strconv.Itoa(c.state.Owner)
}

// Process is the container's process (spec process), decoding no more of
// the spec than exec needs.
func (c *Container) Process() *specs.Process { return c.state.execView().Process }

// Network is the container's veth networking, nil without one.
func (c *Container) Network() *network.Result { return c.state.Network }
