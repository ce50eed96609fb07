package main

import (
	"strings"
	"testing"
)

// TestMemSize: update's memory flags read sizes as runc's do.
func TestMemSize(t *testing.T) {
	for in, want := range map[string]int64{
		"-1": -1, "0": 0, "512": 512, "1k": 1024, "1M": 1 << 20, "1m": 1 << 20, "0.5M": 512 << 10,
		"2 MB": 2 << 20, "1MiB": 1 << 20, "1gb": 1 << 30, "3G": 3 << 30, "1t": 1 << 40, "1P": 1 << 50, "7b": 7,
	} {
		if got, err := memSize(in); err != nil || got != want {
			t.Errorf("memSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-5", "1x", "M", ".5M", "1.M", "1.5.3", " 1M", "1  M", "1Mx", "1e3", "9999999P"} {
		if got, err := memSize(in); err == nil {
			t.Errorf("memSize(%q) = %d, want an error", in, got)
		}
	}
}

// TestFlagsAfterArgs: update takes its flags after the id too (runc's
// `update ID --memory 1M`): prepare moves them in front of the id, each
// with its value, up to a "--"; what is not update's flag stays an
// argument, and other commands' flags end at their first argument.
func TestFlagsAfterArgs(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"update id --memory 1M", "update --memory 1M id"},
		{"update --memory 1M id", "update --memory 1M id"},
		{"--root /r --debug update --pids-limit 5 id -memory=2M", "--root /r --debug update --pids-limit 5 -memory=2M id"},
		{"--root=/r update id --memory -1 --cpu-shares 2", "--root=/r update --memory -1 --cpu-shares 2 id"},
		{"update id -r - x", "update -r - id x"},
		// Not update's flags, or after "--": arguments.
		{"update id --bogus 5", "update id --bogus 5"},
		{"update id -- --memory 5", "update id -- --memory 5"},
		{"update -- id --memory 5", "update -- id --memory 5"},
		// A flag without its value takes no argument as one.
		{"update id - --memory", "update id - --memory"},
		// Other commands, and no command at all.
		{"exec id --tty sh", "exec id --tty sh"},
		{"--log /l state id --memory 1", "--log /l state id --memory 1"},
		{"--root /r", "--root /r"},
		{"--root", "--root"},
	} {
		args := append([]string{"berth"}, strings.Fields(tc.in)...)
		got := strings.Join(prepare(newApp(), args)[1:], " ")
		if got != tc.want {
			t.Errorf("%q: got %q, want %q", tc.in, got, tc.want)
		}
	}
}
