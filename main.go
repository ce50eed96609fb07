// Command berth is a low-level OCI container runtime with runc's command line.
package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"

	"berth/cli"

	"berth/libcontainer"
	_ "berth/nsenter" // the namespace stub runs before main in `berth init`
)

// version is set at build time (-ldflags "-X main.version=...").
var version = "0.1.0-dev"

func main() {
	// The container init skips the CLI entirely: it is on the hot path of
	// every create and has nothing to parse.
	if len(os.Args) > 1 && os.Args[1] == "init" {
		libcontainer.Init()
		return
	}
	slog.SetDefault(slog.New(&humanHandler{w: os.Stderr, level: slog.LevelInfo}))
	app := &cli.App{
		Name:    "berth",
		Usage:   "a low-level OCI container runtime",
		Version: version,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "root", Value: "/run/berth", Usage: "directory for container state"},
			&cli.StringFlag{Name: "log", Usage: "log file (default: stderr)"},
			&cli.StringFlag{Name: "log-format", Value: "text", Usage: "log format: text or json"},
			&cli.BoolFlag{Name: "debug", Usage: "log debug messages, including per-step timings"},
			&cli.BoolFlag{Name: "systemd-cgroup", Usage: "use systemd for cgroups (not supported yet)"},
			&cli.StringFlag{Name: "criu", Hidden: true},
			&cli.StringFlag{Name: "rootless", Hidden: true},
		},
		Before: setupLogging,
		Commands: []*cli.Command{
			createCommand, startCommand, runCommand, stateCommand, killCommand,
			deleteCommand, listCommand, specCommand, execCommand, featuresCommand,
			pauseCommand, resumeCommand, psCommand, updateCommand, eventsCommand,
			bundleCommand, doctorCommand,
		},
	}
	if err := app.Run(os.Args); err != nil {
		var ec exitCode
		if errors.As(err, &ec) {
			os.Exit(int(ec))
		}
		// runc's statuses: 1 for a failure, usage errors included; 255
		// for exec's own failures (execFailure); 3 for an unknown command.
		status := 1
		var coded *cli.ExitError
		if errors.As(err, &coded) {
			status = coded.Code
		}
		fatal(err, status)
	}
}

// exitCode ends berth with a given status without an error message (run
// and exec pass on the process's exit status this way).
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }
