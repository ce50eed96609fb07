package tests

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// hostNS is the namespace link of the test process, e.g. "net:[4026531840]".
func hostNS(t *testing.T, kind string) string {
	t.Helper()
	l, err := os.Readlink("/proc/self/ns/" + kind)
	if err != nil {
		t.Fatalf("readlink /proc/self/ns/%s: %v", kind, err)
	}
	return l
}

// nsScript prints the container's namespace link for kind on one line.
func nsScript(kind string) string { return "readlink /proc/self/ns/" + kind }

func TestNamespacePID(t *testing.T) {
	r := newRuntime(t)
	out := lines(r.mustRunContainer(newShBundle(t, "echo $$; "+nsScript("pid"))))
	if len(out) != 2 || out[0] != "1" {
		t.Fatalf("in a new pid namespace the workload must be pid 1; got %q", out)
	}
	if out[1] == hostNS(t, "pid") {
		t.Fatalf("container pid namespace %s is the host's", out[1])
	}

	t.Run("host pid namespace", func(t *testing.T) {
		b := newShBundle(t, "echo $$; "+nsScript("pid"))
		b.removeNamespace(specs.PIDNamespace)
		out := lines(r.mustRunContainer(b))
		if len(out) != 2 || out[0] == "1" || out[1] != hostNS(t, "pid") {
			t.Fatalf("without a pid namespace the workload must share the host's; got %q", out)
		}
	})
}

func TestNamespaceUTS(t *testing.T) { scenarioNamespaceUTS(t, newRuntime(t)) }

func scenarioNamespaceUTS(t *testing.T, r *runtime) {
	hostHost, _ := os.Hostname()
	b := r.shBundle(t, "hostname; cat /proc/sys/kernel/domainname; "+nsScript("uts"))
	b.spec.Hostname = "bt-uts-host"
	b.spec.Domainname = "bt-uts-domain"
	out := lines(r.mustRunContainer(b))
	if len(out) != 3 || out[0] != "bt-uts-host" || out[1] != "bt-uts-domain" {
		t.Fatalf("want hostname bt-uts-host and domainname bt-uts-domain inside, got %q", out)
	}
	if out[2] == hostNS(t, "uts") {
		t.Fatalf("container uts namespace is the host's")
	}
	if h, _ := os.Hostname(); h != hostHost {
		t.Fatalf("host hostname changed from %q to %q", hostHost, h)
	}
}

func TestNamespaceIPC(t *testing.T) {
	r := newRuntime(t)
	out := lines(r.mustRunContainer(newShBundle(t, nsScript("ipc"))))
	if len(out) != 1 || !strings.HasPrefix(out[0], "ipc:[") || out[0] == hostNS(t, "ipc") {
		t.Fatalf("want a private ipc namespace, got %q (host %s)", out, hostNS(t, "ipc"))
	}
}

func TestNamespaceNet(t *testing.T) {
	r := newRuntime(t)
	script := "ls /sys/class/net; echo --; tail -n +3 /proc/net/dev | cut -d: -f1; echo --; " +
		"cat /sys/class/net/lo/flags; " + nsScript("net")
	out := r.mustRunContainer(newShBundle(t, script))
	parts := strings.Split(out, "--")
	if len(parts) != 3 {
		t.Fatalf("unexpected output %q", out)
	}
	if got := lines(parts[0]); len(got) != 1 || got[0] != "lo" {
		t.Errorf("/sys/class/net in a new net namespace: %q, want only lo", got)
	}
	if got := lines(parts[1]); len(got) != 1 || got[0] != "lo" {
		t.Errorf("/proc/net/dev in a new net namespace lists %q, want only lo", got)
	}
	rest := lines(parts[2])
	if len(rest) != 2 || rest[1] == hostNS(t, "net") {
		t.Fatalf("want a private net namespace, got %q", rest)
	}
	// runc brings the loopback interface of a new network namespace up.
	flags, err := strconv.ParseUint(strings.TrimPrefix(rest[0], "0x"), 16, 32)
	if err != nil || flags&1 == 0 {
		t.Errorf("lo flags %q: loopback is not up (IFF_UP clear)", rest[0])
	}
}

