package console

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// How long stop lets the container's last output reach stdout: the
// copying ends once nothing arrives for drainIdle, and at drainMax at the
// latest. Normally it ends sooner, when the last slave closes.
const (
	drainIdle = 100 * time.Millisecond
	drainMax  = time.Second
)

// Relay attaches a local terminal to a pty master for `berth run -t`
// without a console socket: stdin (put in raw mode if it is a terminal) is
// copied to master and master to stdout, and the local window size is
// propagated now and on every SIGWINCH. stop restores the terminal and
// stops the copying after the pending output has drained; it is safe to
// call more than once. master, stdin and stdout stay open; Relay works on
// duplicates.
func Relay(master *os.File, stdin *os.File, stdout *os.File) (stop func(), err error) {
	r := &relay{
		stdout:    stdout,
		stdinFd:   -1,
		sizeFd:    -1,
		wakeR:     -1,
		wakeW:     -1,
		inDone:    make(chan struct{}),
		outDone:   make(chan struct{}),
		winchDone: make(chan struct{}),
	}
	defer func() {
		if err != nil {
			r.closeFds()
		}
	}()

	// Our own non-blocking master lets the Go poller wait on it, so a
	// read deadline can end the output copy. The flag is shared with the
	// caller's master, which no shell or workload uses directly.
	mfd, err := dupFd(master)
	if err != nil {
		return nil, fmt.Errorf("dup pty master %q: %w", master.Name(), err)
	}
	if err := unix.SetNonblock(mfd, true); err != nil {
		unix.Close(mfd)
		return nil, fmt.Errorf("set pty master %q non-blocking: %w", master.Name(), err)
	}
	r.master = os.NewFile(uintptr(mfd), master.Name())

	// stdin is shared with the shell that started us and must stay
	// blocking, so input is read after poll(2) on it and on a wake pipe
	// that stop writes to.
	if r.stdinFd, err = dupFd(stdin); err != nil {
		return nil, fmt.Errorf("dup stdin: %w", err)
	}
	var wake [2]int
	if err := unix.Pipe2(wake[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		return nil, fmt.Errorf("pipe2: %w", err)
	}
	r.wakeR, r.wakeW = wake[0], wake[1]

	for _, f := range []*os.File{stdin, stdout} {
		fd, err := dupFd(f)
		if err != nil {
			continue
		}
		if term.IsTerminal(fd) {
			r.sizeFd = fd
			break
		}
		unix.Close(fd)
	}
	if term.IsTerminal(r.stdinFd) {
		if r.oldState, err = term.MakeRaw(r.stdinFd); err != nil {
			return nil, fmt.Errorf("set stdin to raw mode: %w", err)
		}
	}

	if r.sizeFd >= 0 {
		if err := r.copySize(); err != nil {
			r.restore()
			return nil, err
		}
		r.winch = make(chan os.Signal, 1)
		signal.Notify(r.winch, unix.SIGWINCH)
		go r.watchSize()
	} else {
		close(r.winchDone)
	}
	go r.copyInput()
	go r.copyOutput()
	return r.stop, nil
}

type relay struct {
	master       *os.File
	stdout       *os.File
	stdinFd      int // ours, a duplicate; -1 when not open
	sizeFd       int // the local terminal whose size we follow, or -1
	wakeR, wakeW int
	oldState     *term.State
	winch        chan os.Signal
	winchDone    chan struct{}
	inDone       chan struct{}
	outDone      chan struct{}
	draining     atomic.Bool
	drainUntil   time.Time // written before draining is set
	stopOnce     sync.Once
	closeOnce    sync.Once
	restoreOnce  sync.Once
}

func (r *relay) stop() {
	r.stopOnce.Do(func() {
		if r.winch != nil {
			signal.Stop(r.winch)
			close(r.winchDone)
		}
		unix.Write(r.wakeW, []byte{0})

		r.drainUntil = time.Now().Add(drainMax)
		r.draining.Store(true)
		r.master.SetReadDeadline(time.Now().Add(drainIdle))
		select {
		case <-r.outDone:
		case <-time.After(drainMax + drainIdle):
			// stdout itself is stuck; give up on it.
		}
		// Closing our master also ends an input copy stuck writing to
		// a pty nobody reads any more.
		r.master.Close()
		inputDone := true
		select {
		case <-r.inDone:
		case <-time.After(drainIdle):
			// Stuck in a read of stdin that poll promised would not
			// block. Its descriptors stay open: closing them under it
			// could let a reused number be read instead.
			inputDone = false
		}
		r.restore()
		if inputDone {
			r.closeFds()
		}
	})
}

func (r *relay) restore() {
	r.restoreOnce.Do(func() {
		if r.oldState != nil {
			term.Restore(r.stdinFd, r.oldState)
		}
	})
}

func (r *relay) closeFds() {
	r.closeOnce.Do(func() {
		if r.master != nil {
			r.master.Close()
		}
		for _, fd := range []int{r.stdinFd, r.sizeFd, r.wakeR, r.wakeW} {
			if fd >= 0 {
				unix.Close(fd)
			}
		}
	})
}

func (r *relay) copySize() error {
	ws, err := unix.IoctlGetWinsize(r.sizeFd, unix.TIOCGWINSZ)
	if err != nil {
		return fmt.Errorf("ioctl TIOCGWINSZ on local terminal: %w", err)
	}
	return SetSize(r.master, ws.Row, ws.Col)
}

func (r *relay) watchSize() {
	for {
		select {
		case <-r.winch:
			// A failed resize only leaves the old size; nothing to stop for.
			_ = r.copySize()
		case <-r.winchDone:
			return
		}
	}
}

func (r *relay) copyInput() {
	defer close(r.inDone)
	buf := make([]byte, 32*1024)
	fds := []unix.PollFd{
		{Fd: int32(r.stdinFd), Events: unix.POLLIN},
		{Fd: int32(r.wakeR), Events: unix.POLLIN},
	}
	for {
		if _, err := unix.Poll(fds, -1); err != nil {
			if err == unix.EINTR {
				continue
			}
			return
		}
		if fds[1].Revents != 0 || fds[0].Revents&unix.POLLNVAL != 0 {
			return
		}
		if fds[0].Revents == 0 {
			continue
		}
		n, err := unix.Read(r.stdinFd, buf)
		if err == unix.EINTR || err == unix.EAGAIN {
			continue
		}
		if n <= 0 {
			// End of input leaves the container's terminal open, as a
			// terminal has no end of file of its own to pass on.
			return
		}
		if _, err := r.master.Write(buf[:n]); err != nil {
			return
		}
	}
}

func (r *relay) copyOutput() {
	defer close(r.outDone)
	buf := make([]byte, 32*1024)
	for {
		n, err := r.master.Read(buf)
		if n > 0 {
			if _, werr := r.stdout.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			// EIO: every slave is closed, the container is gone. A
			// deadline: stop has waited long enough.
			return
		}
		if r.draining.Load() {
			next := time.Now().Add(drainIdle)
			if next.After(r.drainUntil) {
				next = r.drainUntil
			}
			r.master.SetReadDeadline(next)
		}
	}
}

// dupFd returns a close-on-exec duplicate of f's descriptor that the relay
// owns, so it never depends on the caller keeping f open.
func dupFd(f *os.File) (int, error) {
	if f == nil {
		return -1, errors.New("no file")
	}
	nfd := -1
	err := control(f, func(fd int) error {
		var err error
		nfd, err = unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 3)
		return err
	})
	if err != nil {
		return -1, err
	}
	return nfd, nil
}
