package systemd

import (
	"context"
	"errors"
	"fmt"
	"time"

	sdbus "github.com/coreos/go-systemd/v22/dbus"
	godbus "github.com/godbus/dbus/v5"
)

// jobTimeout bounds the wait for a start or stop job.
const jobTimeout = 30 * time.Second

// bus is a connection to systemd's manager over the system bus.
type bus struct{ c *sdbus.Conn }

func connect(ctx context.Context) (*bus, error) {
	c, err := sdbus.NewWithContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("connect to systemd over D-Bus: %w", err)
	}
	return &bus{c}, nil
}

func (b *bus) close() { b.c.Close() }

func variants(props []Prop) []sdbus.Property {
	out := make([]sdbus.Property, len(props))
	for i, p := range props {
		out[i] = sdbus.Property{Name: p.Name, Value: godbus.MakeVariant(p.Value)}
	}
	return out
}

// start makes the transient unit and waits for its job.
func (b *bus) start(ctx context.Context, unit string, props []Prop) error {
	ch := make(chan string, 1)
	if _, err := b.c.StartTransientUnitContext(ctx, unit, "replace", variants(props), ch); err != nil {
		return unitErr(unit, "StartTransientUnit", err)
	}
	return waitJob(unit, "start", ch)
}

// stop stops the unit and waits; a unit systemd no longer has is stopped.
func (b *bus) stop(ctx context.Context, unit string) error {
	ch := make(chan string, 1)
	if _, err := b.c.StopUnitContext(ctx, unit, "replace", ch); err != nil {
		if isNoSuchUnit(err) {
			return nil
		}
		return unitErr(unit, "StopUnit", err)
	}
	return waitJob(unit, "stop", ch)
}

// resetFailed forgets a failed unit's state, so that its name is free and
// `systemctl --failed` does not list it.
func (b *bus) resetFailed(ctx context.Context, unit string) error {
	if err := b.c.ResetFailedUnitContext(ctx, unit); err != nil && !isNoSuchUnit(err) {
		return unitErr(unit, "ResetFailedUnit", err)
	}
	return nil
}

// set changes properties of a running unit (runtime only, as a transient
// unit's are).
func (b *bus) set(ctx context.Context, unit string, props []Prop) error {
	if err := b.c.SetUnitPropertiesContext(ctx, unit, true, variants(props)...); err != nil {
		return unitErr(unit, "SetUnitProperties", err)
	}
	return nil
}

// settle returns once systemd has handled what earlier calls queued: it
// realizes a unit's cgroups after SetUnitProperties has returned, from a
// queue it runs before it reads the next D-Bus message, so the reply to
// any later call comes after it.
func (b *bus) settle(ctx context.Context, unit string) error {
	if _, err := b.c.GetUnitPropertyContext(ctx, unit, "ActiveState"); err != nil {
		return unitErr(unit, "GetUnitProperty ActiveState", err)
	}
	return nil
}

// version is systemd's Version property ("252.38-1~deb12u1").
func (b *bus) version(ctx context.Context) (string, error) {
	v, err := b.c.GetManagerProperty("Version")
	if err != nil {
		return "", err
	}
	// GetManagerProperty returns the variant's text form: a quoted string.
	var s string
	if _, err := fmt.Sscanf(v, "%q", &s); err == nil {
		return s, nil
	}
	return v, nil
}

func waitJob(unit, what string, ch chan string) error {
	select {
	case res := <-ch:
		if res != "done" {
			return fmt.Errorf("systemd unit %s: %s job %s", unit, what, res)
		}
		return nil
	case <-time.After(jobTimeout):
		return fmt.Errorf("systemd unit %s: %s job not done after %s", unit, what, jobTimeout)
	}
}

// ErrUnitExists is the error (errors.Is) of a start refused because
// systemd already has a unit of that name: another container's, which the
// failed create must leave alone.
var ErrUnitExists = errors.New("the unit exists already")

// unitError names the unit, the call and the D-Bus error's name and text.
type unitError struct {
	unit, call, name string
	err              error
}

func (e *unitError) Error() string {
	if e.name != "" {
		return "systemd unit " + e.unit + ": " + e.call + ": " + e.name + ": " + e.err.Error()
	}
	return "systemd unit " + e.unit + ": " + e.call + ": " + e.err.Error()
}

func (e *unitError) Unwrap() error { return e.err }

func (e *unitError) Is(target error) bool {
	return target == ErrUnitExists && e.name == "org.freedesktop.systemd1.UnitExists"
}

func unitErr(unit, call string, err error) error {
	name, _ := dbusErrName(err)
	return &unitError{unit: unit, call: call, name: name, err: err}
}

func dbusErrName(err error) (string, bool) {
	var de godbus.Error
	if errors.As(err, &de) {
		return de.Name, true
	}
	var pde *godbus.Error
	if errors.As(err, &pde) && pde != nil {
		return pde.Name, true
	}
	return "", false
}

func isNoSuchUnit(err error) bool {
	name, _ := dbusErrName(err)
	return name == "org.freedesktop.systemd1.NoSuchUnit" || name == "org.freedesktop.systemd1.LoadFailed"
}
