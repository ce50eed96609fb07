package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/urfave/cli/v2"

	"berth/cgroups/manager"
)

// logToFile is true when --log sends the log somewhere other than stderr: an
// error then goes to both, since a person at the terminal must see it too.
var logToFile bool

func setupLogging(c *cli.Context) error {
	level := slog.LevelInfo
	if c.Bool("debug") {
		level = slog.LevelDebug
	}
	var out io.Writer = os.Stderr
	if p := c.String("log"); p != "" {
		f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_APPEND|os.O_SYNC, 0o644)
		if err != nil {
			return fmt.Errorf("open log file %s: %w", p, err)
		}
		out = f
		logToFile = true
	}
	var h slog.Handler
	switch c.String("log-format") {
	case "json":
		h = slog.NewJSONHandler(out, &slog.HandlerOptions{Level: level, ReplaceAttr: engineAttrs})
	case "text", "":
		if logToFile {
			h = slog.NewTextHandler(out, &slog.HandlerOptions{Level: level, ReplaceAttr: engineAttrs})
		} else {
			h = &humanHandler{w: out, level: level}
		}
	default:
		return fmt.Errorf("--log-format %q: must be text or json", c.String("log-format"))
	}
	slog.SetDefault(slog.New(h))
	if c.Bool("systemd-cgroup") {
		// The driver chooser's own answer, before any command runs.
		return manager.ErrSystemdDriver
	}
	return nil
}

// engineAttrs writes levels in lower case and times in RFC 3339, the shape
// containerd and conmon parse from runc's log.
func engineAttrs(groups []string, a slog.Attr) slog.Attr {
	if len(groups) > 0 {
		return a
	}
	switch a.Key {
	case slog.LevelKey:
		if l, ok := a.Value.Any().(slog.Level); ok {
			s := strings.ToLower(l.String())
			if s == "warn" {
				s = "warning"
			}
			return slog.String(slog.LevelKey, s)
		}
	case slog.TimeKey:
		return slog.String(slog.TimeKey, a.Value.Time().Format(time.RFC3339Nano))
	}
	return a
}

// humanHandler prints "berth: level: msg k=v" lines for a person at a terminal.
type humanHandler struct {
	mu    sync.Mutex
	w     io.Writer
	level slog.Level
	attrs []slog.Attr
}

func (h *humanHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func (h *humanHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString("berth: ")
	if r.Level != slog.LevelError {
		b.WriteString(strings.ToLower(r.Level.String()) + ": ")
	}
	b.WriteString(r.Message)
	add := func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	}
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(add)
	b.WriteByte('\n')
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := io.WriteString(h.w, b.String())
	return err
}

func (h *humanHandler) WithAttrs(as []slog.Attr) slog.Handler {
	n := &humanHandler{w: h.w, level: h.level}
	n.attrs = append(append(n.attrs, h.attrs...), as...)
	return n
}

func (h *humanHandler) WithGroup(string) slog.Handler { return h }

// fatal reports err and exits with status.
func fatal(err error, status int) {
	slog.Error(err.Error())
	if logToFile {
		fmt.Fprintln(os.Stderr, "berth:", err)
	}
	os.Exit(status)
}
