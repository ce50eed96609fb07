package systemd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	sdbus "github.com/coreos/go-systemd/v22/dbus"
	godbus "github.com/godbus/dbus/v5"
)

// jobTimeout bounds the wait for a start or stop job.
const jobTimeout = 30 * time.Second

// bus is a connection to a systemd manager: the system's over the system
// bus, or, for a rootless caller, the user's own over its session bus.
type bus struct{ c *sdbus.Conn }

func connect(ctx context.Context, user bool) (*bus, error) {
	if user {
		return connectUser(ctx)
	}
	c, err := sdbus.NewWithContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("connect to systemd over D-Bus: %w", err)
	}
	return &bus{c}, nil
}

// connectUser connects to the caller's own systemd manager over its
// session bus (UserBusAddress). The bus authenticates the caller by the
// uid the kernel reports for the socket's peer: the host's, which for
// root of a rootless engine's user namespace is the engine's user, so
// that is the uid berth claims (HostUID).
func connectUser(ctx context.Context) (*bus, error) {
	addr, err := UserBusAddress(os.Getenv)
	if err != nil {
		return nil, err
	}
	m, err := os.ReadFile("/proc/self/uid_map")
	if err != nil {
		return nil, fmt.Errorf("--systemd-cgroup: read /proc/self/uid_map: %w", err)
	}
	uid, ok := HostUID(string(m), os.Geteuid())
	if !ok {
		return nil, fmt.Errorf("--systemd-cgroup: uid %d has no host uid in /proc/self/uid_map", os.Geteuid())
	}
	c, err := sdbus.NewConnection(func() (*godbus.Conn, error) {
		conn, err := godbus.Dial(addr, godbus.WithContext(ctx))
		if err != nil {
			return nil, err
		}
		if err := conn.Auth([]godbus.Auth{godbus.AuthExternal(strconv.Itoa(uid))}); err != nil {
			conn.Close()
			return nil, err
		}
		if err := conn.Hello(); err != nil {
			conn.Close()
			return nil, err
		}
		return conn, nil
	})
	if err != nil {
		return nil, fmt.Errorf("--systemd-cgroup: connect to your systemd manager on the session bus %s: %w", addr, err)
	}
	return &bus{c}, nil
}

// UserBusAddress is the session bus where a user's own systemd manager
// answers: $DBUS_SESSION_BUS_ADDRESS, else the socket $XDG_RUNTIME_DIR/bus
// that a user manager with dbus-user-session (or dbus-broker) listens on.
// Without either the error says what is missing and how to get it.
func UserBusAddress(getenv func(string) string) (string, error) {
	if a := getenv("DBUS_SESSION_BUS_ADDRESS"); a != "" {
		return a, nil
	}
	const how = "start your systemd user manager (log in, or as root: loginctl enable-linger USER) with a session bus (dbus-user-session), or run without --systemd-cgroup"
	xdg := getenv("XDG_RUNTIME_DIR")
	if xdg == "" || !filepath.IsAbs(xdg) {
		return "", fmt.Errorf("--systemd-cgroup as an unprivileged user needs your systemd manager's session bus: DBUS_SESSION_BUS_ADDRESS and XDG_RUNTIME_DIR are unset; %s", how)
	}
	sock := filepath.Join(xdg, "bus")
	fi, err := os.Stat(sock)
	if err != nil {
		return "", fmt.Errorf("--systemd-cgroup as an unprivileged user needs your systemd manager's session bus: DBUS_SESSION_BUS_ADDRESS is unset and %s: %w; %s", sock, unwrapPath(err), how)
	}
	if fi.Mode().Type() != os.ModeSocket {
		return "", fmt.Errorf("--systemd-cgroup as an unprivileged user needs your systemd manager's session bus: DBUS_SESSION_BUS_ADDRESS is unset and %s is not a socket; %s", sock, how)
	}
	return "unix:path=" + sock, nil
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// HostUID maps uid of this process's user namespace to the host's through
// uidMap, the text of /proc/self/uid_map ("inside outside count" lines).
func HostUID(uidMap string, uid int) (int, bool) {
	for _, line := range strings.Split(uidMap, "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		in, err1 := strconv.ParseUint(f[0], 10, 32)
		out, err2 := strconv.ParseUint(f[1], 10, 32)
		n, err3 := strconv.ParseUint(f[2], 10, 32)
		if err1 != nil || err2 != nil || err3 != nil {
			continue
		}
		if u := uint64(uid); u >= in && u-in < n {
			return int(out + u - in), true
		}
	}
	return 0, false
}

// controlGroup is the manager's own cgroup ("" or "/" for the system's;
// a user manager's is its user@UID.service), under which the units it
// makes live.
func (b *bus) controlGroup() (string, error) {
	v, err := b.c.GetManagerProperty("ControlGroup")
	if err != nil {
		return "", fmt.Errorf("systemd manager property ControlGroup: %w", err)
	}
	// The variant's text form: a quoted string.
	var s string
	if _, err := fmt.Sscanf(v, "%q", &s); err != nil {
		s = v
	}
	if s != "" && (!strings.HasPrefix(s, "/") || filepath.Clean(s) != s) {
		return "", fmt.Errorf("systemd manager property ControlGroup: %q is not an absolute clean path", s)
	}
	return s, nil
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
