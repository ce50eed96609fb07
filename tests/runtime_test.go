package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"berth/internal/mountinfo"
)

// cmdTimeout bounds every runtime invocation so a hung runtime fails the
// test instead of the whole `go test` run.
const cmdTimeout = 60 * time.Second

// idSeq makes container ids unique within this test binary; the pid prefix
// keeps two concurrent test binaries (or a leftover from a crashed run)
// from colliding.
var idSeq atomic.Int64

// runtimeBin finds the binary under test: $BERTH_BIN, else ../berth as
// built by `make`. A missing binary is a failure, not a skip, so CI cannot
// go green without having tested anything.
func runtimeBin(t testing.TB) string {
	t.Helper()
	bin := os.Getenv("BERTH_BIN")
	if bin == "" {
		wd, err := os.Getwd()
		if err != nil {
			t.Fatalf("getwd: %v", err)
		}
		bin = filepath.Join(wd, "..", "berth")
	}
	abs, err := filepath.Abs(bin)
	if err != nil {
		t.Fatalf("resolve runtime binary %q: %v", bin, err)
	}
	if st, err := os.Stat(abs); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
		t.Fatalf("build berth first: make (no executable at %s; or set BERTH_BIN)", abs)
	}
	return abs
}

// requireRoot fails (never skips): CI runs as root, and a skipped suite
// would look like a passing one.
func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatalf("integration tests must run as root (euid is %d): containers need namespaces, mounts and mknod", os.Geteuid())
	}
}

// runtime is one --root state directory plus the binary that manages it.
type runtime struct {
	t    testing.TB
	bin  string
	root string
	// wrap, when set, runs every invocation through this command line
	// (e.g. nsenter --net=... to give berth a test network namespace).
	wrap []string
	// global flags go before every command (e.g. --debug --log FILE).
	global []string
	// env, when set, is the environment of every invocation.
	env []string
	// user, when set, is the unprivileged user berth runs as (through
	// wrap and env); r.bundle makes bundles rootless for it.
	user *rootlessUser
}

// newRuntime gives the test its own --root so tests never see each other's
// containers, and removes it at the end.
func newRuntime(t testing.TB) *runtime {
	t.Helper()
	requireRoot(t)
	bin := runtimeBin(t)
	root := testDir(t, "root")
	if err := os.Chmod(root, 0o700); err != nil {
		t.Fatal(err)
	}
	return &runtime{t: t, bin: bin, root: root}
}

// result is what one runtime invocation produced.
type result struct {
	args   []string
	stdout string
	stderr string
	code   int
}

func (r result) String() string {
	return fmt.Sprintf("%q: exit %d\nstdout: %s\nstderr: %s", r.args, r.code, r.stdout, r.stderr)
}

// command prepares `bin --root ROOT args...`. Its stdout and stderr go to
// files, not pipes: `create` hands its stdio to the container, and a pipe
// would keep exec.Cmd.Wait blocked until the container exits.
func (r *runtime) command(ctx context.Context, args ...string) *exec.Cmd {
	full := append(append([]string{"--root", r.root}, r.global...), args...)
	var cmd *exec.Cmd
	if len(r.wrap) > 0 {
		full = append(append(append([]string{}, r.wrap[1:]...), r.bin), full...)
		cmd = exec.CommandContext(ctx, r.wrap[0], full...)
	} else {
		cmd = exec.CommandContext(ctx, r.bin, full...)
	}
	cmd.Env = r.env
	return cmd
}

// run invokes the runtime and waits for it.
func (r *runtime) run(args ...string) result {
	r.t.Helper()
	return r.runCmd(func(*exec.Cmd) {}, args...)
}

// runCmd is run with a hook to adjust the command (extra files, env,
// stdin) before it starts.
func (r *runtime) runCmd(adjust func(*exec.Cmd), args ...string) result {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := r.command(ctx, args...)
	out := outputFiles(r.t)
	cmd.Stdout, cmd.Stderr = out.stdout, out.stderr
	adjust(cmd)
	err := cmd.Run()
	res := out.collect(args)
	res.code = exitCode(r.t, err, res)
	if ctx.Err() != nil {
		r.t.Fatalf("runtime timed out after %v: %s", cmdTimeout, res)
	}
	return res
}

