package main

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/urfave/cli/v2"

	"berth/libcontainer"
	"berth/spec"
)

var execCommand = &cli.Command{
	Name:      "exec",
	Usage:     "run a new process inside a running container",
	ArgsUsage: "<container-id> [command [args...]]",
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "process", Aliases: []string{"p"}, Usage: "path to a process.json (OCI process) to run"},
		&cli.BoolFlag{Name: "tty", Aliases: []string{"t"}, Usage: "allocate a pseudo-terminal"},
		&cli.StringFlag{Name: "console-socket", Usage: "unix socket that receives the pty master"},
		&cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "do not wait for the process"},
		&cli.StringFlag{Name: "pid-file", Usage: "write the process's pid to this file"},
		&cli.StringFlag{Name: "cwd", Usage: "working directory inside the container"},
		&cli.StringSliceFlag{Name: "env", Aliases: []string{"e"}, Usage: "set an environment variable (NAME=VALUE)"},
		&cli.StringFlag{Name: "user", Aliases: []string{"u"}, Usage: "uid[:gid] to run as"},
		// A list flag takes each value whole (the app disables the
		// separator for -e); -g splits its own, so -g 5,6 is two gids.
		&cli.StringSliceFlag{Name: "additional-gids", Aliases: []string{"g"}, Usage: "additional group ids (repeatable, or comma-separated)"},
		&cli.StringSliceFlag{Name: "cap", Aliases: []string{"c"}, Usage: "add a capability"},
		&cli.BoolFlag{Name: "no-new-privs", Usage: "set no_new_privs for the process"},
		&cli.StringFlag{Name: "apparmor", Usage: "AppArmor profile to run the process under (sets process.apparmorProfile)"},
		&cli.StringFlag{Name: "process-label", Usage: "SELinux label to run the process with (sets process.selinuxLabel)"},
		&cli.IntFlag{Name: "preserve-fds", Usage: "pass this many fds from 3 on to the process"},
		&cli.StringSliceFlag{Name: "cgroup", Usage: "run in this existing sub-cgroup of the container: PATH (relative to the container's cgroup), or on cgroup v1 CTRL[,CTRL]:PATH (repeatable)"},
		&cli.BoolFlag{Name: "ignore-paused", Usage: "allow exec in a paused container"},
		pidfdSocketFlag,
	},
	Action: func(c *cli.Context) error {
		if c.NArg() < 1 {
			return errors.New("exec: expects <container-id> [command [args...]]")
		}
		// A malformed -g is a usage error (status 1), as a value a
		// flag cannot parse is.
		if _, err := additionalGids(c); err != nil {
			return err
		}
		return execFailure(execAction(c))
	},
}

// execFailure gives exec's own failures exit status 255, as runc does, so
// that an engine tells them from the exit status of the process, which is
// passed on (exitCode) as it is.
func execFailure(err error) error {
	var ec exitCode
	if err == nil || errors.As(err, &ec) {
		return err
	}
	return cli.Exit(err, 255)
}

// execAction is exec once its arguments are checked.
func execAction(c *cli.Context) error {
	root, id := c.String("root"), c.Args().First()
	ct, err := libcontainer.Load(root, id)
	if err != nil {
		return err
	}
	proc, err := execProcessSpec(c, ct.Process())
	if err != nil {
		return err
	}
	// Also over --process: a flag given is never silently dropped.
	if v := c.String("apparmor"); v != "" {
		proc.ApparmorProfile = v
	}
	if v := c.String("process-label"); v != "" {
		proc.SelinuxLabel = v
	}
	opts := &libcontainer.ExecOpts{
		Process:      proc,
		PidFile:      c.String("pid-file"),
		PreserveFDs:  c.Int("preserve-fds"),
		IgnorePaused: c.Bool("ignore-paused"),
		Cgroup:       c.StringSlice("cgroup"),
		Stdin:        os.Stdin,
		Stdout:       os.Stdout,
		Stderr:       os.Stderr,
	}
	detach := c.Bool("detach")
	term, err := newTerminal(proc.Terminal, c.String("console-socket"), detach)
	if err != nil {
		return err
	}
	defer term.close()
	opts.Console, opts.ConsoleRelay = term.initEnd, term.relayEnd != nil
	if !detach {
		if err := becomeSubreaper(); err != nil {
			return err
		}
	}
	pidfdSock, err := dialPidfdSocket(c.String("pidfd-socket"))
	if err != nil {
		return err
	}
	defer pidfdSock.close()
	sigs := forwardSignals(!detach)
	info, err := ct.Exec(opts)
	term.closeInitEnd()
	if err != nil {
		return err
	}
	if err := pidfdSock.send(info.Pid); err != nil {
		// The caller is told the exec failed: its process must not run on.
		killExeced(info.Pid)
		return err
	}
	if detach {
		return nil
	}
	if err := term.attach(); err != nil {
		return err
	}
	status := waitForward(info.Pid, sigs)
	term.detach()
	if status != 0 {
		return exitCode(status)
	}
	return nil
}

