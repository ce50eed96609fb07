package tests

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// statusField returns the value of one "Name:\tvalue" line of
// /proc/<pid>/status text.
func statusField(status, name string) string {
	for _, l := range strings.Split(status, "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && k == name {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func TestRlimits(t *testing.T) { scenarioRlimits(t, newRuntime(t)) }

func scenarioRlimits(t *testing.T, r *runtime) {
	b := r.shBundle(t, "ulimit -n; ulimit -Hn; cat /proc/self/limits")
	b.spec.Process.Rlimits = []specs.POSIXRlimit{
		{Type: "RLIMIT_NOFILE", Soft: 123, Hard: 456},
		{Type: "RLIMIT_CORE", Soft: 4096, Hard: 8192},
		{Type: "RLIMIT_NPROC", Soft: 777, Hard: 888},
	}
	out := lines(r.mustRunContainer(b))
	if len(out) < 3 || out[0] != "123" || out[1] != "456" {
		t.Fatalf("ulimit -n / -Hn: %q, want 123 / 456", out)
	}
	limits := map[string][]string{}
	for _, l := range out[2:] {
		for _, name := range []string{"Max open files", "Max core file size", "Max processes"} {
			if strings.HasPrefix(l, name) {
				limits[name] = strings.Fields(strings.TrimPrefix(l, name))
			}
		}
	}
	for name, want := range map[string][]string{
		"Max open files":     {"123", "456"},
		"Max core file size": {"4096", "8192"},
		"Max processes":      {"777", "888"},
	} {
		got := limits[name]
		if len(got) < 2 || got[0] != want[0] || got[1] != want[1] {
			t.Errorf("%s: soft/hard %q, want %q", name, got, want)
		}
	}
}

// capMask turns capability names into the hex form of /proc/pid/status.
func capMask(t *testing.T, names ...string) string {
	t.Helper()
	var m uint64
	for _, n := range names {
		found := false
		for i, c := range allCaps {
			if c == n {
				m |= 1 << i
				found = true
			}
		}
		if !found {
			t.Fatalf("unknown capability %s in the test", n)
		}
	}
	return fmt.Sprintf("%016x", m)
}

func TestCapabilities(t *testing.T) { scenarioCapabilities(t, newRuntime(t)) }

func scenarioCapabilities(t *testing.T, r *runtime) {
	script := "grep ^Cap /proc/self/status"

	t.Run("root", func(t *testing.T) {
		// For uid 0 the kernel fills effective and permitted from the
		// bounding set at execve, so those three are equal.
		b := r.shBundle(t, script)
		bnd := []string{"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SYS_TIME"}
		b.spec.Process.Capabilities = &specs.LinuxCapabilities{
			Bounding: bnd, Effective: bnd, Permitted: bnd,
			Inheritable: []string{"CAP_KILL"},
		}
		st := r.mustRunContainer(b)
		for field, want := range map[string]string{
			"CapBnd": capMask(t, bnd...), "CapEff": capMask(t, bnd...),
			"CapPrm": capMask(t, bnd...), "CapInh": capMask(t, "CAP_KILL"),
		} {
			if got := statusField(st, field); got != want {
				t.Errorf("%s = %s, want %s", field, got, want)
			}
		}
	})

	t.Run("non-root with ambient", func(t *testing.T) {
		// For a non-root user without file capabilities, execve keeps only
		// the ambient set in permitted and effective.
		b := r.shBundle(t, script)
		b.spec.Process.User = specs.User{UID: 1000, GID: 1000}
		bnd := []string{"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW"}
		b.spec.Process.Capabilities = &specs.LinuxCapabilities{
			Bounding: bnd, Effective: bnd, Permitted: bnd,
			Inheritable: []string{"CAP_KILL", "CAP_NET_RAW"},
			Ambient:     []string{"CAP_NET_RAW"},
		}
		st := r.mustRunContainer(b)
		for field, want := range map[string]string{
			"CapBnd": capMask(t, bnd...),
			"CapInh": capMask(t, "CAP_KILL", "CAP_NET_RAW"),
			"CapPrm": capMask(t, "CAP_NET_RAW"),
			"CapEff": capMask(t, "CAP_NET_RAW"),
			"CapAmb": capMask(t, "CAP_NET_RAW"),
		} {
			if got := statusField(st, field); got != want {
				t.Errorf("%s = %s, want %s", field, got, want)
			}
		}
	})

	t.Run("dropped capability is enforced", func(t *testing.T) {
		b := r.shBundle(t, "chown 1000 /tmp/f 2>&1; echo rc=$?")
		writeFile(t, filepath.Join(b.rootfs, "tmp", "f"), "")
		if r.user != nil {
			// The container's root owns it, so only the capability is missing.
			chownTree(t, filepath.Join(b.rootfs, "tmp", "f"), r.user.uid, r.user.gid)
		}
		b.setCaps([]string{"CAP_KILL"})
		if out := r.mustRunContainer(b); !strings.Contains(out, "rc=1") {
			t.Errorf("chown without CAP_CHOWN: %q, want failure", out)
		}
	})
}

// TestCapabilityWarnings: a capability name the runtime does not know is
// left out with a warning and the container starts, as the runtime spec
// asks ("SHOULD NOT fail", "MUST log a warning") and runc does; on both
// inits and both exec paths. The warning goes to the runtime's log, never
// into the container's stdio: an init once printed it on its stderr,
// which is the container's.
func TestCapabilityWarnings(t *testing.T) {
	r := newRuntime(t)
	known := []string{"CAP_KILL", "CAP_NET_BIND_SERVICE"}
	withBogus := append(known[:len(known):len(known)], "CAP_BOGUS")
	check := func(t *testing.T, res result, logFile string, want []string) {
		t.Helper()
		if res.code != 0 {
			t.Fatalf("an unknown capability failed the container: %s", res)
		}
		if got := statusField(res.stdout, "CapBnd"); got != capMask(t, want...) {
			t.Errorf("CapBnd = %s, want %s (%s)", got, capMask(t, want...), want)
		}
		log, err := os.ReadFile(logFile)
		if err != nil || !strings.Contains(string(log), `unknown capability \"CAP_BOGUS\"; ignored`) {
			t.Errorf("no warning about CAP_BOGUS in the log (%v):\n%s", err, log)
		}
		if strings.Contains(res.stdout+res.stderr, "CAP_BOGUS") {
			t.Errorf("the warning reached the container's stdio: %s", res)
		}
	}
	t.Run("create", func(t *testing.T) {
		b := newShBundle(t, "grep ^CapBnd /proc/self/status")
		b.spec.Process.Capabilities = &specs.LinuxCapabilities{Bounding: withBogus, Effective: withBogus, Permitted: withBogus}
		b.write(t)
		logFile := filepath.Join(testDir(t, "log"), "berth.log")
		id := r.newID()
		res := r.run("--log", logFile, "run", "--bundle", b.dir, id)
		check(t, res, logFile, known)
	})
	c := runningSleeper(t, r)
	t.Run("exec", func(t *testing.T) {
		logFile := filepath.Join(testDir(t, "log"), "berth.log")
		res := r.run("--log", logFile, "exec", "--cap", "CAP_BOGUS", c.id, "grep", "^CapBnd", "/proc/self/status")
		// The container's own set (baseSpec's), without the unknown one.
		check(t, res, logFile, []string{"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"})
	})
}

func TestUser(t *testing.T) { scenarioUser(t, newRuntime(t)) }

func scenarioUser(t *testing.T, r *runtime) {
	script := "id -u; id -g; umask; grep ^Groups /proc/self/status; touch /tmp/owned; stat -c '%u:%g %a' /tmp/owned"

	umask := uint32(0o027)
	b := r.shBundle(t, script)
	b.spec.Process.User = specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{10, 20}, Umask: &umask}
	out := lines(r.mustRunContainer(b))
	if len(out) != 5 {
		t.Fatalf("unexpected output %q", out)
	}
	if out[0] != "1000" || out[1] != "1000" {
		t.Errorf("uid/gid %s/%s, want 1000/1000", out[0], out[1])
	}
	if out[2] != "0027" {
		t.Errorf("umask %s, want 0027", out[2])
	}
	if g := strings.Fields(strings.TrimPrefix(out[3], "Groups:")); strings.Join(g, " ") != "10 20" {
		t.Errorf("supplementary groups %q, want 10 20", g)
	}
	if out[4] != "1000:1000 640" {
		t.Errorf("a file created in the container: %q, want 1000:1000 640", out[4])
	}

	t.Run("root has no supplementary groups", func(t *testing.T) {
		out := lines(r.mustRunContainer(r.shBundle(t, "grep ^Groups /proc/self/status")))
		if len(out) != 1 || strings.TrimSpace(strings.TrimPrefix(out[0], "Groups:")) != "" {
			t.Errorf("root without additionalGids: %q, want no supplementary groups", out)
		}
	})
}

func TestEnvAndCwd(t *testing.T) { scenarioEnvAndCwd(t, newRuntime(t)) }

func scenarioEnvAndCwd(t *testing.T, r *runtime) {
	b := r.shBundle(t, `pwd; echo "FOO=$FOO"; echo "SPACED=$SPACED"; env | grep -c '^EMPTY=$'; env | grep -c BERTH_TEST_HOST_ONLY; true`)
	b.spec.Process.Env = append(b.spec.Process.Env, "FOO=bar", "SPACED=a b  c", "EMPTY=")
	b.spec.Process.Cwd = "/home/user/work"
	if err := os.MkdirAll(filepath.Join(b.rootfs, "home/user/work"), 0o755); err != nil {
		t.Fatal(err)
	}
	b.write(t)
	id := r.newID()
	res := r.runCmd(func(c *exec.Cmd) {
		base := c.Env // the rootless user's clean environment
		if base == nil {
			base = os.Environ()
		}
		c.Env = append(base, "BERTH_TEST_HOST_ONLY=leak")
	}, "run", "--bundle", b.dir, id)
	if res.code != 0 {
		t.Fatalf("container failed: %s", res)
	}
	out := lines(res.stdout)
	want := []string{"/home/user/work", "FOO=bar", "SPACED=a b  c", "1", "0"}
	if strings.Join(out, "\n") != strings.Join(want, "\n") {
		t.Errorf("got %q, want %q (cwd, env from the spec, nothing from the runtime's environment)", out, want)
	}
}

// TestEnvNormalised: a variable given twice reaches the process once, in
// its first place with its last value, and an empty HOME counts as unset
// (HOME then comes from the container's /etc/passwd, "/" for a user it
// lacks). runc 1.1.5 gives exactly these environments, in this order. On
// create and exec: the parent normalises, the executor looks HOME up.
func TestEnvNormalised(t *testing.T) {
	r := newRuntime(t)
	dup := []string{"A=1", "HOME=", "PATH=/bin", "B=2", "A=3", "C=x=y", "B="}
	cases := []struct {
		name string
		uid  uint32
		env  []string
		want []string
	}{
		{"root, empty HOME", 0, dup, []string{"A=3", "HOME=/root", "PATH=/bin", "B=", "C=x=y"}},
		{"user, empty HOME", 1000, dup, []string{"A=3", "HOME=/home/user", "PATH=/bin", "B=", "C=x=y"}},
		{"no passwd entry", 1234, dup, []string{"A=3", "HOME=/", "PATH=/bin", "B=", "C=x=y"}},
		{"HOME emptied last", 0, []string{"PATH=/bin", "HOME=/x", "HOME="}, []string{"PATH=/bin", "HOME=/root"}},
		{"HOME set last", 0, []string{"PATH=/bin", "HOME=", "HOME=/x"}, []string{"PATH=/bin", "HOME=/x"}},
		{"no HOME", 1000, []string{"PATH=/bin"}, []string{"PATH=/bin", "HOME=/home/user"}},
	}
	for _, tc := range cases {
		t.Run("create "+tc.name, func(t *testing.T) {
			b := newBundle(t, "env")
			b.spec.Process.User = specs.User{UID: tc.uid, GID: tc.uid}
			b.spec.Process.Env = tc.env
			b.write(t)
			res := r.run("run", "--bundle", b.dir, r.newID())
			if res.code != 0 {
				t.Fatalf("run: %s", res)
			}
			if got := lines(res.stdout); !slices.Equal(got, tc.want) {
				t.Errorf("env %q, want %q", got, tc.want)
			}
		})
	}
	c := runningSleeper(t, r)
	for _, tc := range cases {
		t.Run("exec "+tc.name, func(t *testing.T) {
			proc := writeProcessJSON(t, specs.Process{Args: []string{"env"}, Cwd: "/", Env: tc.env, User: specs.User{UID: tc.uid, GID: tc.uid}})
			res := r.run("exec", "--process", proc, c.id)
			if res.code != 0 {
				t.Fatalf("exec: %s", res)
			}
			if got := lines(res.stdout); !slices.Equal(got, tc.want) {
				t.Errorf("env %q, want %q", got, tc.want)
			}
		})
	}
}

func TestNoNewPrivileges(t *testing.T) { scenarioNoNewPrivileges(t, newRuntime(t)) }

func scenarioNoNewPrivileges(t *testing.T, r *runtime) {
	for _, nnp := range []bool{true, false} {
		b := r.shBundle(t, "grep ^NoNewPrivs /proc/self/status")
		b.spec.Process.NoNewPrivileges = nnp
		want := "0"
		if nnp {
			want = "1"
		}
		if got := statusField(r.mustRunContainer(b), "NoNewPrivs"); got != want {
			t.Errorf("noNewPrivileges=%v: NoNewPrivs %q, want %s", nnp, got, want)
		}
	}
}

func TestOOMScoreAdj(t *testing.T) {
	r := newRuntime(t)
	hostBefore, _ := os.ReadFile("/proc/self/oom_score_adj")
	b := newShBundle(t, "cat /proc/self/oom_score_adj")
	adj := 123
	b.spec.Process.OOMScoreAdj = &adj
	if got := strings.TrimSpace(r.mustRunContainer(b)); got != "123" {
		t.Errorf("oom_score_adj inside %q, want 123", got)
	}
	if hostAfter, _ := os.ReadFile("/proc/self/oom_score_adj"); string(hostAfter) != string(hostBefore) {
		t.Errorf("the caller's oom_score_adj changed from %q to %q", hostBefore, hostAfter)
	}
}

func TestSysctl(t *testing.T) {
	r := newRuntime(t)
	hostBefore, _ := os.ReadFile("/proc/sys/net/ipv4/ip_forward")
	b := newShBundle(t, "cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/msgmax")
	b.spec.Linux.Sysctl = map[string]string{
		"net.ipv4.ip_forward": "1",
		"kernel.msgmax":       "4321",
	}
	if got := lines(r.mustRunContainer(b)); strings.Join(got, " ") != "1 4321" {
		t.Errorf("sysctls inside: %q, want 1 4321", got)
	}
	if hostAfter, _ := os.ReadFile("/proc/sys/net/ipv4/ip_forward"); string(hostAfter) != string(hostBefore) {
		t.Errorf("host net.ipv4.ip_forward changed from %q to %q", hostBefore, hostAfter)
	}
}

// TestRlimitAddressSpace: an RLIMIT_AS below what a Go process reserves
// (berth's init has ~1.5 GB of VmSize) must still start the workload, with
// the limit in force for it. It used to kill the init ("out of memory").
func TestRlimitAddressSpace(t *testing.T) {
	r := newRuntime(t)
	b := newShBundle(t, "ulimit -v; ulimit -d")
	b.spec.Process.Rlimits = []specs.POSIXRlimit{
		{Type: "RLIMIT_AS", Soft: 256 << 20, Hard: 512 << 20},
		{Type: "RLIMIT_DATA", Soft: 128 << 20, Hard: 256 << 20},
	}
	for i := 0; i < 5; i++ {
		out := lines(r.mustRunContainer(b))
		if len(out) != 2 || out[0] != "262144" || out[1] != "131072" {
			t.Fatalf("ulimit -v / -d inside: %q, want 262144 / 131072 (KiB)", out)
		}
	}
}
