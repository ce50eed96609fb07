package cgroups

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"

	"golang.org/x/sys/unix"

	"berth/cgroups/internal/cgfs"
)

// Set is split in two: a driver's pure planner turns linux.resources into
// a Plan, the list of file writes (reading the cgroup only through a
// Prober, so tests can answer with a fake), and Run performs them.

// Prober answers the few questions the planners ask the cgroup: which
// files exist (kernel features, the block I/O scheduler) and the current
// value of a file (write order between limits, checkBeforeUpdate).
type Prober interface {
	Exists(dir, file string) bool
	Read(dir, file string) (string, error)
}

// FS is the Prober of the real cgroup filesystem.
type FS struct{}

func (FS) Exists(dir, file string) bool          { return cgfs.Exists(dir + "/" + file) }
func (FS) Read(dir, file string) (string, error) { return cgfs.ReadTrimmed(dir, file) }

// WriteError is a failed write to a cgroup file, naming file, value and
// spec field.
type WriteError = cgfs.WriteError

// Check is what to do after (or instead of failing) a write.
type Check uint8

const (
	CheckNone Check = iota
	// CheckShares: the v1 kernel clamps cpu.shares silently; read back.
	CheckShares
	// CheckApplied: a kernel may accept and ignore the value (v1 kernel
	// memory since 5.16); read back and warn.
	CheckApplied
	// SoftEINVAL: EINVAL means the kernel no longer supports the knob
	// (memory.use_hierarchy=0); warn and go on.
	SoftEINVAL
)

// Write is one planned write of Value to Dir/File, for spec field Field.
type Write struct {
	Dir, File, Value, Field string
	// Retry: on EINVAL try again after the rest of the plan, because
	// the kernel validates each value against the other's current one
	// (cpu period vs quota vs burst, rt period vs runtime).
	Retry bool
	Check Check
}

// Plan is what Set will do: writes in order, and warnings for fields
// ignored.
type Plan struct {
	Writes   []Write
	Warnings []string
}

// Add appends a write.
func (p *Plan) Add(w Write) { p.Writes = append(p.Writes, w) }

// Warn records a field that is ignored, and why.
func (p *Plan) Warn(format string, args ...any) {
	p.Warnings = append(p.Warnings, fmt.Sprintf(format, args...))
}

// Run performs the plan's writes in order. Writes that failed with EINVAL
// and may retry are tried again, round after round, while a round makes
// progress.
func (p *Plan) Run() error {
	for _, w := range p.Warnings {
		slog.Warn(w)
	}
	var later []Write
	for _, w := range p.Writes {
		err := w.do()
		if err == nil {
			continue
		}
		if w.Retry && errors.Is(err, unix.EINVAL) {
			later = append(later, w)
			continue
		}
		return err
	}
	for len(later) > 0 {
		var again []Write
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

func (w Write) do() error {
	err := cgfs.Write(w.Dir, w.File, w.Value, w.Field)
	switch w.Check {
	case SoftEINVAL:
		if errors.Is(err, unix.EINVAL) {
			slog.Warn("ignored: this kernel does not support the value", "field", w.Field, "file", w.Dir+"/"+w.File, "value", w.Value)
			return nil
		}
	case CheckShares:
		if err == nil {
			got, rerr := cgfs.ReadTrimmed(w.Dir, w.File)
			if rerr == nil && got != w.Value {
				return fmt.Errorf("%s: the kernel set %s/%s to %s instead of %s (cpu shares range %d..%d)", w.Field, w.Dir, w.File, got, w.Value, MinShares, MaxShares)
			}
		}
	case CheckApplied:
		if err == nil {
			got, rerr := cgfs.ReadTrimmed(w.Dir, w.File)
			want, _ := strconv.ParseInt(w.Value, 10, 64)
			if rerr == nil && want > 0 && got != w.Value {
				slog.Warn("ignored: this kernel accepts but does not enforce the limit", "field", w.Field, "file", w.Dir+"/"+w.File, "value", w.Value)
			}
		}
	}
	return err
}