// execProcessSpec builds the process to run: --process as given, or the
// container's own process with the command line and flags applied (runc's rule).
func execProcessSpec(c *cli.Context, base *specs.Process) (*specs.Process, error) {
	if path := c.String("process"); path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("--process: %w", err)
		}
		p := &specs.Process{}
		if err := spec.DecodeJSON(data, p); err != nil {
			return nil, fmt.Errorf("--process %s: %w", path, err)
		}
		if len(p.Args) == 0 {
			return nil, fmt.Errorf("--process %s: args must not be empty", path)
		}
		if p.Cwd == "" {
			p.Cwd = "/"
		}
		return p, nil
	}
	if c.NArg() < 2 {
		return nil, errors.New("exec: no command given (use --process or <container-id> <command>)")
	}
	p := &specs.Process{}
	if base != nil {
		cp := *base
		p = &cp
		if base.Capabilities != nil {
			caps := *base.Capabilities
			p.Capabilities = &caps
		}
	}
	p.Args = c.Args().Slice()[1:]
	p.Terminal = c.Bool("tty")
	p.ConsoleSize = nil
	if cwd := c.String("cwd"); cwd != "" {
		p.Cwd = cwd
	}
	if p.Cwd == "" {
		p.Cwd = "/"
	}
	p.Env = mergeEnv(p.Env, c.StringSlice("env"))
	if u := c.String("user"); u != "" {
		uid, gid, err := parseUser(u)
		if err != nil {
			return nil, err
		}
		p.User.UID, p.User.GID = uid, gid
	}
	gids, err := additionalGids(c)
	if err != nil {
		return nil, err
	}
	p.User.AdditionalGids = append(p.User.AdditionalGids, gids...)
	if addCaps := c.StringSlice("cap"); len(addCaps) > 0 {
		if p.Capabilities == nil {
			p.Capabilities = &specs.LinuxCapabilities{}
		}
		pc := p.Capabilities
		for _, name := range addCaps {
			pc.Bounding = append(pc.Bounding, name)
			pc.Effective = append(pc.Effective, name)
			pc.Permitted = append(pc.Permitted, name)
			// Never into the inheritable set (CVE-2022-29162: a workload's
			// setuid or file-capability children would inherit it). Ambient
			// needs the capability inheritable already, so only those the
			// spec made inheritable go there too.
			if slices.Contains(pc.Inheritable, name) {
				pc.Ambient = append(pc.Ambient, name)
			}
		}
	}
	if c.Bool("no-new-privs") {
		p.NoNewPrivileges = true
	}
	return p, nil
}

// additionalGids reads -g: each value one gid or several, comma-separated.
func additionalGids(c *cli.Context) ([]uint32, error) {
	var gids []uint32
	for _, v := range c.StringSlice("additional-gids") {
		for _, s := range strings.Split(v, ",") {
			g, err := strconv.ParseUint(strings.TrimSpace(s), 0, 32)
			if err != nil || g > 1<<32-2 {
				return nil, fmt.Errorf("--additional-gids %q: want gids from 0 to %d", v, uint32(1<<32-2))
			}
			gids = append(gids, uint32(g))
		}
	}
	return gids, nil
}

// mergeEnv overrides base's variables with the -e ones by name.
func mergeEnv(base, add []string) []string {
	out := append([]string{}, base...)
	for _, kv := range add {
		name, _, _ := strings.Cut(kv, "=")
		replaced := false
		for i, e := range out {
			if n, _, _ := strings.Cut(e, "="); n == name {
				out[i] = kv
				replaced = true
			}
		}
		if !replaced {
			out = append(out, kv)
		}
	}
	return out
}

func parseUser(u string) (uint32, uint32, error) {
	us, gs, hasGid := strings.Cut(u, ":")
	uid, err := strconv.ParseUint(us, 10, 32)
	if err != nil {
		return 0, 0, fmt.Errorf("--user %q: want numeric uid[:gid]", u)
	}
	gid := uint64(0)
	if hasGid {
		if gid, err = strconv.ParseUint(gs, 10, 32); err != nil {
			return 0, 0, fmt.Errorf("--user %q: want numeric uid[:gid]", u)
		}
	}
	return uint32(uid), uint32(gid), nil
}
