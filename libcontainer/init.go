package libcontainer

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"berth/libcontainer/caps"
	"berth/libcontainer/console"
	"berth/libcontainer/hooks"
	"berth/libcontainer/lsm"
	"berth/libcontainer/seccomp"
	"berth/nsenter"
	"berth/rootfs"
)

// Init is the Go half of the container init (`berth init`), entered after the
// nsenter stub has put the process into the container's namespaces. It never
// returns on success: it execs the workload.
func Init() {
	up := monoNow()
	runtime.LockOSThread()
	fd, err := strconv.Atoi(os.Getenv(nsenter.EnvInitFD))
	if err != nil {
		fmt.Fprintln(os.Stderr, "berth init: must be started by berth create")
		os.Exit(1)
	}
	os.Clearenv()
	sock := os.NewFile(uintptr(fd), "init-sock")
	unix.CloseOnExec(fd)
	ch := newChannel(sock)
	var cfg initConfig
	if err := ch.recv(&cfg); err != nil {
		os.Exit(1)
	}
	itrace.on = cfg.Trace
	if itrace.on {
		itrace.steps = append(itrace.steps, traceStep{"go runtime up", up})
	}
	itrace.mark("config received")
	if cfg.Exec {
		err = execProcess(&cfg, ch, fd)
	} else {
		err = initContainer(&cfg, ch, sock)
	}
	// initContainer only returns on failure.
	var fromParent parentError
	switch {
	case errors.As(err, &fromParent):
		// The parent reported it already.
	case ch.send(message{Type: msgError, Msg: err.Error()}) != nil && cfg.ConsoleFD < 0:
		// After "ready" nobody listens: the container's stderr is all
		// that is left, unless it is the container's terminal.
		fmt.Fprintln(os.Stderr, "berth init:", err)
	}
	os.Exit(1)
}

// itrace holds the init's step timings (berth --debug).
var itrace initTrace

func initContainer(cfg *initConfig, ch *channel, sock *os.File) error {
	spec := cfg.Spec
	proc := spec.Process
	// setsid makes the init a session leader, so a terminal can become its
	// controlling tty and job control works inside.
	if _, err := unix.Setsid(); err != nil {
		return fmt.Errorf("setsid: %w", err)
	}
	ownProc, err := rootfs.EnterOwnProc()
	if err != nil {
		return fmt.Errorf("init: %w", err)
	}
	if cfg.MountNS {
		rc := &rootfs.Config{
			Spec:       spec,
			Rootfs:     cfg.Rootfs,
			Bundle:     cfg.Bundle,
			NoPivot:    cfg.NoPivot,
			UserNS:     cfg.UserNS,
			CgroupNS:   cfg.CgroupNS,
			OwnCgroups: cfg.OwnCgroups,
			BeforePivot: func() error {
				return createHooks(cfg, ch)
			},
		}
		rc.Mark = itrace.mark
		if err := rootfs.Setup(rc); err != nil {
			return fmt.Errorf("rootfs: %w", err)
		}
	} else {
		if err := createHooks(cfg, ch); err != nil {
			return err
		}
		// Sharing the host's mount namespace: chroot is all that can be done
		// without rearranging the host's mounts.
		if err := unix.Chroot(cfg.Rootfs); err != nil {
			return fmt.Errorf("chroot %q (root.path, no mount namespace): %w", cfg.Rootfs, err)
		}
		if err := unix.Chdir("/"); err != nil {
			return fmt.Errorf("chdir / after chroot: %w", err)
		}
	}

	if cfg.ConsoleFD >= 0 {
		if err := setupConsole(cfg, proc); err != nil {
			return err
		}
	}
	if cfg.NetNS {
		if err := loopbackUp(); err != nil {
			return err
		}
	}
	if spec.Hostname != "" {
		if err := unix.Sethostname([]byte(spec.Hostname)); err != nil {
			return fmt.Errorf("sethostname %q (spec hostname): %w", spec.Hostname, err)
		}
	}
	if spec.Domainname != "" {
		if err := unix.Setdomainname([]byte(spec.Domainname)); err != nil {
			return fmt.Errorf("setdomainname %q (spec domainname): %w", spec.Domainname, err)
		}
	}
	if spec.Linux != nil {
		if err := writeSysctls(spec.Linux.Sysctl); err != nil {
			return err
		}
	}
	if cfg.MountNS {
		if err := rootfs.Finalize(&rootfs.Config{Spec: spec, Rootfs: cfg.Rootfs, UserNS: cfg.UserNS}); err != nil {
			return fmt.Errorf("rootfs: %w", err)
		}
	}
	if !cfg.NoNewKeyring {
		// A keyring of its own keeps the container out of the caller's session keyring.
		if _, err := unix.KeyctlJoinSessionKeyring("_ses." + cfg.ID); err != nil && !errors.Is(err, unix.ENOSYS) {
			return fmt.Errorf("join session keyring: %w", err)
		}
	}
	itrace.mark("rootfs finalized, console, hostname, sysctl")
	if err := rootfs.LeaveOwnProc(); err != nil {
		return err
	}
	sweep := func(from int) error {
		fdDir, err := unix.Openat(ownProc, "self/fd", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("list fds: open self/fd of the init's own procfs: %w", err)
		}
		defer unix.Close(fdDir)
		return closeExtraFDs(fdDir, from, int(sock.Fd()), cfg.FifoFD, ownProc)
	}
	final, err := prepareProcess(ch, spec, proc, cfg.PreserveFDs, sweep)
	if err != nil {
		return err
	}
	itrace.mark("process prepared")
	if err := ch.send(message{Type: msgReady, Trace: itrace.take()}); err != nil {
		return err
	}
	sock.Close()

	// Blocks until `berth start` opens the fifo for reading. Through the
	// init's own procfs: the container's /proc could be anything.
	fifo, err := unix.Openat(ownProc, "self/fd/"+strconv.Itoa(cfg.FifoFD), unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open exec fifo: %w", err)
	}
	unix.Close(cfg.FifoFD)
	unix.Close(ownProc)
	if spec.Hooks != nil && len(spec.Hooks.StartContainer) > 0 {
		st := &specs.State{Version: specs.Version, ID: cfg.ID, Status: specs.StateCreated, Pid: cfg.Pid, Bundle: cfg.Bundle, Annotations: spec.Annotations}
		hs := withEnv(spec.Hooks.StartContainer, cfg.EnvlessStartHooks, final.env)
		if err := hooks.Run("startContainer", hs, st); err != nil {
			unix.Write(fifo, append([]byte{fifoFailed}, err.Error()...))
			os.Exit(1)
		}
	}
	// After the hooks, which must not run under the container's label.
	if err := final.lsm.Apply(); err != nil {
		unix.Write(fifo, append([]byte{fifoFailed}, err.Error()...))
		os.Exit(1)
	}
	if _, err := unix.Write(fifo, []byte{fifoOK}); err != nil {
		return fmt.Errorf("write exec fifo: %w", err)
	}
	// fifo stays open: close-on-exec tells start that the exec happened.
	errno := final.run()
	// start reports it: never onto stdio, which may be the container's terminal.
	unix.Write(fifo, append([]byte{fifoFailed}, fmt.Sprintf("exec %q (process.args[0]): %v", proc.Args[0], errno)...))
	os.Exit(127)
	return nil
}

// execProcess is the Go half of `berth exec`: the stub has joined every
// namespace of the container; what is left is the process's own setup. The
// socket is close-on-exec, so the parent reads end-of-file once the exec
// happened, or an error message before.
func execProcess(cfg *initConfig, ch *channel, sockFD int) error {
	proc := cfg.Spec.Process
	if cfg.ConsoleFD >= 0 {
		if _, err := unix.Setsid(); err != nil {
			return fmt.Errorf("setsid: %w", err)
		}
		if err := setupConsole(cfg, proc); err != nil {
			return err
		}
	}
	sweep := func(from int) error {
		p, err := lsm.OpenProc()
		if err != nil {
			return fmt.Errorf("list fds: %w", err)
		}
		defer p.Close()
		fdDir, err := p.OpenFile(strconv.Itoa(unix.Getpid())+"/fd", unix.O_RDONLY|unix.O_DIRECTORY)
		if err != nil {
			return fmt.Errorf("list fds: %w", err)
		}
		defer unix.Close(fdDir)
		return closeExtraFDs(fdDir, from, sockFD, p.FD())
	}
	final, err := prepareProcess(ch, cfg.Spec, proc, cfg.PreserveFDs, sweep)
	if err != nil {
		return err
	}
	if err := final.lsm.Apply(); err != nil {
		return err
	}
	return fmt.Errorf("exec %q (process.args[0]): %w", proc.Args[0], final.run())
}

