package nsenter

import (
	"strings"
	"syscall"
	"testing"
)

// TestSignalNames: the C init names a hook's killing signal as Go does
// (the parent's hooks, run by the hooks package, report exec.ExitError's text).
func TestSignalNames(t *testing.T) {
	for sig := 0; sig <= 70; sig++ {
		if got, want := signalName(sig), syscall.Signal(sig).String(); got != want {
			t.Errorf("signal %d: C says %q, Go %q", sig, got, want)
		}
	}
}

// TestHookTail: the end of a failed hook's output, as libcontainer/hooks
// quotes it: the last three non-empty lines, trimmed, joined by "; ", the
// partial first line of a cut output dropped.
func TestHookTail(t *testing.T) {
	for _, tc := range []struct {
		in   string
		cut  bool
		want string
	}{
		{"", false, ""},
		{"\n\n \t\n", false, ""},
		{"one", false, "one"},
		{"one\ntwo\n", false, "one; two"},
		{"a\nb\n  c  \n\n\r\nd\r\n", false, "b; c; d"},
		{"partial line\nwhole\n", true, "whole"},
		{"no newline at all", true, "no newline at all"},
		{"\u00a0nbsp\u0085\n", false, "nbsp"},
		{"x\u00a0y", false, "x\u00a0y"},
		{strings.Repeat("z", 5000), false, strings.Repeat("z", 5000)},
	} {
		if got := hookTail([]byte(tc.in), tc.cut); got != tc.want {
			t.Errorf("tail(%q, cut %v) = %q, want %q", tc.in, tc.cut, got, tc.want)
		}
	}
}

// TestOpVectors: the Go and the C side agree on which operations carry
// string vectors.
func TestOpVectors(t *testing.T) {
	for code := uint32(1); code < opMax; code++ {
		if got, want := opVectors(code), OpVectors(code); got != want {
			t.Errorf("op %d: C reads %d vectors, Go writes %d", code, got, want)
		}
	}
}
