package libcontainer

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"berth/cgroups"
	cghost "berth/cgroups/host"
	"berth/cgroups/manager"
	"berth/cgroups/systemd"
	"berth/libcontainer/hooks"
	"berth/libcontainer/intelrdt"
	"berth/libcontainer/lsm"
	"berth/network"
	"berth/nsenter"
	"berth/rootfs"
)

// CreateOpts are the inputs of create besides the spec.
type CreateOpts struct {
	ID     string
	Bundle string // absolute
	Rootfs string // absolute, resolved
	Spec   *specs.Spec
	// RawSpec, when set, is Spec as JSON (the bundle's config.json as read):
	// the state keeps it instead of encoding Spec again.
	RawSpec []byte
	// PidFile, when set, receives the init's pid once it is created.
	PidFile string
	// Console is a connected console socket; required when process.terminal is true.
	Console *os.File
	// ConsoleRelay says berth itself receives the pty master on Console
	// and relays it (run -t without --console-socket).
	ConsoleRelay bool
	NoPivot      bool
	NoNewKeyring bool
	PreserveFDs  int
	// SystemdCgroup makes the cgroup a systemd unit (--systemd-cgroup);
	// linux.cgroupsPath is then "slice:prefix:name".
	SystemdCgroup bool
	// NotifySocket gives the container a notify socket of its own, which
	// start forwards to the host's NOTIFY_SOCKET (see notify.go).
	NotifySocket bool
	// Stdio of the container process (when there is no terminal).
	Stdin, Stdout, Stderr *os.File

	// idmapFDs: the init's fd of each idmapped mount's detached mount, by
	// mount index (rootfs.Config.IdmapFDs).
	idmapFDs map[int]int
}

// Created describes a freshly created container.
type CreatedInfo struct {
	Pid int
	// PidStart is the init's start time (/proc/<pid>/stat field 22), which
	// tells it from a later process given the same pid.
	PidStart uint64
	// Child reports whether the init is a child of this process (so the
	// caller may wait for it; otherwise only a subreaper can).
	Child bool
}

// Create makes the container up to the point where its init waits on the exec
// fifo. On failure it removes everything it made.
func Create(root string, o *CreateOpts) (info *CreatedInfo, err error) {
	clk := startClock()
	if err := validateID(o.ID); err != nil {
		return nil, err
	}
	if o.Spec.Process == nil {
		return nil, errors.New("config.json: process: required by create")
	}
	if o.Spec.Process.Terminal && o.Console == nil {
		return nil, errors.New("process.terminal is true but no --console-socket was given")
	}
	if o.Spec.Linux == nil {
		return nil, errors.New("config.json: linux: required")
	}
	if err := lsm.CheckHost(o.Spec.Process, o.Spec.Linux.MountLabel); err != nil {
		return nil, fmt.Errorf("config.json: %w", err)
	}
	plan, err := planNamespaces(o.Spec.Linux)
	if err != nil {
		return nil, fmt.Errorf("config.json: %w", err)
	}
	if _, ok := o.Spec.Annotations[rootfs.OverlayAnnotation]; ok && !plan.has(specs.MountNamespace) {
		// The overlay is mounted in the container's own mount namespace.
		return nil, fmt.Errorf("config.json: annotation %s needs a new mount namespace in linux.namespaces", rootfs.OverlayAnnotation)
	}
	if !plan.has(specs.MountNamespace) && !joins(plan, "mount") && len(o.Spec.Mounts) > 0 {
		// Mounting would change the host's mount table: berth only chroots.
		slog.Warn("no mount namespace: spec mounts are not performed, the container is only chrooted into its rootfs", "id", o.ID)
	}
	if plan.has(specs.UserNamespace) && (len(o.Spec.Linux.UIDMappings) == 0 || len(o.Spec.Linux.GIDMappings) == 0) {
		return nil, errors.New("config.json: linux.uidMappings/gidMappings: required with a new user namespace")
	}
	if err := checkUserNSProcfs(o.Spec.Linux, userNSOwnsPidNS); err != nil {
		return nil, fmt.Errorf("config.json: %w", err)
	}
	var maps idMaps
	if plan.has(specs.UserNamespace) {
		maps = planIDMaps(os.Geteuid(), os.Getegid(), o.Spec.Linux)
		if err := maps.check(o.Spec.Linux, o.Spec.Process, exec.LookPath); err != nil {
			return nil, fmt.Errorf("config.json: %w", err)
		}
		plan.dumpable = maps.dumpable(plan)
	}
	netCfg, err := network.FromAnnotations(o.Spec.Annotations)
	if err != nil {
		return nil, err
	}
	if err := rootlessNetwork(Rootless(), netCfg != nil, len(o.Spec.Linux.NetDevices) > 0); err != nil {
		return nil, err
	}
	if err := network.CheckNetDevices(o.Spec.Linux.NetDevices, netCfg); err != nil {
		return nil, err
	}
	if (netCfg != nil || len(o.Spec.Linux.NetDevices) > 0) && !plan.has(specs.NetworkNamespace) {
		return nil, errors.New("config.json: berth.net.* annotations and linux.netDevices need a new network namespace in linux.namespaces")
	}
	// Before anything is made: where resctrl is missing or lacks a
	// resource, create fails naming the field.
	var rdt *intelrdt.Plan
	if r := o.Spec.Linux.IntelRdt; r != nil {
		rdtRoot, err := intelrdt.Root("/proc/self/mountinfo")
		if err != nil {
			return nil, fmt.Errorf("config.json: %w", err)
		}
		if rdt, err = intelrdt.Prepare(rdtRoot, o.ID, r); err != nil {
			return nil, fmt.Errorf("config.json: %w", err)
		}
	}
	// The init finishes in C, from the plan sent after its pid (cinit.go).
	plan.cinit = true
	mgr, err := manager.New(manager.Options{CgroupsPath: o.Spec.Linux.CgroupsPath, ID: o.ID, Systemd: o.SystemdCgroup, UserManager: Rootless()})
	if err != nil {
		return nil, fmt.Errorf("linux.cgroupsPath %q: %w", o.Spec.Linux.CgroupsPath, err)
	}
	// Before anything is made: nothing to undo.
	if err := cgroups.CheckNotFrozen(mgr); err != nil {
		return nil, fmt.Errorf("linux.cgroupsPath %q: %w", o.Spec.Linux.CgroupsPath, err)
	}

	if err := os.MkdirAll(root, 0o700); err != nil {
		if Rootless() {
			return nil, fmt.Errorf("state root %s: %w (set XDG_RUNTIME_DIR to a directory of yours, or pass --root)", root, err)
		}
		return nil, fmt.Errorf("state root %s: %w", root, err)
	}
	if err := checkStateRoot(root, os.Geteuid()); err != nil {
		return nil, err
	}
	dir := containerDir(root, o.ID)
	if err := os.Mkdir(dir, 0o711); err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("container %q already exists", o.ID)
		}
		return nil, fmt.Errorf("create state dir: %w", err)
	}
	s, err := lockDir(dir)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	defer s.unlock()
	st := &State{
		ID:        o.ID,
		Bundle:    o.Bundle,
		Rootfs:    o.Rootfs,
		Created:   time.Now().UTC(),
		Owner:     os.Geteuid(),
		Status:    Creating,
		Config:    o.Spec,
		RawConfig: o.RawSpec,
		// exec's processes cannot call setgroups either.
		SetgroupsDenied: maps.denySetgroups,
	}
	var cmd *exec.Cmd
	var parentSock *os.File
	defer func() {
		if err != nil {
			// destroy first, while the init (held by the open socket) still
			// has its namespaces: moved net devices are reclaimed from them.
			if derr := destroy(s, st); derr != nil {
				slog.Error("cleanup after failed create", "id", o.ID, "err", derr)
			}
			if cmd != nil && cmd.Process != nil {
				cmd.Process.Kill()
				cmd.Wait()
			}
		}
		if parentSock != nil {
			parentSock.Close()
		}
	}()
	// Paths first, so that a failure from here on finds the cgroup to remove.
	st.CgroupPaths = mgr.Paths()
	if sm, ok := mgr.(*systemd.Manager); ok {
		st.SystemdUnit, st.SystemdUser = sm.UnitName(), sm.User()
	}
	if err := s.save(st); err != nil {
		return nil, err
	}
	if err := mgr.Create(); err != nil {
		if !Rootless() {
			return nil, fmt.Errorf("create cgroup (linux.cgroupsPath %q): %w", o.Spec.Linux.CgroupsPath, err)
		}
		mgr.Destroy() // what a partial create made, on v1
		if mgr, err = rootlessCgroup(o.Spec.Linux, err); err != nil {
			return nil, err
		}
		slog.Debug("create: rootless, no cgroup delegated: the container runs in the caller's cgroup", "id", o.ID)
		st.CgroupPaths = mgr.Paths()
		if err := s.save(st); err != nil {
			return nil, err
		}
	}
	rootlessDevices(mgr)
	// Its own user and cgroup namespaces and a writable cgroupfs: the
	// cgroup (v2) is the container root's to manage, for systemd or a
	// runtime inside.
	if delegatesCgroup(o.Spec, plan) {
		if uid, gid, ok := hostRoot(o.Spec.Linux); ok {
			if err := cgroups.Delegate(mgr, uid, gid); err != nil {
				return nil, fmt.Errorf("linux.cgroupsPath %q: %w", o.Spec.Linux.CgroupsPath, err)
			}
		}
	}
	clk.step("create: cgroup")

	fifoPath := filepath.Join(dir, fifoName)
	if err := unix.Mkfifo(fifoPath, 0o622); err != nil {
		return nil, fmt.Errorf("mkfifo %s: %w", fifoPath, err)
	}
	// The umask must not take the write bit the init needs, which may be a
	// mapped (unprivileged on the host) user by the time it opens the fifo.
	if err := os.Chmod(fifoPath, 0o622); err != nil {
		return nil, err
	}
	if uid, gid, ok := hostRoot(o.Spec.Linux); ok {
		if err := os.Chown(fifoPath, uid, gid); err != nil {
			return nil, err
		}
	}
	// The init gets the fifo alone, never the state directory: a process
	// of the container that can read the waiting init's /proc/1/fd would
	// walk from a directory fd out to the host.
	fifo, err := os.OpenFile(fifoPath, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open exec fifo: %w", err)
	}
	defer fifo.Close()

	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("socketpair: %w", err)
	}
	parentSock = os.NewFile(uintptr(fds[0]), "init-parent")
	childSock := os.NewFile(uintptr(fds[1]), "init-child")

	preserve, listenEnv := preservedFiles(o.PreserveFDs)
	extra := append([]*os.File{}, preserve...)
	base := 3 + len(extra)
	extra = append(extra, childSock, fifo)
	consoleFD := -1
	if o.Console != nil {
		extra = append(extra, o.Console)
		consoleFD = base + 2
	}
	// Made here, by the runtime, before the init exists: it inherits them.
	idmapped, idmapIndex, err := idmappedMounts(&rootfs.Config{Spec: o.Spec, Rootfs: o.Rootfs, Bundle: o.Bundle})
	if err != nil {
		return nil, err
	}
	defer func() {
		for _, f := range idmapped {
			f.Close()
		}
	}()
	for k, f := range idmapped {
		if o.idmapFDs == nil {
			o.idmapFDs = map[int]int{}
		}
		o.idmapFDs[idmapIndex[k]] = 3 + len(extra)
		extra = append(extra, f)
	}
	var exe *os.File
	// Assigned, not declared: the cleanup above kills this cmd on failure.
	cmd, exe, err = initCmd(extra, base, containerIDsOf(o.Spec.Linux.Namespaces, o.Spec.Linux.UIDMappings), o.Stdin, o.Stdout, o.Stderr)
	if err != nil {
		return nil, err
	}
	defer exe.Close()
	proc, err := normalizeProcess(o.Spec.Process, listenEnv)
	if err != nil {
		return nil, err
	}
	withProc := *o.Spec
	if o.NotifySocket {
		if err := os.Mkdir(notifyDir(dir), 0o755); err != nil {
			return nil, fmt.Errorf("notify socket directory: %w", err)
		}
		withProc = *withNotifySocket(&withProc, dir)
		proc.Env = normalizeEnv(append(proc.Env, "NOTIFY_SOCKET="+NotifySocketInContainer))
	}
	withProc.Process = proc
	o.Spec = &withProc
	// The C init's plan is compiled while the stub makes the namespaces;
	// only the cgroup mount (the init's cgroups) and the hooks (its pid)
	// wait for the init.
	type planResult struct {
		rec []byte
		err error
	}
	ownCh := make(chan initFactsResult, 1)
	// Whatever return comes first, the compiling goroutine is answered.
	defer func() {
		select {
		case ownCh <- initFactsResult{err: errors.New("create failed")}:
		default:
		}
	}()
	planCh := make(chan planResult, 1)
	spec := o.Spec
	facts := initFactsOnce(ownCh)
	ns := initNSOf(plan)
	// berth itself in a user namespace (a rootless engine's) has that
	// namespace's limits: the user namespace's fallbacks (device binds,
	// the host's sysfs) apply.
	ns.user = ns.user || inUserNS()
	go func() {
		rec, err := cInitPlan(o, spec, facts, base+1, len(preserve), consoleFD, ns)
		planCh <- planResult{rec, err}
	}()
	// In its cgroup before the stub unshares the cgroup namespace, whose
	// root is the cgroup the process is in at that moment.
	plan.cgroupJoin = mgr.JoinFiles()
	err = cgroups.StartIn(mgr, func(cgroupFD int) error {
		if cgroupFD >= 0 {
			cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: cgroupFD}
		}
		return cmd.Start()
	})
	childSock.Close()
	if errors.Is(err, systemd.ErrUnitExists) {
		// Another container's unit: the cleanup must not touch it.
		st.CgroupPaths, st.SystemdUnit, st.SystemdUser = nil, "", false
	}
	if err != nil {
		return nil, fmt.Errorf("start container init in its cgroup (linux.cgroupsPath %q): %w", o.Spec.Linux.CgroupsPath, err)
	}
	clk.step("create: spawn init")
	pid, err := stubExchange(parentSock, plan, func(pid int) error { return maps.write(pid, o.Spec.Linux) })
	if err != nil {
		return nil, fmt.Errorf("create container %q: %w", o.ID, err)
	}
	child := pid == cmd.Process.Pid
	if !child {
		// The stub forked into a pid/time namespace; its first half exits now.
		cmd.Wait()
	}
	clk.step("create: namespaces")
	start := uint64(0)
	if _, start, err = procStat(pid); err != nil {
		return nil, fmt.Errorf("container init %d: %w", pid, err)
	}
	// Not saved yet: should berth die before "created" is written, the
	// init dies too (its socket closes) or is killed with the cgroup,
	// which the state already names. setupNetwork saves the pid along
	// with what it is about to make.
	st.Pid, st.PidStart = pid, start
	if err := setupNetwork(root, st, s, netCfg, pid); err != nil {
		return nil, err
	}
	clk.step("create: network")
	if rdt != nil {
		// Saved first, so that a failure from here on removes the group.
		st.IntelRdt = rdt
		if err := s.save(st); err != nil {
			return nil, err
		}
		if err := rdt.Apply(pid); err != nil {
			return nil, err
		}
	}
	if adj := o.Spec.Process.OOMScoreAdj; adj != nil {
		if err := os.WriteFile("/proc/"+strconv.Itoa(pid)+"/oom_score_adj", []byte(strconv.Itoa(*adj)), 0); err != nil {
			return nil, fmt.Errorf("process.oomScoreAdj %d: %w", *adj, unwrapPathErr(err))
		}
	}

	// The init's cgroups as the host names them, for a "cgroup" mount: in
	// its own cgroup namespace the init would see only "/".
	var own map[string]string
	if rootfs.HasCgroupMount(o.Spec) {
		if own, err = cghost.HierarchyCgroupsOf(pid); err != nil {
			return nil, fmt.Errorf("container init %d: %w", pid, err)
		}
	}
	ownCh <- initFactsResult{facts: initFacts{pid: pid, own: own}}
	// Where the init has built the rootfs and waits: limits (now that the
	// init is up; a low pids.max set earlier could kill the init at
	// start-up), then prestart and createRuntime hooks.
	hooksPoint := func() error {
		clk.step("create: rootfs mounted")
		if err := mgr.Set(o.Spec.Linux.Resources); err != nil {
			return fmt.Errorf("linux.resources: %w", err)
		}
		clk.step("create: cgroup limits set")
		return runCreateHooks(st)
	}
	ready := func() (*CreatedInfo, error) {
		clk.step("create: init ready")
		if o.PidFile != "" {
			if err := writeFileAtomic(o.PidFile, []byte(strconv.Itoa(pid)), 0o644); err != nil {
				return nil, fmt.Errorf("write pid file %s: %w", o.PidFile, err)
			}
		}
		st.Status = Created
		if err := s.save(st); err != nil {
			return nil, err
		}
		return &CreatedInfo{Pid: pid, PidStart: start, Child: child}, nil
	}
	r := <-planCh
	if r.err != nil {
		return nil, r.err
	}
	clk.step("create: plan compiled")
	if _, err := parentSock.Write(r.rec); err != nil {
		return nil, fmt.Errorf("send plan to container init: %w", err)
	}
	listener := func(conn io.Reader) error {
		return handListener(conn, &listenerAgent{o.Spec.Linux.Seccomp, pid, st.oci(Creating)})
	}
	if err := cInitExchange(syncConn(parentSock, o.Spec.Linux.Seccomp), clk, hooksPoint, listener); err != nil {
		return nil, err
	}
	return ready()
}