func TestNamespaceMount(t *testing.T) {
	r := newRuntime(t)
	b := newShBundle(t, nsScript("mnt")+"; cat /proc/self/mountinfo")
	before := len(hostMounts())
	out := lines(r.mustRunContainer(b))
	if len(out) < 2 || out[0] == hostNS(t, "mnt") {
		t.Fatalf("want a private mount namespace, got %q", out)
	}
	var root bool
	for _, l := range out[1:] {
		f := strings.Fields(l)
		if len(f) > 4 && f[4] == "/" {
			root = true
		}
		if len(f) > 4 && strings.HasPrefix(f[4], b.dir) {
			t.Errorf("the host's bundle path is visible inside the container: %s", l)
		}
	}
	if !root {
		t.Errorf("no mount on / in the container's mountinfo:\n%s", strings.Join(out[1:], "\n"))
	}
	if after := len(hostMounts()); after != before {
		t.Errorf("host mount table changed from %d to %d entries", before, after)
	}
}

func TestNamespaceCgroup(t *testing.T) {
	r := newRuntime(t)
	b := newShBundle(t, nsScript("cgroup")+"; cat /proc/self/cgroup")
	b.addNamespace(specs.CgroupNamespace, "")
	out := lines(r.mustRunContainer(b))
	if len(out) < 2 || out[0] == hostNS(t, "cgroup") {
		t.Fatalf("want a private cgroup namespace, got %q", out)
	}
	for _, l := range out[1:] {
		if f := strings.SplitN(l, ":", 3); len(f) != 3 || f[2] != "/" {
			t.Errorf("inside a cgroup namespace every cgroup path must be /, got %q", l)
		}
	}

	t.Run("without cgroup namespace", func(t *testing.T) {
		// Only meaningful when the container's cgroup is not a root one,
		// which is the case when the test itself runs below a root.
		host, _ := os.ReadFile("/proc/self/cgroup")
		nonRoot := false
		for _, l := range lines(string(host)) {
			if f := strings.SplitN(l, ":", 3); len(f) == 3 && f[2] != "/" {
				nonRoot = true
			}
		}
		if !nonRoot {
			t.Skip("the test process sits in root cgroups; nothing to contrast")
		}
		b := newShBundle(t, "cat /proc/self/cgroup")
		out := lines(r.mustRunContainer(b))
		for _, l := range out {
			if f := strings.SplitN(l, ":", 3); len(f) == 3 && f[2] != "/" {
				return
			}
		}
		t.Fatalf("without a cgroup namespace some path should be below a root; got %q", out)
	})
}

func TestNamespaceUser(t *testing.T) {
	r := newRuntime(t)
	b := newShBundle(t, "cat /proc/self/uid_map /proc/self/gid_map; id -u; id -g; "+
		nsScript("user")+"; echo ready; "+waitForGo)
	b.addNamespace(specs.UserNamespace, "")
	b.spec.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	b.spec.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	c := r.create(b)
	c.start()
	c.waitOutput("ready")

	pid := r.state(c.id).Pid
	status, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range lines(string(status)) {
		f := strings.Fields(l)
		if (f[0] == "Uid:" || f[0] == "Gid:") && strings.Join(f[1:], " ") != "100000 100000 100000 100000" {
			t.Errorf("host view of the container's root: %q, want all ids 100000", l)
		}
	}
	release(t, b)
	r.waitStatus(c.id, specs.StateStopped)

	out := lines(c.stdout())
	if len(out) < 6 {
		t.Fatalf("short output %q (stderr %q)", out, c.stderr())
	}
	for i, name := range []string{"uid_map", "gid_map"} {
		if f := strings.Fields(out[i]); strings.Join(f, " ") != "0 100000 65536" {
			t.Errorf("%s inside: %q, want 0 100000 65536", name, out[i])
		}
	}
	if out[2] != "0" || out[3] != "0" {
		t.Errorf("inside the user namespace id -u/-g = %s/%s, want 0/0", out[2], out[3])
	}
	if out[4] == hostNS(t, "user") {
		t.Errorf("container shares the host user namespace")
	}
}

