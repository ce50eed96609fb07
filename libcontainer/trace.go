package libcontainer

import (
	"log/slog"
	"time"

	"golang.org/x/sys/unix"
)

// Per-step timings of the container init. The init cannot log (its stderr
// is the container's), so it stamps each step with CLOCK_MONOTONIC, which
// the parent shares, and sends the stamps along with its next sync message
// (readCTrace); the
// parent logs them (with --debug) as offsets from its own start, on one
// timeline with its own steps.

// traceStep is one step the init finished, at a CLOCK_MONOTONIC time.
type traceStep struct {
	Step string
	Mono int64 // ns
}

func monoNow() int64 {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Nano()
}

// stepClock times the parent's steps from the start of a command.
type stepClock struct {
	t0   time.Time
	mono int64
}

func startClock() stepClock { return stepClock{time.Now(), monoNow()} }

// step logs how long after the start a step of the parent finished.
func (c stepClock) step(name string) {
	slog.Debug(name, "elapsed", time.Since(c.t0).Round(time.Microsecond).String())
}

// initSteps logs steps the init reported, on the parent's timeline.
func (c stepClock) initSteps(prefix string, steps []traceStep) {
	for _, s := range steps {
		d := time.Duration(s.Mono - c.mono).Round(time.Microsecond)
		slog.Debug(prefix+s.Step, "elapsed", d.String())
	}
}
