package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestConcurrentLifecycles runs 20 containers through create, start and
// delete in parallel under one --root; every step must succeed and
// nothing may be left.
func TestConcurrentLifecycles(t *testing.T) {
	const n = 20
	r := newRuntime(t)
	bundles := make([]*bundle, n)
	ids := make([]string, n)
	for i := range bundles {
		bundles[i] = newShBundle(t, fmt.Sprintf("echo container-%d", i))
		bundles[i].write(t)
		ids[i] = r.newID()
	}

	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			errs <- lifecycle(r, bundles[i], ids[i], i)
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if out := r.mustRun("list", "-q").stdout; strings.TrimSpace(out) != "" {
		t.Errorf("containers left after concurrent deletes: %q", out)
	}
	if entries, _ := os.ReadDir(r.root); len(entries) > 0 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		// A lock file shared by all containers may stay; container
		// directories may not.
		for _, nm := range names {
			if strings.HasPrefix(nm, "bt-") {
				t.Errorf("state left under --root: %q", names)
				break
			}
		}
	}
}

// lifecycle is one container's create/start/wait/delete. It runs on its
// own goroutine, so it returns errors rather than failing the test.
func lifecycle(r *runtime, b *bundle, id string, i int) error {
	// Files, not pipes: the container inherits create's stdio, and a pipe
	// would keep exec.Cmd.Wait blocked until the container exits.
	out := filepath.Join(b.dir, "stdout")
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	errFile, err := os.Create(filepath.Join(b.dir, "stderr"))
	if err != nil {
		return err
	}
	defer errFile.Close()
	run := func(args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
		defer cancel()
		cmd := r.command(ctx, args...)
		cmd.Stdout, cmd.Stderr = f, errFile
		var stdout strings.Builder
		if args[0] == "state" {
			cmd.Stdout = &stdout
		}
		err := cmd.Run()
		if err != nil {
			msg, _ := os.ReadFile(errFile.Name())
			return "", fmt.Errorf("%s: %q: %v: %s", id, args, err, strings.TrimSpace(string(msg)))
		}
		return stdout.String(), nil
	}
	if _, err := run("create", "--bundle", b.dir, id); err != nil {
		return err
	}
	if _, err := run("start", id); err != nil {
		return err
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		o, err := run("state", id)
		if err != nil {
			return err
		}
		var st specs.State
		if err := json.Unmarshal([]byte(o), &st); err != nil {
			return fmt.Errorf("%s: state output %q: %w", id, o, err)
		}
		if st.Status == specs.StateStopped {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: still %s after 30s", id, st.Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := run("delete", id); err != nil {
		return err
	}
	got, _ := os.ReadFile(out)
	if want := fmt.Sprintf("container-%d\n", i); string(got) != want {
		return fmt.Errorf("%s: output %q, want %q", id, got, want)
	}
	return nil
}
