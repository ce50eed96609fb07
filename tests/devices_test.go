package tests

import (
	"os"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// statFormat prints path|type|major(hex)|minor(hex)|mode|uid|gid.
const statFormat = `stat -c '%n|%F|%t|%T|%a|%u|%g'`

func TestDefaultDevices(t *testing.T) {
	r := newRuntime(t)
	b := newShBundle(t, statFormat+` /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty
echo "== links"; for l in /dev/fd /dev/stdin /dev/stdout /dev/stderr /dev/ptmx; do echo "$l -> $(readlink $l)"; done
echo "== use"; head -c 5 /dev/zero | wc -c; (echo x > /dev/full) 2>&1; echo x > /dev/null && echo null-ok`)
	s := sections(r.mustRunContainer(b))

	want := map[string]string{
		"/dev/null": "1|3", "/dev/zero": "1|5", "/dev/full": "1|7",
		"/dev/random": "1|8", "/dev/urandom": "1|9", "/dev/tty": "5|0",
	}
	got := map[string]bool{}
	for _, l := range lines(s[""]) {
		f := strings.Split(l, "|")
		if len(f) != 7 {
			t.Errorf("odd stat line %q", l)
			continue
		}
		got[f[0]] = true
		if f[1] != "character special file" {
			t.Errorf("%s is a %s, want a character device", f[0], f[1])
		}
		if maj := f[2] + "|" + f[3]; maj != want[f[0]] {
			t.Errorf("%s is %s (major|minor hex), want %s", f[0], maj, want[f[0]])
		}
		if f[4] != "666" {
			t.Errorf("%s mode %s, want 666", f[0], f[4])
		}
	}
	for d := range want {
		if !got[d] {
			t.Errorf("default device %s missing", d)
		}
	}
	links := map[string]string{}
	for _, l := range lines(s["links"]) {
		if k, v, ok := strings.Cut(l, " -> "); ok {
			links[k] = v
		}
	}
	for k, v := range map[string]string{
		"/dev/fd": "/proc/self/fd", "/dev/stdin": "/proc/self/fd/0",
		"/dev/stdout": "/proc/self/fd/1", "/dev/stderr": "/proc/self/fd/2", "/dev/ptmx": "pts/ptmx",
	} {
		if links[k] != v {
			t.Errorf("%s -> %q, want %q", k, links[k], v)
		}
	}
	use := s["use"]
	if !strings.Contains(use, "5\n") || !strings.Contains(use, "No space left on device") || !strings.Contains(use, "null-ok") {
		t.Errorf("default devices do not behave as themselves: %q", use)
	}
}

func TestCustomDevice(t *testing.T) {
	r := newRuntime(t)
	b := newShBundle(t, statFormat+" /dev/mydev; (echo x > /dev/mydev) 2>&1; true")
	// The device's owner writes to it, so the test needs no DAC override.
	b.spec.Process.User = specs.User{UID: 1000, GID: 1000}
	mode := os.FileMode(0o640)
	uid, gid := uint32(1000), uint32(1000)
	b.spec.Linux.Devices = []specs.LinuxDevice{{
		Path: "/dev/mydev", Type: "c", Major: 1, Minor: 7, FileMode: &mode, UID: &uid, GID: &gid,
	}}
	out := lines(r.mustRunContainer(b))
	if len(out) < 1 {
		t.Fatal("no output")
	}
	if got, want := out[0], "/dev/mydev|character special file|1|7|640|1000|1000"; got != want {
		t.Errorf("linux.devices entry: %q, want %q", got, want)
	}
	// 1:7 is the full device: writing proves the node reaches the driver.
	if len(out) < 2 || !strings.Contains(out[1], "No space left on device") {
		t.Errorf("writing to /dev/mydev (1:7): %q, want ENOSPC", out[1:])
	}
}

// kmsgProbe shows the /dev/kmsg node (type|major|minor, hex) and whether
// it opens for writing. A write-only open of /dev/kmsg needs no
// capability, so only the device cgroup can refuse it; `exec 3>` opens
// without writing anything to the host's kernel log.
const kmsgProbe = `stat -c '%F|%t|%T' /dev/kmsg; (exec 3>/dev/kmsg && echo kmsg-open-ok) 2>&1; (echo berth-devices-test > /dev/kmsg) 2>&1; true`

// kmsgBundle is a container whose linux.devices creates /dev/kmsg (c 1:11).
func kmsgBundle(t *testing.T, script string) *bundle {
	t.Helper()
	if v, err := os.ReadFile("/proc/sys/kernel/printk_devkmsg"); err == nil && strings.TrimSpace(string(v)) == "off" {
		t.Fatal("kernel.printk_devkmsg is off: /dev/kmsg refuses every open, so the device cgroup cannot be observed through it")
	}
	b := newShBundle(t, script)
	mode := os.FileMode(0o600)
	zero := uint32(0)
	b.spec.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/kmsg", Type: "c", Major: 1, Minor: 11, FileMode: &mode, UID: &zero, GID: &zero}}
	return b
}

// TestDeviceNodeIsNoPermission: linux.devices makes the node; only
// linux.resources.devices (and the default allow-list) lets the container
// use it, as with runc. Under deny-all, or with no device rules at all,
// /dev/kmsg exists but every open fails with EPERM.
func TestDeviceNodeIsNoPermission(t *testing.T) {
	r := newRuntime(t)
	for _, tc := range []struct {
		name string
		res  *specs.LinuxResources
	}{
		{"deny-all", &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}}},
		{"no device rules", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := kmsgBundle(t, kmsgProbe+`; echo x > /dev/null && echo null-ok`)
			b.spec.Linux.Resources = tc.res
			out := r.mustRunContainer(b)
			l := lines(out)
			if len(l) == 0 || l[0] != "character special file|1|b" {
				t.Fatalf("/dev/kmsg node: %q, want a character device 1:11", out)
			}
			if strings.Contains(out, "kmsg-open-ok") {
				t.Errorf("/dev/kmsg opened although no device rule allows c 1:11: %q", out)
			}
			if strings.Count(out, "Operation not permitted") != 2 {
				t.Errorf("open and write of /dev/kmsg: %q, want EPERM twice", out)
			}
			if !strings.Contains(out, "null-ok") {
				t.Errorf("default devices not usable: %q", out)
			}
		})
	}
}

