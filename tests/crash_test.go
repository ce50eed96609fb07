package tests

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// removeCgroupsAtEnd removes the cgroup path (and what is below it) from
// every hierarchy at the end of the test, so a failing test leaves none.
func removeCgroupsAtEnd(t *testing.T, path string) {
	t.Cleanup(func() {
		for _, d := range cgroupDirs(path) {
			exec.Command("find", d, "-depth", "-type", "d", "-exec", "rmdir", "{}", ";").Run()
		}
	})
}

// cgroupDirs lists the directories of a cgroup path that exist, in every
// v1 hierarchy and on cgroup v2.
func cgroupDirs(path string) []string {
	dirs, _ := filepath.Glob("/sys/fs/cgroup/*" + path)
	if _, err := os.Stat("/sys/fs/cgroup" + path); err == nil {
		dirs = append(dirs, "/sys/fs/cgroup"+path)
	}
	return dirs
}

// binaryProcesses lists the processes running the file bin (as a v1 stub
// or C init does, from a bind of it) or carrying token in their
// environment (the workload): what a create of this test may have started.
func binaryProcesses(t *testing.T, bin, token string) []int {
	var want syscall.Stat_t
	if err := syscall.Stat(bin, &want); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		var st syscall.Stat_t
		if syscall.Stat("/proc/"+e.Name()+"/exe", &st) == nil && st.Dev == want.Dev && st.Ino == want.Ino {
			pids = append(pids, pid)
			continue
		}
		if env, err := os.ReadFile("/proc/" + e.Name() + "/environ"); err == nil && bytes.Contains(env, []byte(token+"\x00")) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// TestCreateKilledAnywhere: `create` SIGKILLed at any point, before its
// first state write included, leaves something `delete -f` removes
// entirely (state directory, cgroup, processes, mounts), and the id can
// be created again.
func TestCreateKilledAnywhere(t *testing.T) {
	r := newRuntime(t)
	b := newBundle(t, "sleep", "100")
	cg := uniqueCgroup()
	removeCgroupsAtEnd(t, cg)
	b.spec.Linux.CgroupsPath = cg
	id := r.newID()
	token := tokenVar + "=" + id
	b.spec.Process.Env = append(b.spec.Process.Env, token)
	b.write(t)

	// TCG makes every step 20 to 40 times slower: fewer rounds over a
	// longer window.
	rounds, window := 200, 15*time.Millisecond
	if os.Getenv("BERTH_VM") == "1" {
		rounds, window = 25, 300*time.Millisecond
	}
	ours := func(m string) bool {
		return strings.HasPrefix(m, r.root+"/") || strings.HasPrefix(m, b.dir+"/") || m == b.dir
	}
	leftMounts := func() []string {
		var out []string
		for _, m := range hostMounts() {
			if ours(m) {
				out = append(out, m)
			}
		}
		return out
	}
	checkClean := func(round int, what string) bool {
		t.Helper()
		ok := true
		if ents, _ := os.ReadDir(r.root); len(ents) > 0 {
			var names []string
			for _, e := range ents {
				names = append(names, e.Name())
			}
			t.Errorf("round %d: %s: left under --root: %q", round, what, names)
			ok = false
		}
		if d := cgroupDirs(cg); len(d) > 0 {
			t.Errorf("round %d: %s: cgroups left: %q", round, what, d)
			ok = false
		}
		// Orphans of the killed create that never joined the cgroup end
		// by themselves once they read end-of-file from it.
		var pids []int
		for i := 0; i < 100; i++ {
			if pids = binaryProcesses(t, r.bin, token); len(pids) == 0 {
				break
			}
			sleepMs(20)
		}
		for _, pid := range pids {
			cmdline, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
			t.Errorf("round %d: %s: process %d (%q) left", round, what, pid, bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '}))
			syscall.Kill(pid, syscall.SIGKILL)
			ok = false
		}
		if m := leftMounts(); len(m) > 0 {
			t.Errorf("round %d: %s: mounts left: %q", round, what, m)
			ok = false
		}
		return ok
	}
	start := time.Now()
	for i := 0; i < rounds; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
		cmd := r.command(ctx, "create", "--bundle", b.dir, id)
		cmd.Env = append(os.Environ(), token)
		if err := cmd.Start(); err != nil {
			cancel()
			t.Fatal(err)
		}
		time.Sleep(rand.N(window))
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		cancel()
		if res := r.run("delete", "--force", id); res.code != 0 || res.stderr != "" {
			t.Fatalf("round %d: delete --force after a killed create: %s", i, res)
		}
		if !checkClean(i, "killed create, then delete --force") {
			t.FailNow()
		}
		if res := r.run("create", "--bundle", b.dir, id); res.code != 0 {
			t.Fatalf("round %d: create again after delete --force: %s", i, res)
		}
		r.mustRun("delete", "--force", id)
	}
	if !checkClean(rounds, "the end") {
		return
	}
	t.Logf("%d rounds in %v", rounds, time.Since(start).Round(time.Millisecond))
}

// TestCreateDirWithoutState: a container directory without state.json (a
// create killed before its first state write, perhaps with the temp file
// of that write) is listed as stopped, reported by state, and removed by
// delete, plain or forced; a create of the same id is refused meanwhile.
func TestCreateDirWithoutState(t *testing.T) {
	r := newRuntime(t)
	b := newBundle(t, "true")
	b.write(t)
	for _, force := range []bool{false, true} {
		id := r.newID()
		dir := filepath.Join(r.root, id)
		if err := os.Mkdir(dir, 0o711); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, ".state-1234"), `{"config":{"ociVer`)

		if out := r.mustRun("list", "-q").stdout; !strings.Contains(out, id) {
			t.Errorf("list -q does not show %s: %q", id, out)
		}
		var row string
		for _, l := range lines(r.mustRun("list").stdout) {
			if strings.HasPrefix(l, id+" ") {
				row = l
			}
		}
		if f := strings.Fields(row); len(f) < 3 || f[1] != "0" || f[2] != "stopped" {
			t.Errorf("list row of %s: %q, want pid 0, stopped", id, row)
		}
		if st := r.state(id); st.Status != specs.StateStopped || st.ID != id {
			t.Errorf("state of %s: %+v, want stopped", id, st)
		}
		assertErrorLine(t, r.run("create", "--bundle", b.dir, id), "already exists")

		args := []string{"delete", id}
		if force {
			args = []string{"delete", "--force", id}
		}
		if res := r.run(args...); res.code != 0 || res.stderr != "" {
			t.Errorf("%q: %s", args, res)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("%q left %s (%v)", args, dir, err)
		}
	}
}
