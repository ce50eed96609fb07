// Command berth is a low-level OCI container runtime with runc's command line.
package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"berth/libcontainer"
	_ "berth/nsenter" // the namespace stub runs before main in `berth init`
)

// version is set at build time (-ldflags "-X main.version=...").
var version = "0.1.0-dev"

// exitUnknownCommand is the status for a command that does not exist: 3,
// as urfave/cli's help (and so runc) exits for `help NOSUCH`.
const exitUnknownCommand = 3

func main() {
	// `berth init` is the container init and exec process, started by
	// create and exec: the nsenter stub (C, before main) runs it to the
	// workload's execve and never returns here. Reaching main means it
	// was not started by berth.
	if len(os.Args) > 1 && os.Args[1] == "init" {
		fmt.Fprintln(os.Stderr, "berth init: must be started by berth create or exec")
		os.Exit(1)
	}
	slog.SetDefault(slog.New(&humanHandler{w: os.Stderr, level: slog.LevelInfo}))
	app := newApp()
	if err := app.Run(prepare(app, os.Args)); err != nil {
		var ec exitCode
		if errors.As(err, &ec) {
			os.Exit(int(ec))
		}
		fatal(err, exitStatus(err))
	}
}

// newApp is berth's command line: runc's global flags and commands, Go flag
// syntax (-x or --x, --x=v or --x v), flags ending at the first argument.
func newApp() *cli.App {
	app := &cli.App{
		Name:    "berth",
		Usage:   "a low-level OCI container runtime",
		Version: version,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "root", Value: libcontainer.DefaultRootHere(),
				Usage: "directory for container state (not root: $XDG_RUNTIME_DIR/berth)"},
			&cli.StringFlag{Name: "log", Usage: "log file (default: stderr)"},
			&cli.StringFlag{Name: "log-format", Value: "text", Usage: "log format: text or json"},
			&cli.BoolFlag{Name: "debug", Usage: "log debug messages, including per-step timings"},
			&cli.BoolFlag{Name: "systemd-cgroup", Usage: "make each container's cgroup a systemd unit (linux.cgroupsPath \"slice:prefix:name\")"},
			&cli.StringFlag{Name: "criu", Usage: "path to criu, for runc's command line (berth has no checkpoint/restore)"},
			&cli.StringFlag{Name: "rootless", Value: "auto", Usage: "rootless handling of cgroups and networking: true, false or auto (not root, or root of a user namespace)"},
		},
		Before: setupLogging,
		Commands: []*cli.Command{
			createCommand, startCommand, runCommand, stateCommand, killCommand,
			deleteCommand, listCommand, specCommand, execCommand, featuresCommand,
			pauseCommand, resumeCommand, psCommand, updateCommand, eventsCommand,
			bundleCommand, doctorCommand,
		},
		// Reached with no command, or one that does not exist.
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return cli.ShowAppHelp(c)
			}
			return cli.Exit(fmt.Errorf("no command %q (%s --help lists them)", c.Args().First(), c.App.Name), exitUnknownCommand)
		},
		// An environment value may hold a comma (exec -e A=x,y is one
		// variable), as may a mount or cgroup path: list flags take each
		// value whole.
		DisableSliceFlagSeparator: true,
		// A usage error is one line, as every other error, not the help.
		OnUsageError: usageError,
		// main decides the exit status; urfave/cli would call os.Exit.
		ExitErrHandler: func(*cli.Context, error) {},
	}
	for _, cmd := range app.Commands {
		cmd.OnUsageError = usageError
		// Without this every command gets a "help" (alias "h")
		// subcommand, and `berth state h` shows help instead of the
		// state of container h. `berth help CMD` and `CMD --help` stay.
		cmd.HideHelpCommand = true
	}
	return app
}

func usageError(c *cli.Context, err error, isSubcommand bool) error {
	if isSubcommand {
		return fmt.Errorf("%s: %w", c.Command.Name, err)
	}
	return err
}

// exitStatus is runc's status for an error: 1 for a failure, usage errors
// included; 255 for exec's own failures (execFailure); 3 for an unknown
// command. Only an error that is itself a cli.ExitCoder (cli.Exit's)
// carries its status, not one it wraps: an *exec.ExitError (a failed
// hook's) has an ExitCode method too, and its status is not berth's.
func exitStatus(err error) int {
	switch e := err.(type) {
	case *exec.ExitError:
		return 1
	case cli.ExitCoder:
		return e.ExitCode()
	}
	return 1
}

// afterArgs are the commands whose own flags may also follow their
// arguments (`update ID --memory 1M`), as runc 1.1's parser (urfave/cli
// v1) took them.
var afterArgs = []*cli.Command{updateCommand}

