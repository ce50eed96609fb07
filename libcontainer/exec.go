package libcontainer

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"berth/libcontainer/cgroups"
)

// ExecOpts describe a process to start in a running container.
type ExecOpts struct {
	Process *specs.Process
	PidFile string
	// Console is a connected console socket; required when Process.Terminal.
	Console     *os.File
	PreserveFDs int
	// IgnorePaused allows exec into a paused container.
	IgnorePaused bool
	// Cgroup names a sub-cgroup of the container to run in (runc's exec
	// --cgroup): "sub" for every controller, or "ctrl[,ctrl]:sub" entries.
	Cgroup                []string
	Stdin, Stdout, Stderr *os.File
}

// Exec starts o.Process inside the running container id: the nsenter stub
// joins each of the init's namespaces, the Go half applies the process's
// user, capabilities, rlimits, seccomp and cwd, then execs.
func Exec(root, id string, o *ExecOpts) (info *CreatedInfo, err error) {
	t0 := time.Now()
	c, err := Load(root, id)
	if err != nil {
		return nil, err
	}
	st := c.state
	switch status := c.Status(); {
	case status == Paused && !o.IgnorePaused:
		return nil, fmt.Errorf("cannot exec in container %q: it is paused (resume it, or use --ignore-paused)", id)
	case status != Running && status != Created && status != Paused:
		return nil, fmt.Errorf("cannot exec in container %q: it is %s", id, status)
	}
	if o.Process == nil || len(o.Process.Args) == 0 {
		return nil, errors.New("exec: process.args must not be empty")
	}
	if o.Process.Terminal && o.Console == nil {
		return nil, errors.New("exec: process.terminal is true but no --console-socket was given")
	}
	plan := &nsPlan{}
	for _, ns := range st.Config.Linux.Namespaces {
		f, ok := nsFlags[ns.Type]
		if !ok {
			continue
		}
		plan.join = append(plan.join, f.name+":/proc/"+strconv.Itoa(st.Pid)+"/ns/"+f.proc)
	}
	// The namespace paths name the init by pid: make sure it still is the init.
	if !alive(st.Pid, st.PidStart) {
		return nil, fmt.Errorf("cannot exec in container %q: it is stopped", id)
	}

	spec := *st.Config
	spec.Process = o.Process
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("socketpair: %w", err)
	}
	parentSock := os.NewFile(uintptr(fds[0]), "exec-parent")
	childSock := os.NewFile(uintptr(fds[1]), "exec-child")
	defer parentSock.Close()
	preserve, listenEnv := preservedFiles(o.PreserveFDs)
	execSpec := withProcessEnv(&spec, listenEnv)
	extra := append([]*os.File{}, preserve...)
	base := 3 + len(extra)
	extra = append(extra, childSock)
	consoleFD := -1
	if o.Console != nil {
		extra = append(extra, o.Console)
		consoleFD = base + 1
	}
	cmd, exe, err := initCmd(extra, base, o.Stdin, o.Stdout, o.Stderr)
	if err != nil {
		return nil, err
	}
	defer exe.Close()
	mgr := st.cgroup()
	if len(o.Cgroup) > 0 {
		if mgr, err = subCgroup(st, o.Cgroup); err != nil {
			return nil, err
		}
	}
	// CLONE_INTO_CGROUP for the container's own cgroup; a sub-cgroup the
	// workload made is joined by a cgroup.procs write, which the kernel
	// accepts in cases clone3 refuses (EOPNOTSUPP seen on v2).
	if mgr != nil && len(o.Cgroup) == 0 {
		cgDir, err := mgr.OpenDir()
		if err != nil {
			return nil, fmt.Errorf("exec: open the container's cgroup: %w", err)
		}
		if cgDir != nil {
			defer cgDir.Close()
			cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(cgDir.Fd())}
			mgr = nil // born there
		}
	}
	if err := cmd.Start(); err != nil {
		childSock.Close()
		return nil, fmt.Errorf("start exec process: %w", err)
	}
	childSock.Close()
	if mgr != nil {
		if err := mgr.Apply(cmd.Process.Pid); err != nil {
			cmd.Process.Kill()
			cmd.Wait()
			return nil, fmt.Errorf("exec: join the container's cgroup: %w", err)
		}
	}
	defer func() {
		if err != nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()
	pid, err := stubExchange(parentSock, plan, func(int) error { return errors.New("exec never creates a user namespace") })
	if err != nil {
		return nil, fmt.Errorf("exec in container %q: %w", id, err)
	}
	child := pid == cmd.Process.Pid
	if !child {
		cmd.Wait()
	}
	trace("exec: namespaces joined", t0)
	ch := newChannel(parentSock)
	cfg := &initConfig{
		ID:          id,
		Bundle:      st.Bundle,
		Rootfs:      st.Rootfs,
		Spec:        execSpec,
		Exec:        true,
		PreserveFDs: len(preserve),
		StateDirFD:  -1,
		ConsoleFD:   consoleFD,
		Pid:         pid,
	}
	if err := ch.send(cfg); err != nil {
		return nil, fmt.Errorf("send config to exec process: %w", err)
	}
	var m message
	switch err := ch.recv(&m); {
	case errors.Is(err, io.EOF):
		// The socket closed on exec: the process runs.
	case err != nil:
		return nil, fmt.Errorf("exec in container %q: %w", id, err)
	case m.Type == msgError:
		if !child {
			killPid(pid)
		}
		return nil, fmt.Errorf("exec in container %q: %s", id, m.Msg)
	default:
		return nil, fmt.Errorf("exec in container %q: unexpected message %q", id, m.Type)
	}
	trace("exec: process started", t0)
	if o.PidFile != "" {
		if err := writeFileAtomic(o.PidFile, []byte(strconv.Itoa(pid)), 0o644); err != nil {
			return nil, fmt.Errorf("write pid file %s: %w", o.PidFile, err)
		}
	}
	return &CreatedInfo{Pid: pid, Child: child}, nil
}

func killPid(pid int) {
	if _, start, err := procStat(pid); err == nil {
		signalProcess(pid, start, unix.SIGKILL)
	}
}

// subCgroup is the manager of an existing sub-cgroup of the container.
func subCgroup(st *State, specs []string) (cgroups.Manager, error) {
	if len(st.CgroupPaths) == 0 {
		return nil, fmt.Errorf("exec --cgroup: container %q has no cgroup", st.ID)
	}
	if _, unified := st.CgroupPaths["unified"]; unified && len(st.CgroupPaths) == 1 {
		// The kernel refused both clone3 CLONE_INTO_CGROUP and cgroup.procs
		// into a workload-made sub-cgroup here (EOPNOTSUPP); until that is
		// understood, say so instead of failing obscurely.
		return nil, errors.New("exec --cgroup: not supported on cgroup v2 yet")
	}
	sub := map[string]string{}
	for _, spec := range specs {
		ctrls, path, found := strings.Cut(spec, ":")
		if !found {
			path, ctrls = ctrls, ""
		}
		if path == "" || strings.Contains(path, "..") || filepath.IsAbs(path) {
			return nil, fmt.Errorf("exec --cgroup %q: want a relative path without ..", spec)
		}
		for key := range st.CgroupPaths {
			if ctrls == "" || slices.Contains(strings.Split(ctrls, ","), key) || key == "unified" && len(st.CgroupPaths) == 1 {
				sub[key] = path
			}
		}
	}
	paths := map[string]string{}
	for key, dir := range st.CgroupPaths {
		p := dir
		if s, ok := sub[key]; ok {
			p = filepath.Join(dir, s)
			if fi, err := os.Stat(p); err != nil || !fi.IsDir() {
				return nil, fmt.Errorf("exec --cgroup: sub-cgroup %s does not exist", p)
			}
		}
		paths[key] = p
	}
	return cgroups.Load(paths)
}