func TestNamespaceTime(t *testing.T) {
	r := newRuntime(t)
	const offset = 100000 // seconds; larger than any test's runtime
	b := newShBundle(t, "cat /proc/uptime; cat /proc/self/timens_offsets; "+nsScript("time"))
	b.addNamespace(specs.TimeNamespace, "")
	b.spec.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{
		"monotonic": {Secs: offset},
		"boottime":  {Secs: offset},
	}
	before := hostUptime(t)
	out := lines(r.mustRunContainer(b))
	after := hostUptime(t)
	if len(out) < 4 {
		t.Fatalf("unexpected output %q", out)
	}
	inside, err := strconv.ParseFloat(strings.Fields(out[0])[0], 64)
	if err != nil {
		t.Fatalf("parse container uptime %q: %v", out[0], err)
	}
	if inside < before+offset-1 || inside > after+offset+1 {
		t.Errorf("container uptime %.2f, want host uptime (%.2f..%.2f) + %d", inside, before, after, offset)
	}
	offs := strings.Join(out[1:3], "\n")
	for _, want := range []string{"monotonic", "boottime"} {
		if !fieldsMatch(offs, want, strconv.Itoa(offset)) {
			t.Errorf("timens_offsets %q lacks %s %d", offs, want, offset)
		}
	}
	if out[3] == hostNS(t, "time") {
		t.Errorf("container shares the host time namespace")
	}
}

// fieldsMatch reports whether some line of s starts with the fields
// name value.
func fieldsMatch(s, name, value string) bool {
	for _, l := range lines(s) {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == name && f[1] == value {
			return true
		}
	}
	return false
}

func hostUptime(t *testing.T) float64 {
	t.Helper()
	data, err := os.ReadFile("/proc/uptime")
	if err != nil {
		t.Fatal(err)
	}
	v, err := strconv.ParseFloat(strings.Fields(string(data))[0], 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestNamespaceJoinByPath: container B joins A's network and uts
// namespaces through /proc/<A's pid>/ns paths.
func TestNamespaceJoinByPath(t *testing.T) {
	r := newRuntime(t)
	a := newShBundle(t, waitForGo)
	a.spec.Hostname = "bt-joined"
	ca := r.create(a)
	ca.start()
	apid := r.state(ca.id).Pid
	aNS := map[string]string{}
	for _, kind := range []string{"net", "uts", "ipc"} {
		l, err := os.Readlink(filepath.Join("/proc", strconv.Itoa(apid), "ns", kind))
		if err != nil {
			t.Fatal(err)
		}
		aNS[kind] = l
	}

	b := newShBundle(t, "hostname; "+nsScript("net")+"; "+nsScript("uts")+"; "+nsScript("ipc"))
	b.spec.Hostname = "" // setting a hostname needs a private uts namespace
	b.addNamespace(specs.NetworkNamespace, filepath.Join("/proc", strconv.Itoa(apid), "ns", "net"))
	b.addNamespace(specs.UTSNamespace, filepath.Join("/proc", strconv.Itoa(apid), "ns", "uts"))
	out := lines(r.mustRunContainer(b))
	if len(out) != 4 {
		t.Fatalf("unexpected output %q", out)
	}
	if out[0] != "bt-joined" {
		t.Errorf("hostname in the joined uts namespace %q, want bt-joined", out[0])
	}
	if out[1] != aNS["net"] || out[2] != aNS["uts"] {
		t.Errorf("joined namespaces net=%s uts=%s, want A's net=%s uts=%s", out[1], out[2], aNS["net"], aNS["uts"])
	}
	if out[3] == aNS["ipc"] {
		t.Errorf("B asked for its own ipc namespace but got A's")
	}
	release(t, a)
}