// mustRun fails the test unless the runtime exits 0.
func (r *runtime) mustRun(args ...string) result {
	r.t.Helper()
	res := r.run(args...)
	if res.code != 0 {
		r.t.Fatalf("runtime failed: %s", res)
	}
	return res
}

func exitCode(t testing.TB, err error, res result) int {
	t.Helper()
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	t.Fatalf("cannot run runtime: %v (%s)", err, res)
	return -1
}

// outputs holds the temp files that receive a command's stdout and stderr.
type outputs struct {
	stdout, stderr *os.File
}

func outputFiles(t testing.TB) outputs {
	t.Helper()
	dir := testDir(t, "out")
	o, err := os.Create(filepath.Join(dir, "stdout"))
	if err != nil {
		t.Fatal(err)
	}
	e, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close(); e.Close() })
	return outputs{stdout: o, stderr: e}
}

func (o outputs) collect(args []string) result {
	read := func(f *os.File) string {
		b, _ := os.ReadFile(f.Name())
		return string(b)
	}
	return result{args: args, stdout: read(o.stdout), stderr: read(o.stderr)}
}

// newID returns a fresh container id and registers a forced delete for it,
// so a failing test still leaves no container behind.
func (r *runtime) newID() string {
	r.t.Helper()
	id := fmt.Sprintf("bt-%d-%d", os.Getpid(), idSeq.Add(1))
	r.t.Cleanup(func() { r.forceDelete(id) })
	return id
}

// forceDelete removes a container if it still exists; "does not exist" is
// the expected answer for tests that deleted it themselves.
func (r *runtime) forceDelete(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	out, err := r.command(ctx, "delete", "--force", id).CombinedOutput()
	if err == nil {
		return
	}
	if _, statErr := os.Stat(filepath.Join(r.root, id)); statErr == nil {
		r.t.Errorf("cleanup: delete --force %s failed and its state directory remains: %v: %s", id, err, out)
	}
}

// state runs `state ID` and decodes the OCI state.
func (r *runtime) state(id string) specs.State {
	r.t.Helper()
	res := r.mustRun("state", id)
	var st specs.State
	if err := json.Unmarshal([]byte(res.stdout), &st); err != nil {
		r.t.Fatalf("state %s: output is not OCI state JSON: %v\n%s", id, err, res.stdout)
	}
	return st
}

