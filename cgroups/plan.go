package cgroups

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Set is split in two: a pure planner turns linux.resources into the
// list of file writes (reading the cgroup only through a prober, so tests
// can answer with a fake), and run performs them.

// prober answers the few questions the planners ask the cgroup: which
// files exist (kernel features, the block I/O scheduler) and the current
// value of a file (write order between limits, checkBeforeUpdate).
type prober interface {
	exists(dir, file string) bool
	read(dir, file string) (string, error)
}

type fsProber struct{}

func (fsProber) exists(dir, file string) bool { return exists(dir + "/" + file) }
func (fsProber) read(dir, file string) (string, error) {
	return readTrimmed(dir, file)
}

// check is what to do after (or instead of failing) a write.
type check uint8

const (
	checkNone check = iota
	// checkShares: the v1 kernel clamps cpu.shares silently; read back.
	checkShares
	// checkApplied: a kernel may accept and ignore the value (v1 kernel
	// memory since 5.16); read back and warn.
	checkApplied
	// softEINVAL: EINVAL means the kernel no longer supports the knob
	// (memory.use_hierarchy=0); warn and go on.
	softEINVAL
)

type write struct {
	dir, file, value, field string
	// retry: on EINVAL try again after the rest of the plan, because
	// the kernel validates each value against the other's current one
	// (cpu period vs quota vs burst, rt period vs runtime).
	retry bool
	check check
}

type plan struct {
	writes   []write
	warnings []string
}

func (p *plan) add(w write) { p.writes = append(p.writes, w) }

func (p *plan) warn(format string, args ...any) {
	p.warnings = append(p.warnings, fmt.Sprintf(format, args...))
}

// run performs the plan's writes in order. Writes that failed with EINVAL
// and may retry are tried again, round after round, while a round makes
// progress.
func (p *plan) run() error {
	for _, w := range p.warnings {
		slog.Warn(w)
	}
	var later []write
	for _, w := range p.writes {
		err := w.do()
		if err == nil {
			continue
		}
		if w.retry && errors.Is(err, unix.EINVAL) {
			later = append(later, w)
			continue
		}
		return err
	}
	for len(later) > 0 {
		var again []write
		var lastErr error
		for _, w := range later {
			if err := w.do(); err != nil {
				again = append(again, w)
				lastErr = err
			}
		}
		if len(again) == len(later) {
			return lastErr
		}
		later = again
	}
	return nil
}

func (w write) do() error {
	err := writeFile(w.dir, w.file, w.value, w.field)
	switch w.check {
	case softEINVAL:
		if errors.Is(err, unix.EINVAL) {
			slog.Warn("ignored: this kernel does not support the value", "field", w.field, "file", w.dir+"/"+w.file, "value", w.value)
			return nil
		}
	case checkShares:
		if err == nil {
			got, rerr := readTrimmed(w.dir, w.file)
			if rerr == nil && got != w.value {
				return fmt.Errorf("%s: the kernel set %s/%s to %s instead of %s (cpu shares range %d..%d)", w.field, w.dir, w.file, got, w.value, minShares, maxShares)
			}
		}
	case checkApplied:
		if err == nil {
			got, rerr := readTrimmed(w.dir, w.file)
			want, _ := strconv.ParseInt(w.value, 10, 64)
			if rerr == nil && want > 0 && got != w.value {
				slog.Warn("ignored: this kernel accepts but does not enforce the limit", "field", w.field, "file", w.dir+"/"+w.file, "value", w.value)
			}
		}
	}
	return err
}

// fields splits a space-separated controller list.
func fields(s string) map[string]bool {
	out := make(map[string]bool)
	for _, f := range strings.Fields(s) {
		out[f] = true
	}
	return out
}