// delegatesCgroup says whether the container's cgroup is handed to its
// root: with new user and cgroup namespaces, and cgroupfs mounted
// read-write at /sys/fs/cgroup, as runc decides. A read-only cgroupfs
// (runc's default spec) says the container is not to manage its cgroup:
// handed over, its root could still write there through a cgroup2 mount
// of its own.
func delegatesCgroup(s *specs.Spec, plan *nsPlan) bool {
	if !plan.has(specs.CgroupNamespace) || !plan.has(specs.UserNamespace) {
		return false
	}
	for _, m := range s.Mounts {
		if (m.Type != "cgroup" && m.Source != "cgroup") || filepath.Clean(m.Destination) != "/sys/fs/cgroup" {
			continue
		}
		if opts, err := rootfs.ParseMountOptions(m.Options); err == nil && opts.Flags&unix.MS_RDONLY == 0 {
			return true
		}
	}
	return false
}

// hostRoot returns the host ids that container root maps to, if it is mapped.
func hostRoot(l *specs.Linux) (int, int, bool) {
	uid, uok := mapToHost(l.UIDMappings, 0)
	gid, gok := mapToHost(l.GIDMappings, 0)
	return uid, gid, uok && gok
}

func mapToHost(m []specs.LinuxIDMapping, id uint32) (int, bool) {
	for _, e := range m {
		if id >= e.ContainerID && id-e.ContainerID < e.Size {
			return int(e.HostID + id - e.ContainerID), true
		}
	}
	return 0, false
}

