// Package signals turns the signal names users type (kill(1) style) into
// signal numbers.
package signals

import (
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// The real-time range as userspace sees it: glibc keeps 32 and 33 for
// itself, so kill(1), runc and every engine call 34 SIGRTMIN.
const (
	rtMin = 34
	rtMax = 64
)

// aliases are names kill(1) accepts that unix.SignalNum does not know.
var aliases = map[string]unix.Signal{
	"SIGIOT":  unix.SIGABRT,
	"SIGPOLL": unix.SIGIO,
	"SIGCLD":  unix.SIGCHLD,
}

// Parse accepts "KILL", "SIGKILL", "sigkill", "9", "SIGRTMIN+3" and
// "RTMAX-1" and returns the signal they name. "0" is signal 0, which
// delivers nothing and only checks that the process exists (kill(2));
// runc and kill(1) take it too.
func Parse(s string) (unix.Signal, error) {
	if sig, ok := parse(s); ok {
		return sig, nil
	}
	return 0, fmt.Errorf("unknown signal %q", s)
}

func parse(s string) (unix.Signal, bool) {
	if n, err := strconv.Atoi(s); err == nil {
		if n < 0 || n > rtMax {
			return 0, false
		}
		return unix.Signal(n), true
	}
	name := strings.ToUpper(strings.TrimSpace(s))
	if name == "" {
		return 0, false
	}
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, true
	}
	if sig, ok := aliases[name]; ok {
		return sig, true
	}
	return parseRealtime(strings.TrimPrefix(name, "SIG"))
}

// parseRealtime handles RTMIN, RTMIN+n, RTMAX and RTMAX-n.
func parseRealtime(name string) (unix.Signal, bool) {
	var base, sign int
	var rest string
	switch {
	case strings.HasPrefix(name, "RTMIN"):
		base, sign, rest = rtMin, 1, name[len("RTMIN"):]
	case strings.HasPrefix(name, "RTMAX"):
		base, sign, rest = rtMax, -1, name[len("RTMAX"):]
	default:
		return 0, false
	}
	if rest == "" {
		return unix.Signal(base), true
	}
	op := "+"
	if sign < 0 {
		op = "-"
	}
	digits, ok := strings.CutPrefix(rest, op)
	if !ok || digits == "" || strings.ContainsAny(digits, "+-") {
		return 0, false
	}
	n, err := strconv.Atoi(digits)
	if err != nil {
		return 0, false
	}
	sig := base + sign*n
	if sig < rtMin || sig > rtMax {
		return 0, false
	}
	return unix.Signal(sig), true
}