// waitStatus polls `state` until the container reaches want.
func (r *runtime) waitStatus(id string, want specs.ContainerState) specs.State {
	r.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var st specs.State
	for {
		st = r.state(id)
		if st.Status == want {
			return st
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("container %s: status %q, still not %q after 15s", id, st.Status, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// container is a created (not yet started) container whose stdio goes to
// files the test can read once the workload has written.
type container struct {
	r   *runtime
	id  string
	b   *bundle
	out outputs
}

// create writes the bundle's config and runs `create`. extra flags go
// before the id.
func (r *runtime) create(b *bundle, extra ...string) *container {
	r.t.Helper()
	c, res := r.tryCreate(b, extra...)
	if res.code != 0 {
		r.t.Fatalf("create failed: %s", res)
	}
	return c
}

// tryCreate is create without the success check.
func (r *runtime) tryCreate(b *bundle, extra ...string) (*container, result) {
	r.t.Helper()
	id := r.newID()
	// The token marks every process this create may leave behind: the
	// runtime's own children inherit its environment, the workload gets
	// the spec's.
	token := tokenVar + "=" + id
	if b.raw == nil {
		b.spec.Process.Env = append(b.spec.Process.Env, token)
	}
	b.write(r.t)
	args := append([]string{"create", "--bundle", b.dir}, extra...)
	args = append(args, id)
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := r.command(ctx, args...)
	cmd.Env = append(cmd.Environ(), token)
	out := outputFiles(r.t)
	cmd.Stdout, cmd.Stderr = out.stdout, out.stderr
	err := cmd.Run()
	res := out.collect(args)
	res.code = exitCode(r.t, err, res)
	if ctx.Err() != nil {
		r.t.Fatalf("create timed out after %v: %s", cmdTimeout, res)
	}
	return &container{r: r, id: id, b: b, out: out}, res
}

func (c *container) start() {
	c.r.t.Helper()
	c.r.mustRun("start", c.id)
}

// stdout is what the container (and the create command) wrote so far.
func (c *container) stdout() string {
	b, _ := os.ReadFile(c.out.stdout.Name())
	return string(b)
}

func (c *container) stderr() string {
	b, _ := os.ReadFile(c.out.stderr.Name())
	return string(b)
}

// waitOutput polls the container's stdout until it contains s.
func (c *container) waitOutput(s string) {
	c.r.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(c.stdout(), s) {
		if time.Now().After(deadline) {
			c.r.t.Fatalf("container %s never printed %q\nstdout: %s\nstderr: %s", c.id, s, c.stdout(), c.stderr())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// runContainer runs the bundle attached (`run`) and returns the result;
// the container's stdout and stderr are the runtime's.
func (r *runtime) runContainer(b *bundle, extra ...string) (string, result) {
	r.t.Helper()
	b.write(r.t)
	id := r.newID()
	args := append([]string{"run", "--bundle", b.dir}, extra...)
	args = append(args, id)
	return id, r.run(args...)
}

// mustRunContainer runs the bundle attached and fails unless it exits 0.
func (r *runtime) mustRunContainer(b *bundle, extra ...string) string {
	r.t.Helper()
	_, res := r.runContainer(b, extra...)
	if res.code != 0 {
		r.t.Fatalf("container failed: %s", res)
	}
	return res.stdout
}

// startAttached starts `run` in the background (attached mode) and returns
// a wait function that yields the runtime's result.
func (r *runtime) startAttached(b *bundle, extra ...string) (id string, out outputs, wait func() result) {
	r.t.Helper()
	b.write(r.t)
	id = r.newID()
	args := append([]string{"run", "--bundle", b.dir}, extra...)
	args = append(args, id)
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	cmd := r.command(ctx, args...)
	out = outputFiles(r.t)
	cmd.Stdout, cmd.Stderr = out.stdout, out.stderr
	if err := cmd.Start(); err != nil {
		cancel()
		r.t.Fatalf("start %q: %v", args, err)
	}
	done := make(chan result, 1)
	go func() {
		err := cmd.Wait()
		res := out.collect(args)
		var ee *exec.ExitError
		switch {
		case err == nil:
		case errors.As(err, &ee):
			res.code = ee.ExitCode()
		default:
			res.code = -1
			res.stderr += "\n(wait: " + err.Error() + ")"
		}
		if ctx.Err() != nil {
			res.code = -1
			res.stderr += fmt.Sprintf("\n(timed out after %v)", cmdTimeout)
		}
		cancel()
		done <- res
	}()
	var got *result
	wait = func() result {
		if got == nil {
			res := <-done
			got = &res
		}
		return *got
	}
	r.t.Cleanup(func() { r.forceDelete(id); wait() })
	return id, out, wait
}

// readOut is the current content of one of the outputs' files.
func readOut(f *os.File) string {
	b, _ := os.ReadFile(f.Name())
	return string(b)
}

// waitFileContains polls f until it contains s.
func waitFileContains(t testing.TB, f *os.File, s string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(readOut(f), s) {
		if time.Now().After(deadline) {
			t.Fatalf("%s never contained %q; it has:\n%s", f.Name(), s, readOut(f))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// assertErrorLine checks the runtime's error contract: runc's exit status
// for the failure (failureStatus) and a single non-empty line on stderr
// that mentions one of hints (case insensitive), so a person can act on it.
func assertErrorLine(t testing.TB, res result, hints ...string) {
	t.Helper()
	if want := failureStatus(res.args); res.code != want {
		t.Errorf("want exit status %d, got %s", want, res)
	}
	msg := strings.TrimRight(res.stderr, "\n")
	if msg == "" || strings.Contains(msg, "\n") {
		t.Errorf("want exactly one line on stderr, got %d line(s): %q", strings.Count(res.stderr, "\n"), res.stderr)
	}
	if len(hints) == 0 {
		return
	}
	low := strings.ToLower(msg)
	for _, h := range hints {
		if strings.Contains(low, strings.ToLower(h)) {
			return
		}
	}
	t.Errorf("error line %q mentions none of %q", msg, hints)
}

// failureStatus is the exit status runc gives a failed command run with
// args (global flags first): 255 when exec itself fails (so that an engine
// tells that from the status of the exec'd process, which is passed on),
// 1 for any other failure.
func failureStatus(args []string) int {
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "--root" || a == "--log" || a == "--log-format":
			i++ // and its value
		case strings.HasPrefix(a, "-"):
		case a == "exec":
			return 255
		default:
			return 1
		}
	}
	return 1
}

// referenceRuntime is runc, whose behaviour berth follows, on a --root of
// its own: for tests that run the same commands through both.
func referenceRuntime(t *testing.T) *runtime {
	t.Helper()
	// The VM guest carries berth and its tests only; the host run (where
	// .ci/run installs runc) makes the comparison.
	if os.Getenv("BERTH_VM") == "1" {
		t.Skip("runc is compared in the host run, not in the VM guest")
	}
	r := newRuntime(t)
	r.bin = needTool(t, "runc", "runc")
	return r
}

// lines splits output into trimmed non-empty lines.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// testDir is a fresh directory that later tests and other users can
// traverse (0755, unlike t.TempDir's 0700, which a container whose root is
// mapped to an unprivileged host uid could not enter). It is removed at the
// end unless something is still mounted under it: removing through a
// leaked bind mount would delete the mount source's files.
func testDir(t testing.TB, prefix string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "berth-test-"+prefix+"-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if m := mountsUnder(dir); len(m) > 0 {
			t.Errorf("mounts left on the host under %s, not removing it: %q", dir, m)
			return
		}
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("remove %s: %v", dir, err)
		}
	})
	return dir
}

// mountsUnder lists the host's mount points at or below dir.
func mountsUnder(dir string) []string {
	var found []string
	for _, m := range hostMounts() {
		if m == dir || strings.HasPrefix(m, dir+"/") {
			found = append(found, m)
		}
	}
	return found
}

// hostMounts returns the mount points of the test's mount namespace (the
// host's).
func hostMounts() []string {
	mounts, err := mountinfo.Read()
	if err != nil {
		return nil
	}
	var out []string
	for _, m := range mounts {
		// Network namespaces pinned by other tests (ip netns add) are not
		// berth's mounts and may come and go meanwhile.
		if !strings.HasPrefix(m.Mountpoint, "/run/netns/") {
			out = append(out, m.Mountpoint)
		}
	}
	return out
}

func sleepMs(n int) { time.Sleep(time.Duration(n) * time.Millisecond) }

// tokenVar is the environment variable that tags processes started for
// one container id (see tryCreate).
const tokenVar = "BERTH_TEST_TOKEN"

// tokenProcesses lists the pids whose environment carries id's token.
func tokenProcesses(id string) []int {
	want := []byte(tokenVar + "=" + id + "\x00")
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err == nil && bytes.Contains(env, want) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// assertNothingLeft checks that a failed create of id left no trace: no
// state, no entry in list, no process, no new host mount.
func assertNothingLeft(t testing.TB, r *runtime, id string, mountsBefore []string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(r.root, id)); !os.IsNotExist(err) {
		t.Errorf("state directory %s left behind (%v)", filepath.Join(r.root, id), err)
	}
	if res := r.run("state", id); res.code == 0 {
		t.Errorf("state of the failed container succeeded: %s", res)
	}
	if out := r.run("list", "-q").stdout; strings.Contains(out, id) {
		t.Errorf("list shows the failed container: %q", out)
	}
	var pids []int
	for i := 0; i < 100; i++ {
		if pids = tokenProcesses(id); len(pids) == 0 {
			break
		}
		sleepMs(20)
	}
	for _, pid := range pids {
		cmdline, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
		t.Errorf("process %d (%q) of the failed create is still alive", pid, bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '}))
		syscall.Kill(pid, syscall.SIGKILL)
	}
	before := map[string]int{}
	for _, m := range mountsBefore {
		before[m]++
	}
	for _, m := range hostMounts() {
		if before[m] == 0 {
			t.Errorf("host mount %s appeared during the failed create", m)
		}
		before[m]--
	}
}