func joins(p *nsPlan, name string) bool {
	for _, j := range p.join {
		if strings.HasPrefix(j, name+":") {
			return true
		}
	}
	return false
}

// runCreateHooks runs prestart (deprecated, same point) and createRuntime
// hooks in the runtime's namespaces, as the spec orders them.
func runCreateHooks(st *State) error {
	h := st.view().Hooks
	if h == nil {
		return nil
	}
	state := st.oci(Creating)
	if err := hooks.Run("prestart", h.Prestart, state); err != nil {
		return err
	}
	return hooks.Run("createRuntime", h.CreateRuntime, state)
}

// preservedFiles returns the caller's fds 3..3+n-1 to hand to the container,
// extended to the systemd socket-activation fds when LISTEN_FDS is set (as
// runc does), with the environment that tells the workload about them.
func preservedFiles(n int) ([]*os.File, []string) {
	var env []string
	if v := os.Getenv("LISTEN_FDS"); v != "" {
		if l, err := strconv.Atoi(v); err == nil && l > 0 {
			env = []string{"LISTEN_FDS=" + v, "LISTEN_PID=1"}
			if l > n {
				n = l
			}
		}
	}
	files := make([]*os.File, 0, n)
	for fd := 3; fd < 3+n; fd++ {
		files = append(files, os.NewFile(uintptr(fd), "preserved-"+strconv.Itoa(fd)))
	}
	return files, env
}

