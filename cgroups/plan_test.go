package cgroups

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// run writes in order, retries EINVAL writes after the rest, and names
// file, value and field on failure.
func TestPlanRunAndErrors(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	pl := &Plan{}
	pl.Add(Write{Dir: dir, File: "a", Value: "1", Field: "f.a"})
	pl.Add(Write{Dir: dir, File: "missing", Value: "512", Field: "linux.resources.memory.limit"})
	err := pl.Run()
	want := fmt.Sprintf(`write "512" to %s/missing (linux.resources.memory.limit): no such file or directory`, dir)
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v\nwant %s", err, want)
	}
	var we *WriteError
	if !errors.As(err, &we) || !errors.Is(err, unix.ENOENT) {
		t.Fatalf("error %v is not a WriteError wrapping ENOENT", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "a")); string(b) != "1" {
		t.Fatalf("first write did not happen: %q", b)
	}
}