// prepareProcess applies what create and exec share, in order: rlimits,
// cwd, the fd sweep (sweep closes every fd from 3+preserveFDs on that berth
// does not still need), the executable's lookup, HOME, seccomp (early
// without no_new_privs), user and capabilities, no_new_privs (and seccomp
// with it). It returns the resolved executable and environment.
func prepareProcess(ch *channel, spec *specs.Spec, proc *specs.Process, preserveFDs int, sweep func(from int) error) (*finalExec, error) {
	var deferred []deferredLimit
	for i, rl := range proc.Rlimits {
		res, ok := rlimitResources[rl.Type]
		if !ok {
			return nil, fmt.Errorf("process.rlimits[%d].type %q: unknown resource", i, rl.Type)
		}
		lim := unix.Rlimit{Cur: rl.Soft, Max: rl.Hard}
		if res == unix.RLIMIT_AS || res == unix.RLIMIT_DATA {
			// Only the hard limit now (a raise needs the privilege we still
			// have; a cut is always allowed later): the soft one would stop
			// this Go process from allocating. Both are set before execve.
			var cur unix.Rlimit
			if err := unix.Getrlimit(res, &cur); err == nil && rl.Hard > cur.Max {
				raise := unix.Rlimit{Cur: cur.Cur, Max: rl.Hard}
				if err := unix.Setrlimit(res, &raise); err != nil {
					return nil, fmt.Errorf("setrlimit %s (process.rlimits[%d]): %w", rl.Type, i, err)
				}
			}
			deferred = append(deferred, deferredLimit{res: res, lim: lim})
			continue
		}
		if err := unix.Setrlimit(res, &lim); err != nil {
			return nil, fmt.Errorf("setrlimit %s (process.rlimits[%d]): %w", rl.Type, i, err)
		}
	}
	// cwd and the fd sweep come before seccomp: a profile may refuse getcwd
	// or close_range, which are berth's needs, not the workload's.
	if proc.Cwd != "" {
		if err := unix.Chdir(proc.Cwd); err != nil {
			return nil, fmt.Errorf("chdir %q (process.cwd): %w", proc.Cwd, err)
		}
	}
	if err := verifyCwd(); err != nil {
		return nil, err
	}
	// Before the lookup, which then cannot find anything through a leaked fd.
	if err := sweep(3 + preserveFDs); err != nil {
		return nil, err
	}
	// After the chdir: a relative args[0] names a file of process.cwd, as in runc.
	path, err := lookPath(proc)
	if err != nil {
		return nil, err
	}
	env := withHome(proc.Env, proc.User.UID)
	// Opened while berth is still root and unfiltered; written just before execve.
	attrs, err := lsm.Prepare(proc)
	if err != nil {
		return nil, err
	}
	var filter []unix.SockFilter
	if spec.Linux != nil && spec.Linux.Seccomp != nil {
		if filter, err = seccomp.Compile(spec.Linux.Seccomp); err != nil {
			return nil, fmt.Errorf("linux.seccomp: %w", err)
		}
		// Without no_new_privs the kernel wants CAP_SYS_ADMIN for the
		// filter, so it goes on before the capabilities are dropped.
		if !proc.NoNewPrivileges {
			if err := loadSeccomp(ch, spec.Linux.Seccomp, filter); err != nil {
				return nil, err
			}
		}
	}
	if err := setUser(proc); err != nil {
		return nil, err
	}
	if proc.NoNewPrivileges {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return nil, fmt.Errorf("prctl(PR_SET_NO_NEW_PRIVS) (process.noNewPrivileges): %w", err)
		}
		// As late as possible: what berth itself does after this must pass the filter.
		if filter != nil {
			if err := loadSeccomp(ch, spec.Linux.Seccomp, filter); err != nil {
				return nil, err
			}
		}
	}
	final, err := newFinalExec(path, proc.Args, env, deferred)
	if err != nil {
		return nil, err
	}
	final.lsm = attrs
	return final, nil
}

// createHooks asks the parent to run prestart/createRuntime hooks, then runs
// createContainer hooks in the container's namespaces, before pivot_root.
func createHooks(cfg *initConfig, ch *channel) error {
	// Always a round trip: the parent also applies the cgroup limits here,
	// once this Go runtime has its threads (a low pids.max set earlier
	// would kill the init at start-up).
	h := cfg.Spec.Hooks
	if err := ch.send(message{Type: msgHooks, Trace: itrace.take()}); err != nil {
		return err
	}
	if err := ch.expect(msgHooksDone); err != nil {
		return parentError{err}
	}
	if h == nil || len(h.CreateContainer) == 0 {
		return nil
	}
	st := &specs.State{Version: specs.Version, ID: cfg.ID, Status: specs.StateCreating, Pid: cfg.Pid, Bundle: cfg.Bundle, Annotations: cfg.Spec.Annotations}
	// The hooks start in the container's rootfs (as with runc), not in the
	// init's own procfs, its working directory during the setup.
	if err := unix.Chdir(cfg.Rootfs); err != nil {
		return fmt.Errorf("chdir %q for the createContainer hooks: %w", cfg.Rootfs, err)
	}
	if err := hooks.Run("createContainer", h.CreateContainer, st); err != nil {
		return err
	}
	return rootfs.BackToOwnProc()
}

// loadSeccomp installs the filter; a listener (SCMP_ACT_NOTIFY) goes to the
// parent at once, for the agent at linux.seccomp.listenerPath.
func loadSeccomp(ch *channel, sc *specs.LinuxSeccomp, filter []unix.SockFilter) error {
	var handoff *listenerHandoff
	if notifies(sc) {
		var err error
		if handoff, err = newListenerHandoff(ch); err != nil {
			return err
		}
	}
	fd, err := seccomp.Load(sc, filter)
	if err != nil {
		return fmt.Errorf("linux.seccomp: %w", err)
	}
	if fd >= 0 {
		if handoff == nil {
			unix.Close(fd)
			return nil
		}
		return handoff.send(fd)
	}
	return nil
}

// parentError is a failure the parent announced (a hook it ran): the init
// exits without reporting it a second time.
type parentError struct{ error }

func (e parentError) Unwrap() error { return e.error }

func setupConsole(cfg *initConfig, proc *specs.Process) error {
	sock := os.NewFile(uintptr(cfg.ConsoleFD), "console-socket")
	defer sock.Close()
	master, slave, slavePath, err := console.NewPty("/dev/ptmx")
	if err != nil {
		return fmt.Errorf("process.terminal: %w", err)
	}
	defer master.Close()
	if proc.ConsoleSize != nil {
		if err := console.SetSize(master, uint16(proc.ConsoleSize.Height), uint16(proc.ConsoleSize.Width)); err != nil {
			return fmt.Errorf("process.consoleSize: %w", err)
		}
	}
	if cfg.MountNS {
		if err := rootfs.MountConsole(int(slave.Fd()), slavePath); err != nil {
			return fmt.Errorf("process.terminal: %w", err)
		}
	}
	// The owner is the process's user, the group what devpts gave (runc's
	// rule); ids a user namespace does not map leave it as it is.
	var st unix.Stat_t
	if err := unix.Fstat(int(slave.Fd()), &st); err != nil {
		return fmt.Errorf("process.terminal: stat %s: %w", slavePath, err)
	}
	if err := unix.Fchown(int(slave.Fd()), int(proc.User.UID), int(st.Gid)); err != nil && err != unix.EINVAL && err != unix.EPERM {
		return fmt.Errorf("process.terminal: chown %s to %d:%d (process.user.uid): %w", slavePath, proc.User.UID, st.Gid, err)
	}
	if err := console.SendFd(sock, master.Name(), master); err != nil {
		return fmt.Errorf("process.terminal: send pty master to console socket: %w", err)
	}
	// A receiver that closes the master hangs the terminal up, and the
	// kernel sends SIGHUP to the session leader: caught (the handler goes
	// with execve), it does not kill this process before the exec.
	signal.Notify(make(chan os.Signal, 1), unix.SIGHUP)
	// setsid was done already; SetControlling may call it again harmlessly.
	if err := console.SetControlling(slave); err != nil {
		return fmt.Errorf("process.terminal: %w", err)
	}
	slave.Close()
	return nil
}

// writeSysctls writes through a verified procfs (lsm.Proc, shared with the
// LSM attribute writes): a private instance, or the container's /proc with
// no symlink followed and no mount crossed, so a mount over /proc/sys
// (CVE-2025-52881 style redirection, even to another procfs file) gets an
// error instead of berth's write.
func writeSysctls(sysctl map[string]string) error {
	if len(sysctl) == 0 {
		return nil
	}
	proc, err := lsm.OpenProc()
	if err != nil {
		return fmt.Errorf("linux.sysctl: %w", err)
	}
	defer proc.Close()
	for k, v := range sysctl {
		rel, err := sysctlPath(k)
		if err != nil {
			return err
		}
		if err := proc.Write(rel, v); err != nil {
			return fmt.Errorf("linux.sysctl %q: %w", k, err)
		}
	}
	return nil
}

var rlimitResources = map[string]int{
	"RLIMIT_AS": unix.RLIMIT_AS, "RLIMIT_CORE": unix.RLIMIT_CORE, "RLIMIT_CPU": unix.RLIMIT_CPU,
	"RLIMIT_DATA": unix.RLIMIT_DATA, "RLIMIT_FSIZE": unix.RLIMIT_FSIZE, "RLIMIT_LOCKS": unix.RLIMIT_LOCKS,
	"RLIMIT_MEMLOCK": unix.RLIMIT_MEMLOCK, "RLIMIT_MSGQUEUE": unix.RLIMIT_MSGQUEUE, "RLIMIT_NICE": unix.RLIMIT_NICE,
	"RLIMIT_NOFILE": unix.RLIMIT_NOFILE, "RLIMIT_NPROC": unix.RLIMIT_NPROC, "RLIMIT_RSS": unix.RLIMIT_RSS,
	"RLIMIT_RTPRIO": unix.RLIMIT_RTPRIO, "RLIMIT_RTTIME": unix.RLIMIT_RTTIME, "RLIMIT_SIGPENDING": unix.RLIMIT_SIGPENDING,
	"RLIMIT_STACK": unix.RLIMIT_STACK,
}

// setUser switches to process.user with the capability sets the spec asks
// for: bounding is dropped while still root, keepcaps carries the permitted
// set over the uid change, then the sets are applied on this (locked) thread.
func setUser(proc *specs.Process) error {
	// The parent logged the warnings (normalizeProcess): this stderr is
	// the container's.
	sets, _, err := caps.FromSpec(proc.Capabilities)
	if err != nil {
		return fmt.Errorf("process.capabilities: %w", err)
	}
	if err := sets.DropBounding(); err != nil {
		return fmt.Errorf("process.capabilities.bounding: %w", err)
	}
	if err := caps.KeepCaps(true); err != nil {
		return err
	}
	u := proc.User
	gids := make([]int, len(u.AdditionalGids))
	for i, g := range u.AdditionalGids {
		gids[i] = int(g)
	}
	if err := unix.Setgroups(gids); err != nil {
		return fmt.Errorf("setgroups %v (process.user.additionalGids): %w", u.AdditionalGids, err)
	}
	if err := unix.Setresgid(int(u.GID), int(u.GID), int(u.GID)); err != nil {
		return fmt.Errorf("setresgid %d (process.user.gid): %w", u.GID, err)
	}
	if err := unix.Setresuid(int(u.UID), int(u.UID), int(u.UID)); err != nil {
		return fmt.Errorf("setresuid %d (process.user.uid): %w", u.UID, err)
	}
	if err := caps.KeepCaps(false); err != nil {
		return err
	}
	if err := sets.Apply(); err != nil {
		return fmt.Errorf("process.capabilities: %w", err)
	}
	umask := 0o022
	if u.Umask != nil {
		umask = int(*u.Umask)
	}
	unix.Umask(umask)
	return nil
}

// verifyCwd refuses a working directory outside the container's root, such as
// one reached through a leaked host fd (CVE-2024-21626).
func verifyCwd() error {
	wd, err := unix.Getwd()
	if err != nil {
		return fmt.Errorf("process.cwd: getcwd: %w (the working directory is outside the container root)", err)
	}
	if !strings.HasPrefix(wd, "/") {
		return fmt.Errorf("process.cwd: working directory %q is outside the container root", wd)
	}
	return nil
}