// prepare readies app to run args (os.Args) and returns the arguments to
// run it with: an afterArgs command gets its flags moved in front of its
// arguments (flagsAfterArgs), the flags urfave/cli will look up (the
// command's, the global ones, its own help and version flags) get their
// names made once (fixedNames), and a command given is the app's only one.
// With no command, or one berth does not have, the app stays whole for
// the help and the unknown-command error.
func prepare(app *cli.App, args []string) []string {
	// urfave/cli appends these to the app and to every command where that
	// same value is not yet: they are wrapped before it adds any.
	cli.HelpFlag, cli.VersionFlag = fixedName(cli.HelpFlag), fixedName(cli.VersionFlag)
	if i := commandIndex(app, args); i < len(args) {
		if cmd := app.Command(args[i]); cmd != nil {
			if slices.Contains(afterArgs, cmd) {
				args = flagsAfterArgs(cmd, args, i)
			}
			cmd.Flags = fixedNames(cmd.Flags)
			// Running it needs no other: urfave/cli's set-up of the
			// others (help names, flag categories) took ~25 us.
			app.Commands = []*cli.Command{cmd}
		}
	}
	app.Flags = fixedNames(app.Flags)
	return args
}

// commandIndex is where the command is in args: the first argument after
// the global flags (len(args) when there is none).
func commandIndex(app *cli.App, args []string) int {
	i := 1
	for i < len(args) {
		f, hasValue := lookupFlag(app.Flags, args[i])
		if f == nil {
			break
		}
		i++
		if !hasValue && !isBool(f) {
			i++
		}
	}
	return min(i, len(args))
}

// flagsAfterArgs returns args with the flags of cmd, at args[i], that
// follow its arguments, each with its value, moved in front of them, up to
// a "--". Anything else that starts with "-" stays an argument, as does a
// flag missing its value (moved, it would take the first argument as one).
func flagsAfterArgs(cmd *cli.Command, args []string, i int) []string {
	rest := args[i+1:]
	front := make([]string, 0, len(rest))
	var back []string
	for j := 0; j < len(rest); j++ {
		a := rest[j]
		if a == "--" {
			back = append(back, rest[j:]...)
			break
		}
		f, hasValue := lookupFlag(cmd.Flags, a)
		takesNext := f != nil && !hasValue && !isBool(f)
		if f == nil || takesNext && j+1 == len(rest) {
			back = append(back, a)
			continue
		}
		front = append(front, a)
		if takesNext {
			j++
			front = append(front, rest[j])
		}
	}
	out := append(args[:i+1:i+1], front...)
	return append(out, back...)
}

// lookupFlag finds the flag an argument (-x, --x, -x=v, --x=v) names among
// flags, and whether the argument holds its value.
func lookupFlag(flags []cli.Flag, arg string) (cli.Flag, bool) {
	if len(arg) < 2 || arg[0] != '-' {
		return nil, false
	}
	name := strings.TrimPrefix(arg[1:], "-")
	name, _, hasValue := strings.Cut(name, "=")
	for _, f := range flags {
		for _, n := range f.Names() {
			if n == name {
				return f, hasValue
			}
		}
	}
	return nil, false
}

func isBool(f cli.Flag) bool {
	switch f.(type) {
	case *cli.BoolFlag, *boolFlag:
		return true
	}
	return false
}

// fixedNames returns flags with names made once. urfave/cli looks a flag
// up by its Names, and each call of a flag's Names runs a regular
// expression over every name (it cuts a v1-style "name, alias" short);
// running a command calls them about flags x flags times. With the
// wrappers, which answer with names made here and leave everything else to
// the flag inside, urfave/cli's part of a fresh `exec` went from 0.48 to
// 0.26 ms, of a `state` from 0.16 to 0.13 ms.
func fixedNames(flags []cli.Flag) []cli.Flag {
	out := make([]cli.Flag, len(flags))
	for i, f := range flags {
		out[i] = fixedName(f)
	}
	return out
}

// fixedName wraps one flag; a type it does not know (a wrapper too) is
// left as it is. berth's names hold no comma or space, so they are what
// urfave/cli's Names would make of them.
func fixedName(f cli.Flag) cli.Flag {
	names := func(name string, aliases []string) []string {
		return append([]string{name}, aliases...)
	}
	switch f := f.(type) {
	case *cli.StringFlag:
		return &stringFlag{f, names(f.Name, f.Aliases)}
	case *cli.BoolFlag:
		return &boolFlag{f, names(f.Name, f.Aliases)}
	case *cli.IntFlag:
		return &intFlag{f, names(f.Name, f.Aliases)}
	case *cli.DurationFlag:
		return &durationFlag{f, names(f.Name, f.Aliases)}
	case *cli.StringSliceFlag:
		return &stringSliceFlag{f, names(f.Name, f.Aliases)}
	}
	return f
}

type stringFlag struct {
	*cli.StringFlag
	names []string
}

type boolFlag struct {
	*cli.BoolFlag
	names []string
}

type intFlag struct {
	*cli.IntFlag
	names []string
}

type durationFlag struct {
	*cli.DurationFlag
	names []string
}

type stringSliceFlag struct {
	*cli.StringSliceFlag
	names []string
}

func (f *stringFlag) Names() []string      { return f.names }
func (f *boolFlag) Names() []string        { return f.names }
func (f *intFlag) Names() []string         { return f.names }
func (f *durationFlag) Names() []string    { return f.names }
func (f *stringSliceFlag) Names() []string { return f.names }

// exitCode ends berth with a given status without an error message (run
// and exec pass on the process's exit status this way).
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }
