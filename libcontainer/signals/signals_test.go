package signals

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want unix.Signal
	}{
		{"KILL", unix.SIGKILL},
		{"SIGKILL", unix.SIGKILL},
		{"sigkill", unix.SIGKILL},
		{"Term", unix.SIGTERM},
		{"9", unix.SIGKILL},
		{"0", unix.Signal(0)},
		{"15", unix.SIGTERM},
		{"1", unix.SIGHUP},
		{"64", unix.Signal(64)},
		{"WINCH", unix.SIGWINCH},
		{"SIGUSR1", unix.SIGUSR1},
		{"IOT", unix.SIGABRT},
		{"SIGPOLL", unix.SIGIO},
		{"CLD", unix.SIGCHLD},
		{"SIGRTMIN", unix.Signal(34)},
		{"SIGRTMIN+3", unix.Signal(37)},
		{"rtmin+30", unix.Signal(64)},
		{"RTMAX", unix.Signal(64)},
		{"RTMAX-1", unix.Signal(63)},
		{"SIGRTMAX-30", unix.Signal(34)},
	} {
		got, err := Parse(tc.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		if got != tc.want {
			t.Errorf("Parse(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestParseUnknown(t *testing.T) {
	for _, in := range []string{
		"FOO", "", "SIG", "SIG0", "ZERO", "-1", "65", "999",
		"RTMIN+31", "RTMAX-31", "RTMIN-1", "RTMAX+1", "RTMIN+", "RTMIN+x", "RTMIN++1",
		"SIGSIGKILL", "KILL9",
	} {
		sig, err := Parse(in)
		if err == nil {
			t.Errorf("Parse(%q) = %d, want an error", in, sig)
			continue
		}
		if want := `unknown signal "` + in + `"`; err.Error() != want {
			t.Errorf("Parse(%q) error = %q, want %q", in, err, want)
		}
	}
}
