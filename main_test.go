package main

import (
	"errors"
	"fmt"
	"os/exec"
	"testing"

	"github.com/urfave/cli/v2"
)

// TestExitStatus: only an error that is itself cli.Exit's sets the status;
// a failed hook's *exec.ExitError, bare or wrapped, has an ExitCode too,
// and its status is not berth's.
func TestExitStatus(t *testing.T) {
	err := exec.Command("sh", "-c", "exit 7").Run()
	var hook *exec.ExitError
	if !errors.As(err, &hook) || hook.ExitCode() != 7 {
		t.Fatalf("sh -c 'exit 7': %v", err)
	}
	for _, tc := range []struct {
		err  error
		want int
	}{
		{errors.New("plain"), 1},
		{hook, 1},
		{fmt.Errorf("poststart hook: %w", hook), 1},
		{cli.Exit(fmt.Errorf("exec: poststart hook: %w", hook), 255), 255},
		{cli.Exit("No help topic for 'x'", exitUnknownCommand), 3},
		{fmt.Errorf("wrapped: %w", cli.Exit("x", 255)), 1},
	} {
		if got := exitStatus(tc.err); got != tc.want {
			t.Errorf("exitStatus(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}