// setupNetwork moves linux.netDevices into the container's network
// namespace and sets up the veth of the berth.net.* annotations. What it is
// about to make is saved first, so a delete after a crash finds it.
func setupNetwork(root string, st *State, s *store, netCfg *network.Config, pid int) error {
	nsPath := "/proc/" + strconv.Itoa(pid) + "/ns/net"
	if devs := st.Config.Linux.NetDevices; len(devs) > 0 {
		moved, err := network.MoveNetDevices(devs, nsPath)
		st.NetDevices = moved
		if serr := s.save(st); serr != nil && err == nil {
			err = serr
		}
		if err != nil {
			return fmt.Errorf("linux.netDevices: %w", err)
		}
	}
	if netCfg == nil {
		return nil
	}
	st.Network = network.Planned(root, st.ID, netCfg)
	if err := s.save(st); err != nil {
		return err
	}
	r, err := network.Setup(root, st.ID, netCfg, nsPath)
	if err != nil {
		return err
	}
	st.Network = r
	return s.save(st)
}

// initCmd prepares `berth init` for create and exec: run from the read-only
// copy of berth's binary (CVE-2019-5736; u: the container's user
// namespace), the sync socket's fd number in the environment the nsenter
// stub reads. The caller closes exe after Start.
func initCmd(extra []*os.File, syncFD int, u containerIDs, stdin, stdout, stderr *os.File) (*exec.Cmd, *os.File, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, nil, fmt.Errorf("find berth binary: %w", err)
	}
	ro, err := selfExe(u)
	if err != nil {
		return nil, nil, err
	}
	exe, exePath, err := exeFor(ro, 3+len(extra))
	ro.Close()
	if err != nil {
		return nil, nil, err
	}
	return &exec.Cmd{
		Path:       exePath,
		Args:       []string{filepath.Base(self), "init"},
		Env:        []string{nsenter.EnvInitFD + "=" + strconv.Itoa(syncFD), "GOGC=off"},
		Stdin:      stdin,
		Stdout:     stdout,
		Stderr:     stderr,
		ExtraFiles: extra,
	}, exe, nil
}
