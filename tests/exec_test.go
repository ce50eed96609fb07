package tests

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"berth/internal/mountinfo"
)

// runningSleeper creates and starts a container that sleeps, for exec.
func runningSleeper(t *testing.T, r *runtime) *container {
	t.Helper()
	b := r.bundle(t, "sleep", "1000")
	c := r.create(b)
	c.start()
	return c
}

func TestExec(t *testing.T) { scenarioExec(t, newRuntime(t)) }

func scenarioExec(t *testing.T, r *runtime) {
	c := runningSleeper(t, r)

	t.Run("namespaces and output", func(t *testing.T) {
		res := r.mustRun("exec", c.id, "sh", "-c", "echo pid1=$(cat /proc/1/comm); hostname; readlink /proc/self/ns/net")
		initNet, err := os.Readlink("/proc/" + strconv.Itoa(r.state(c.id).Pid) + "/ns/net")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(res.stdout, "pid1=sleep") || !strings.Contains(res.stdout, initNet) {
			t.Errorf("exec does not see the container's pid and net namespaces (init net %s): %s", initNet, res)
		}
	})
	t.Run("exit status", func(t *testing.T) {
		if res := r.run("exec", c.id, "sh", "-c", "exit 7"); res.code != 7 {
			t.Errorf("exec exit status %d, want 7: %s", res.code, res)
		}
		if res := r.run("exec", c.id, "sh", "-c", "kill -9 $$"); res.code != 137 {
			t.Errorf("exec killed by SIGKILL: status %d, want 137: %s", res.code, res)
		}
	})
	t.Run("user env cwd caps", func(t *testing.T) {
		res := r.mustRun("exec", "-u", "1000:1001", "-g", "5", "-e", "FOO=bar", "--cwd", "/bin", "--cap", "CAP_NET_RAW",
			c.id, "sh", "-c", "id -u; id -g; id -G; echo $FOO; pwd; grep CapBnd /proc/self/status")
		got := lines(res.stdout)
		want := []string{"1000", "1001", "1001 5", "bar", "/bin"}
		for i, w := range want {
			if i >= len(got) || got[i] != w {
				t.Fatalf("exec settings: got %q, want prefix %q", got, want)
			}
		}
		if !strings.Contains(res.stdout, capMask(t, "CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW")) {
			t.Errorf("--cap CAP_NET_RAW not in the bounding set: %s", res.stdout)
		}
	})
	t.Run("process file", func(t *testing.T) {
		p := specs.Process{Args: []string{"sh", "-c", "echo from-json $X; pwd"}, Cwd: "/dev", Env: []string{"PATH=/bin", "X=1"}}
		data, _ := json.Marshal(p)
		path := filepath.Join(r.dir(t, "proc"), "process.json")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		res := r.mustRun("exec", "--process", path, c.id)
		if lines(res.stdout)[0] != "from-json 1" || lines(res.stdout)[1] != "/dev" {
			t.Errorf("exec --process: %s", res)
		}
	})
	t.Run("detach and pid file", func(t *testing.T) {
		pidFile := filepath.Join(r.dir(t, "pid"), "exec.pid")
		r.mustRun("exec", "-d", "--pid-file", pidFile, c.id, "sleep", "30")
		data, err := os.ReadFile(pidFile)
		if err != nil {
			t.Fatal(err)
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
		if err != nil {
			t.Fatalf("pid file %q: %v", data, err)
		}
		comm, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
		if strings.TrimSpace(string(comm)) != "sleep" {
			t.Errorf("pid file names %d (%q), want the exec'd sleep", pid, comm)
		}
		// Same cgroup and the same namespaces as the init.
		initPid := strconv.Itoa(r.state(c.id).Pid)
		cgInit, _ := os.ReadFile("/proc/" + initPid + "/cgroup")
		cgExec, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
		if string(cgInit) != string(cgExec) || len(cgInit) == 0 {
			t.Errorf("exec'd process cgroup:\n%s\ninit's:\n%s", cgExec, cgInit)
		}
		for _, ns := range []string{"mnt", "pid", "net", "ipc", "uts", "cgroup"} {
			a, _ := os.Readlink("/proc/" + initPid + "/ns/" + ns)
			b, _ := os.Readlink("/proc/" + strconv.Itoa(pid) + "/ns/" + ns)
			if a != b || a == "" {
				t.Errorf("namespace %s: exec %q, init %q", ns, b, a)
			}
		}
	})
	t.Run("seccomp and no_new_privs of the container apply", func(t *testing.T) {
		res := r.mustRun("exec", "--no-new-privs", c.id, "grep", "NoNewPrivs", "/proc/self/status")
		if !strings.Contains(res.stdout, "1") {
			t.Errorf("--no-new-privs: %s", res)
		}
	})
	t.Run("bad command", func(t *testing.T) {
		res := r.run("exec", c.id, "/no/such/binary")
		if res.code == 0 || !strings.Contains(res.stderr, "/no/such/binary") {
			t.Errorf("exec of a missing binary: %s", res)
		}
	})
}

// TestExecTerminal: exec -t with a console socket sends the pty master,
// the process has the slave as its controlling tty and process.consoleSize
// applied (the exec process makes the pty).
func TestExecTerminal(t *testing.T) {
	r := newRuntime(t)
	c := runningSleeper(t, r)
	sock, ln, got := listenConsole(t)
	defer ln.Close()
	proc := filepath.Join(testDir(t, "proc"), "process.json")
	writeFile(t, proc, `{"terminal":true,"consoleSize":{"height":33,"width":101},"user":{"uid":0,"gid":0},`+
		`"args":["sh"],"env":["PATH=/bin","TERM=dumb"],"cwd":"/"}`)
	res := r.run("exec", "-d", "--console-socket", sock, "--process", proc, c.id)
	if res.code != 0 {
		t.Fatalf("exec -d --process (terminal): %s", res)
	}
	m := waitConsole(t, got, "exec")
	defer m.f.Close()
	m.f.Write([]byte("tty; stty size; echo ok-$((6*7)); exit\n"))
	out := readUntil(m.f, "ok-42", 15*time.Second)
	if !strings.Contains(out, "ok-42") || !strings.Contains(out, "/dev/pts/") || !strings.Contains(out, "33 101") {
		t.Errorf("exec -t: terminal output %q, want a /dev/pts tty, size 33 101 and ok-42", out)
	}
}

func TestExecNotRunning(t *testing.T) {
	r := newRuntime(t)
	b := newBundle(t, "true")
	_, res := r.runContainer(b, "--keep")
	if res.code != 0 {
		t.Fatalf("run: %s", res)
	}
	ids := lines(r.mustRun("list", "-q").stdout)
	if len(ids) != 1 {
		t.Fatalf("list after run --keep: %q", ids)
	}
	res = r.run("exec", ids[0], "true")
	assertErrorLine(t, res, "stopped")
	res = r.run("exec", "no-such-container", "true")
	assertErrorLine(t, res, "does not exist")
	r.forceDelete(ids[0])
}

// TestExecSubCgroup: exec --cgroup runs the process in an existing
// sub-cgroup of the container, made (as a workload or an engine would)
// while the container's init runs; a missing one, or a path out of the
// container's cgroup, is an error. On cgroup v2 berth must leave the
// container cgroup's subtree_control alone: threaded controllers enabled
// there, beside the init, make it a thread root and the sub-cgroup
// "domain invalid", which the kernel refuses processes (EOPNOTSUPP).
func TestExecSubCgroup(t *testing.T) {
	r := newRuntime(t)
	b := newBundle(t, "sleep", "1000")
	b.addNamespace(specs.CgroupNamespace, "")
	c := r.create(b)
	c.start()
	paths := cgroupPaths(t, r, c.id)
	_, v2 := paths["unified"]
	v2 = v2 && len(paths) == 1
	key, arg := "pids", "pids:sub"
	if v2 {
		key, arg = "unified", "sub"
	}
	base := paths[key]
	if err := os.Mkdir(filepath.Join(base, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	// Inside: the container's cgroup namespace is rooted at its cgroup.
	want := "0::/sub"
	if !v2 {
		want = ":pids:/sub"
	}
	res := r.mustRun("exec", "--cgroup", arg, c.id, "cat", "/proc/self/cgroup")
	if !slices.ContainsFunc(lines(res.stdout), func(l string) bool { return strings.HasSuffix(l, want) }) {
		t.Errorf("exec --cgroup %s: /proc/self/cgroup is\n%s\nwant a line ending %q", arg, res.stdout, want)
	}
	// Outside: the host sees the process in <container cgroup>/sub.
	pidFile := filepath.Join(testDir(t, "pid"), "exec.pid")
	slashArg := "/sub" // the container's cgroup is "/" in its cgroup namespace
	if !v2 {
		slashArg = "pids:/sub"
	}
	r.mustRun("exec", "-d", "--pid-file", pidFile, "--cgroup", slashArg, c.id, "sleep", "30")
	data, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid := strings.TrimSpace(string(data))
	hostView, _ := os.ReadFile("/proc/" + pid + "/cgroup")
	syscall.Kill(atoi(t, pid), syscall.SIGKILL)
	if !strings.Contains(string(hostView), ":"+hostCgroupPath(base)+"/sub\n") {
		t.Errorf("exec -d --cgroup %s: host /proc/%s/cgroup is\n%s\nwant %s/sub", slashArg, pid, hostView, hostCgroupPath(base))
	}
	if v2 {
		sc, _ := os.ReadFile(filepath.Join(base, "cgroup.subtree_control"))
		typ, _ := os.ReadFile(filepath.Join(base, "sub", "cgroup.type"))
		if strings.TrimSpace(string(sc)) != "" || strings.TrimSpace(string(typ)) != "domain" {
			t.Errorf("exec --cgroup changed the container's cgroup: subtree_control %q, sub's cgroup.type %q", sc, typ)
		}
	}

	for _, bad := range []string{"..", "../x", "sub/../../x", "/../x", "sub/.."} {
		if v2 {
			assertErrorLine(t, r.run("exec", "--cgroup", bad, c.id, "true"), "inside the container's cgroup")
		} else {
			assertErrorLine(t, r.run("exec", "--cgroup", "pids:"+bad, c.id, "true"), "inside the container's cgroup")
		}
	}
	nope := "nope"
	if !v2 {
		nope = "pids:nope"
	}
	assertErrorAll(t, r.run("exec", "--cgroup", nope, c.id, "true"), "does not exist", filepath.Join(base, "nope"))
	if !v2 {
		assertErrorLine(t, r.run("exec", "--cgroup", "nosuchctrl:sub", c.id, "true"), "no \"nosuchctrl\" cgroup")
		r.mustRun("delete", "--force", c.id)
		if _, err := os.Stat(base); !os.IsNotExist(err) {
			t.Errorf("after delete --force, %s: %v", base, err)
		}
		return
	}
	assertErrorLine(t, r.run("exec", "--cgroup", "pids:sub", c.id, "true"), "single hierarchy")

	// The kernel's own refusals, explained. A thread root above the
	// sub-cgroup: the container cgroup holds the init and enables pids.
	writeCgroup(t, base, "cgroup.subtree_control", "+pids")
	assertErrorAll(t, r.run("exec", "--cgroup", "sub", c.id, "true"), "EOPNOTSUPP", "domain invalid", base+" is a thread root")
	writeCgroup(t, base, "cgroup.subtree_control", "-pids")
	r.mustRun("exec", "--cgroup", "sub", c.id, "true")

	// No internal processes: a sub-cgroup that enables a domain controller
	// for its children takes no process (EBUSY); a leaf below it does. The
	// container cgroup may only enable it once its init sits in a leaf.
	ctrls, _ := os.ReadFile(filepath.Join(base, "cgroup.controllers"))
	if !slices.Contains(strings.Fields(string(ctrls)), "memory") {
		t.Fatalf("%s offers no memory controller (cgroup.controllers %q)", base, ctrls)
	}
	for _, d := range []string{"init", "busy", "busy/leaf"} {
		if err := os.Mkdir(filepath.Join(base, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeCgroup(t, filepath.Join(base, "init"), "cgroup.procs", strconv.Itoa(r.state(c.id).Pid))
	writeCgroup(t, base, "cgroup.subtree_control", "+memory")
	writeCgroup(t, filepath.Join(base, "busy"), "cgroup.subtree_control", "+memory")
	assertErrorAll(t, r.run("exec", "--cgroup", "busy", c.id, "true"), "EBUSY", "no internal processes", filepath.Join(base, "busy"))
	res = r.mustRun("exec", "--cgroup", "busy/leaf", c.id, "cat", "/proc/self/cgroup")
	if !strings.Contains(res.stdout, "0::/busy/leaf\n") {
		t.Errorf("exec --cgroup busy/leaf: /proc/self/cgroup is\n%s", res.stdout)
	}
	// delete removes the sub-cgroups too, nested and delegating ones included.
	r.mustRun("delete", "--force", c.id)
	if _, err := os.Stat(base); !os.IsNotExist(err) {
		t.Errorf("after delete --force, %s: %v", base, err)
	}
}

// assertErrorAll is assertErrorLine where the line must mention every hint.
func assertErrorAll(t *testing.T, res result, hints ...string) {
	t.Helper()
	assertErrorLine(t, res)
	for _, h := range hints {
		if !strings.Contains(res.stderr, h) {
			t.Errorf("error line %q does not mention %q", strings.TrimSpace(res.stderr), h)
		}
	}
}

// cgroupPaths is the cgroup_paths berth saved for container id.
func cgroupPaths(t *testing.T, r *runtime, id string) map[string]string {
	t.Helper()
	var st struct {
		CgroupPaths map[string]string `json:"cgroup_paths"`
	}
	data, err := os.ReadFile(filepath.Join(r.root, id, "state.json"))
	if err != nil || json.Unmarshal(data, &st) != nil || len(st.CgroupPaths) == 0 {
		t.Fatalf("state.json of %s: %v: %s", id, err, data)
	}
	return st.CgroupPaths
}

// hostCgroupPath is dir as /proc/<pid>/cgroup names it from the host:
// the part below the hierarchy's mount point.
func hostCgroupPath(dir string) string {
	mounts, _ := mountinfo.Read()
	for _, m := range mounts {
		if (m.FSType == "cgroup" || m.FSType == "cgroup2") && m.Root == "/" && strings.HasPrefix(dir, m.Mountpoint+"/") {
			return strings.TrimPrefix(dir, m.Mountpoint)
		}
	}
	return dir
}

func readProc(p string) string {
	b, _ := os.ReadFile(p)
	return string(b)
}

func writeCgroup(t *testing.T, dir, file, value string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, file), []byte(value), 0); err != nil {
		t.Fatalf("write %q to %s/%s: %v", value, dir, file, err)
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestExecCapNotInheritable: `exec --cap` adds to the bounding, effective
// and permitted sets, never to the inheritable one (CVE-2022-29162);
// ambient gets it only where the spec made it inheritable.
func TestExecCapNotInheritable(t *testing.T) {
	r := newRuntime(t)
	b := newBundle(t, "sleep", "1000")
	b.spec.Process.Capabilities.Inheritable = []string{"CAP_KILL"}
	c := r.create(b)
	c.start()
	res := r.run("exec", "--cap", "CAP_SYS_ADMIN", "--cap", "CAP_KILL", c.id, "grep", "-E", "^Cap(Inh|Amb|Eff)", "/proc/self/status")
	if res.code != 0 {
		t.Fatalf("exec: %s", res)
	}
	// CAP_KILL is bit 5: inheritable and ambient hold it alone.
	for _, want := range []string{"CapInh:\t0000000000000020", "CapAmb:\t0000000000000020"} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("want %q: %s", want, res.stdout)
		}
	}
	_, eff, _ := strings.Cut(res.stdout, "CapEff:\t")
	if v, err := strconv.ParseUint(strings.TrimSpace(strings.Split(eff, "\n")[0]), 16, 64); err != nil || v&(1<<21) == 0 {
		t.Errorf("--cap CAP_SYS_ADMIN (bit 21) not effective: %s", res.stdout)
	}
}