// TestDeviceAllowRule: the rule a runc user adds next to the node makes it
// usable (write only here: the rule grants "w", so a read stays refused).
func TestDeviceAllowRule(t *testing.T) {
	r := newRuntime(t)
	b := kmsgBundle(t, `stat -c '%F|%t|%T' /dev/kmsg; (exec 3>/dev/kmsg && echo kmsg-open-ok) 2>&1; (exec 3</dev/kmsg && echo kmsg-read-ok) 2>&1; true`)
	b.spec.Linux.Resources = &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{
		{Allow: false, Access: "rwm"},
		{Allow: true, Type: "c", Major: ptrInt64(1), Minor: ptrInt64(11), Access: "w"},
	}}
	out := r.mustRunContainer(b)
	if !strings.Contains(out, "kmsg-open-ok") {
		t.Errorf("/dev/kmsg with an allow rule for c 1:11 w: %q, want it to open for writing", out)
	}
	if strings.Contains(out, "kmsg-read-ok") {
		t.Errorf("/dev/kmsg opened for reading with a write-only rule: %q", out)
	}
}

// TestDeviceUpdateKeepsRules: an update that does not name devices leaves
// the list as the spec made it; it does not add the linux.devices nodes.
func TestDeviceUpdateKeepsRules(t *testing.T) {
	r := newRuntime(t)
	b := kmsgBundle(t, "echo ready; "+waitForGo)
	b.spec.Linux.Resources = &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}}
	c := r.create(b)
	c.start()
	c.waitOutput("ready")
	r.mustRun("update", "--pids-limit", "100", c.id)
	res := r.run("exec", c.id, "sh", "-c", "(exec 3>/dev/kmsg && echo kmsg-open-ok) 2>&1; true")
	if res.code != 0 || strings.Contains(res.stdout, "kmsg-open-ok") || !strings.Contains(res.stdout, "Operation not permitted") {
		t.Errorf("/dev/kmsg after update --pids-limit: %s, want EPERM", res)
	}
	release(t, b)
}

func ptrInt64(v int64) *int64 { return &v }