// closeExtraFDs closes every fd >= from listed in fdDir (a process's fd
// directory in a procfs berth made or checked), but keep and the Go
// runtime's own poller descriptors (anonymous inodes: no path can go
// through them), which are marked close-on-exec instead. Marking alone is
// not enough for the rest: execve resolves its path while they are still
// open, so args[0] "/proc/self/fd/N/..." could reach a host directory
// through a leaked fd (CVE-2024-21626).
func closeExtraFDs(fdDir, from int, keep ...int) error {
	dir, err := unix.Openat(fdDir, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("list fds: %w", err)
	}
	f := os.NewFile(uintptr(dir), "fd")
	names, err := f.Readdirnames(-1)
	f.Close()
	if err != nil {
		return fmt.Errorf("list fds: %w", err)
	}
	for _, n := range names {
		fd, err := strconv.Atoi(n)
		if err != nil || fd < from || fd == fdDir {
			continue
		}
		if slices.Contains(keep, fd) {
			unix.CloseOnExec(fd) // inherited ones come without it
			continue
		}
		link, err := readlinkAt(fdDir, n)
		if err != nil {
			continue // closed meanwhile (the listing's own fd)
		}
		if strings.HasPrefix(link, "anon_inode:") {
			unix.CloseOnExec(fd)
			continue
		}
		unix.Close(fd)
	}
	return nil
}

func readlinkAt(dir int, name string) (string, error) {
	buf := make([]byte, 256)
	n, err := unix.Readlinkat(dir, name, buf)
	if err != nil {
		return "", err
	}
	return string(buf[:n]), nil
}

// lookPath resolves process.args[0] inside the container with the process's
// PATH, as execvp would.
func lookPath(proc *specs.Process) (string, error) {
	if len(proc.Args) == 0 {
		return "", errors.New("process.args: empty")
	}
	name := proc.Args[0]
	if strings.Contains(name, "/") {
		if err := checkExecutable(name); err != nil {
			return "", fmt.Errorf("process.args[0] %q: %w", name, err)
		}
		return name, nil
	}
	pathEnv := searchPath(proc.Env)
	for _, dir := range filepath.SplitList(pathEnv) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, name)
		if checkExecutable(p) == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("process.args[0] %q: executable file not found in $PATH (%s)", name, pathEnv)
}

func checkExecutable(p string) error {
	var st unix.Stat_t
	if err := unix.Stat(p, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return errors.New("is a directory")
	}
	if st.Mode&0o111 == 0 {
		return unix.EACCES
	}
	return nil
}

// withHome adds HOME from the container's /etc/passwd when the spec has none
// or an empty one (in its place), as runc does; "/" when the user has no
// entry or the file is not one berth reads (readPasswd). env has each
// variable once (normalizeEnv).
func withHome(env []string, uid uint32) []string {
	at := len(env)
	for i, e := range env {
		if v, ok := strings.CutPrefix(e, "HOME="); ok {
			if v != "" {
				return env
			}
			at = i
		}
	}
	home := "/"
	want := strconv.FormatUint(uint64(uid), 10)
	for _, line := range strings.Split(readPasswd(), "\n") {
		parts := strings.Split(line, ":")
		if len(parts) >= 6 && parts[2] == want && parts[5] != "" {
			home = parts[5]
			break
		}
	}
	out := append([]string{}, env...)
	if at < len(out) {
		out[at] = "HOME=" + home
		return out
	}
	return append(out, "HOME="+home)
}

// passwdMax bounds what is read of the container's /etc/passwd.
const passwdMax = 1 << 20

// readPasswd reads the container's /etc/passwd, refusing what could hang or
// flood the init: only a regular file (not a FIFO, a device, or a
// procfs/sysfs file), opened non-blocking, at most passwdMax bytes.
func readPasswd() string {
	fd, err := unix.Open("/etc/passwd", unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NONBLOCK|unix.O_NOCTTY, 0)
	if err != nil {
		return ""
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	var sfs unix.Statfs_t
	if unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG || unix.Fstatfs(fd, &sfs) != nil ||
		sfs.Type == unix.PROC_SUPER_MAGIC || sfs.Type == unix.SYSFS_MAGIC {
		return ""
	}
	buf := make([]byte, passwdMax)
	n := 0
	for n < len(buf) {
		r, err := unix.Read(fd, buf[n:])
		if err == unix.EINTR {
			continue
		}
		if err != nil || r <= 0 {
			break
		}
		n += r
	}
	return string(buf[:n])
}
