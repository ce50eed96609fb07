package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// linux.sysctl, the LSM fields and the seccomp listener through the
// executor (nsenter/cinit.c, cexec.c, procfs.c).

// TestCPathSysctl: sysctls are written by the C init, after the hostname
// (kernel.hostname wins), through a procfs of its own: a rootfs whose
// /proc is a plain directory with files in it (no proc mount) does not
// get the writes. An unknown sysctl is one line naming the key and the
// file, and leaves nothing behind.
func TestCPathSysctl(t *testing.T) {
	r := newRuntime(t)
	b := newShBundle(t, "cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/msgmax; hostname")
	b.spec.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": "1", "kernel.msgmax": "4321", "kernel.hostname": "from-sysctl"}
	if got := strings.Join(lines(runInit(t, r, b)), " "); got != "1 4321 from-sysctl" {
		t.Errorf("sysctls inside %q, want 1 4321 from-sysctl", got)
	}

	t.Run("rootfs /proc is not a procfs", func(t *testing.T) {
		b := newShBundle(t, "hostname; cat /proc/sys/kernel/hostname")
		b.spec.Mounts = slicesDelete(b.spec.Mounts, "/proc")
		fake := filepath.Join(b.rootfs, "proc", "sys", "kernel")
		if err := os.MkdirAll(fake, 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(fake, "hostname"), "fake\n")
		b.spec.Linux.Sysctl = map[string]string{"kernel.hostname": "from-sysctl"}
		if got := strings.Join(lines(runInit(t, r, b)), " "); got != "from-sysctl fake" {
			t.Errorf("%q, want the real hostname from the sysctl and the rootfs's file untouched", got)
		}
	})

	t.Run("user namespace", func(t *testing.T) {
		// Written from inside the user namespace, through a fresh procfs
		// or, where the kernel refuses one there, the container's
		// verified /proc.
		b := newShBundle(t, "cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/msgmax; id -u")
		b.spec.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": "1", "kernel.msgmax": "4321"}
		addUserNS(t, b)
		if got := strings.Join(lines(runInit(t, r, b)), " "); got != "1 4321 0" {
			t.Errorf("in a user namespace: %q, want 1 4321 0", got)
		}
	})

	t.Run("unknown sysctl", func(t *testing.T) {
		b := newShBundle(t, "echo should-not-run")
		b.spec.Linux.Sysctl = map[string]string{"net.ipv4.berth_no_such": "1"}
		b.write(t)
		id := r.newID()
		before := hostMounts()
		res := initCall(t, r, nil, "create", "--bundle", b.dir, id)
		assertErrorLine(t, res)
		want := `linux.sysctl "net.ipv4.berth_no_such": openat2 /proc/sys/net/ipv4/berth_no_such: no such file or directory`
		if !strings.Contains(res.stderr, want) {
			t.Errorf("error %q, want %q", res.stderr, want)
		}
		assertNothingLeft(t, r, id, before)
	})
}

// fakeLSMRuntime is a runtime whose every command runs in a mount
// namespace of its own where the host seems to run AppArmor
// (/sys/module/apparmor/parameters/enabled reads Y) and SELinux
// (/sys/fs/selinux/enforce exists), so that the parent's check lets LSM
// fields through to the executor on a kernel that has neither: the kernel
// then refuses the writes, and the tests see where each was made.
func fakeLSMRuntime(t *testing.T) *runtime {
	t.Helper()
	if appArmorOn() || seLinuxOn() {
		t.Skip("an LSM is enabled on this kernel: TestAppArmorProfile covers it")
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Fatalf("unshare (util-linux) is needed: %v", err)
	}
	script := `set -e
mount -t tmpfs -o mode=755 berth-fake-lsm /sys/module
mkdir -p /sys/module/apparmor/parameters
echo Y >/sys/module/apparmor/parameters/enabled
d=$(mktemp -d)
mount --rbind /sys/fs "$d"
mount -t tmpfs -o mode=755 berth-fake-lsm /sys/fs
for e in "$d"/*; do mkdir "/sys/fs/${e##*/}"; mount --rbind "$e" "/sys/fs/${e##*/}"; done
umount -l "$d"
rmdir "$d"
mkdir -p /sys/fs/selinux
echo 1 >/sys/fs/selinux/enforce
exec "$@"`
	r := newRuntime(t)
	r.wrap = []string{unshare, "--mount", "--propagation", "private", "sh", "-c", script, "sh"}
	return r
}

// attrPath matches this executor's thread attribute paths in messages:
// /proc/<pid>/task/<tid>/attr/.
var attrPath = regexp.MustCompile(`/proc/[0-9]+/task/[0-9]+/attr/`)

// TestCPathLSMLabel: process.selinuxLabel goes through the init: its
// exec attribute is opened while create runs, and written after `berth
// start` released the fifo (the kernel refuses it here, so start fails and
// the workload never runs), by the init itself (pid 1 of its namespace,
// one thread). exec --process-label writes it from the C exec, just before
// the execve.
func TestCPathLSMLabel(t *testing.T) {
	r := fakeLSMRuntime(t)
	const label = "system_u:system_r:container_t:s0:c1,c2"
	want := `process.selinuxLabel "` + label + `": write "` + label + `" to /proc/1/task/1/attr/exec: invalid argument`
	b := newShBundle(t, "touch /ran")
	b.spec.Process.SelinuxLabel = label
	b.write(t)
	id := r.newID()
	res := initCall(t, r, nil, "create", "--bundle", b.dir, id)
	if res.code != 0 {
		t.Fatalf("create (the attribute is only opened): %s", res)
	}
	res = r.run("start", id)
	assertErrorLine(t, res)
	if !strings.Contains(res.stderr, want) {
		t.Errorf("start: %q, want %q", res.stderr, want)
	}
	if _, err := os.Stat(filepath.Join(b.rootfs, "ran")); err == nil {
		t.Errorf("the workload ran although its label was refused")
	}
	r.run("delete", "-f", id)

	c := runningSleeper(t, r)
	defer r.run("delete", "-f", c.id)
	res = r.run("exec", "--process-label", label, c.id, "touch", "/exec-ran")
	if res.code == 0 {
		t.Fatalf("exec with a label the kernel refuses: %s", res)
	}
	wantExec := `process.selinuxLabel "` + label + `": write "` + label + `" to /proc/N/task/N/attr/exec: invalid argument`
	if got := attrPath.ReplaceAllString(res.stderr, "/proc/N/task/N/attr/"); !strings.Contains(got, wantExec) {
		t.Errorf("exec: %q, want %q", res.stderr, wantExec)
	}
	if _, err := os.Stat(filepath.Join(c.b.rootfs, "exec-ran")); err == nil {
		t.Errorf("the exec'd process ran although its label was refused")
	}
}

// TestCPathLSMLabelAfterStartHooks: the startContainer hooks run before
// the exec attribute is written (the hooks must not run under the
// container's label): a hook that succeeds has run
// when the write the kernel refuses fails start, and a hook that fails is
// what start reports, the label never tried.
func TestCPathLSMLabelAfterStartHooks(t *testing.T) {
	r := fakeLSMRuntime(t)
	const label = "system_u:system_r:container_t:s0:c1,c2"
	for _, hookFails := range []bool{false, true} {
		b := newShBundle(t, "touch /ran")
		b.spec.Process.SelinuxLabel = label
		script := "#!/bin/sh\ntouch /hook-ran\n"
		if hookFails {
			script += "echo hook-refuses >&2; exit 3\n"
		}
		writeFile(t, filepath.Join(b.rootfs, "hook.sh"), script)
		if err := os.Chmod(filepath.Join(b.rootfs, "hook.sh"), 0o755); err != nil {
			t.Fatal(err)
		}
		b.spec.Hooks = &specs.Hooks{StartContainer: []specs.Hook{{Path: "/hook.sh"}}}
		b.write(t)
		id := r.newID()
		res := initCall(t, r, nil, "create", "--bundle", b.dir, id)
		if res.code != 0 {
			t.Fatalf("create: %s", res)
		}
		res = r.run("start", id)
		assertErrorLine(t, res)
		labelErr := strings.Contains(res.stderr, `process.selinuxLabel "`+label+`": write`)
		hookErr := strings.Contains(res.stderr, "startContainer") && strings.Contains(res.stderr, "hook-refuses")
		if labelErr == hookFails || hookErr != hookFails {
			t.Errorf("hook fails %v: start: %q", hookFails, res.stderr)
		}
		if _, err := os.Stat(filepath.Join(b.rootfs, "hook-ran")); err != nil {
			t.Errorf("hook fails %v: the startContainer hook did not run: %v", hookFails, err)
		}
		if _, err := os.Stat(filepath.Join(b.rootfs, "ran")); err == nil {
			t.Errorf("hook fails %v: the workload ran", hookFails)
		}
		r.run("delete", "-f", id)
	}
}

// TestCPathAppArmorProfile: process.apparmorProfile goes through the init
// and the exec process: the profile is tested ("permprofile") while create or
// exec runs, so a kernel that refuses it fails them, with one line naming
// the field and the file, and create leaves nothing behind.
func TestCPathAppArmorProfile(t *testing.T) {
	r := fakeLSMRuntime(t)
	current := func(s string) string {
		// The kernel may have attr/apparmor/ without AppArmor running.
		return strings.Replace(attrPath.ReplaceAllString(s, "/proc/N/task/N/attr/"), "attr/apparmor/current", "attr/current", 1)
	}
	want := `process.apparmorProfile "berth-test": write "permprofile" to /proc/N/task/N/attr/current: invalid argument`
	b := newShBundle(t, "touch /ran")
	b.spec.Process.ApparmorProfile = "berth-test"
	b.write(t)
	id := r.newID()
	before := hostMounts()
	res := initCall(t, r, nil, "create", "--bundle", b.dir, id)
	assertErrorLine(t, res)
	if !strings.Contains(current(res.stderr), want) {
		t.Errorf("create: %q, want %q", res.stderr, want)
	}
	if !strings.Contains(res.stderr, "/proc/1/task/1/attr/") {
		t.Errorf("the init did not test its own attribute (pid 1): %q", res.stderr)
	}
	assertNothingLeft(t, r, id, before)

	c := runningSleeper(t, r)
	defer r.run("delete", "-f", c.id)
	res = r.run("exec", "--apparmor", "berth-test", c.id, "true")
	assertErrorLine(t, res)
	if !strings.Contains(current(res.stderr), want) {
		t.Errorf("exec: %q, want %q", res.stderr, want)
	}
}

// TestCPathMountLabel: linux.mountLabel reaches the init's mounts:
// context= in the data of a tmpfs (which a kernel
// without SELinux refuses), and for an mqueue, which takes no context=,
// the security.selinux xattr of its root.
func TestCPathMountLabel(t *testing.T) {
	r := fakeLSMRuntime(t)
	const label = "system_u:object_r:container_file_t:s0"
	for _, tc := range []struct {
		name string
		edit func(b *bundle)
		want string
	}{
		{"tmpfs", func(b *bundle) {}, `rootfs: mount "tmpfs" on "/dev" (spec mounts[1]): invalid argument`},
		{"mqueue", func(b *bundle) {
			// Only mounts that take no context= before it.
			b.spec.Mounts = []specs.Mount{b.spec.Mounts[0], b.spec.Mounts[4], b.spec.Mounts[5]}
		}, `rootfs: mount "mqueue" on "/dev/mqueue" (spec mounts[1]): label: setxattr security.selinux "` + label + `" (linux.mountLabel): operation not supported`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newShBundle(t, "true")
			b.spec.Linux.MountLabel = label
			tc.edit(b)
			b.write(t)
			id := r.newID()
			before := hostMounts()
			res := initCall(t, r, nil, "create", "--bundle", b.dir, id)
			assertErrorLine(t, res)
			if !strings.Contains(res.stderr, tc.want) {
				t.Errorf("%q, want %q", res.stderr, tc.want)
			}
			assertNothingLeft(t, r, id, before)
		})
	}
}

// TestCPathSeccompNotify: with SCMP_ACT_NOTIFY the init (both load points:
// with and without no_new_privs) and the exec process send the listener
// to the parent (SYNC_SECCOMP), which hands it to the agent; the workload
// gets the agent's answers.
func TestCPathSeccompNotify(t *testing.T) {
	r := newRuntime(t)
	agent := startNotifyAgent(t)
	for _, nnp := range []bool{true, false} {
		b := newShBundle(t, "mkdir "+agentErrnoPath+" 2>&1; echo rc=$?")
		b.spec.Process.NoNewPrivileges = nnp
		b.spec.Annotations = map[string]string{"berth.test/notify": "yes"}
		b.spec.Linux.Seccomp = notifyProfile(agent.path, "c-path")
		b.write(t)
		id := r.newID()
		res := initCall(t, r, nil, "run", "--bundle", b.dir, id)
		if res.code != 0 {
			t.Fatalf("nnp=%v: %s", nnp, res)
		}
		h := agent.next()
		if h.state.State.ID != id || h.state.State.Status != specs.StateCreating || h.state.Pid <= 0 || h.state.Pid != h.state.State.Pid {
			t.Errorf("nnp=%v: handoff %s", nnp, h.raw)
		}
		if !strings.Contains(res.stdout, "Invalid cross-device link") || !strings.Contains(res.stdout, "rc=1") {
			t.Errorf("nnp=%v: mkdir did not get the agent's EXDEV: %s", nnp, res)
		}
	}

	b := newBundle(t, "sleep", "1000")
	b.spec.Annotations = map[string]string{"berth.test/notify": "yes"}
	b.spec.Linux.Seccomp = notifyProfile(agent.path, "c-exec")
	c := r.create(b)
	defer r.run("delete", "-f", c.id)
	agent.next()
	c.start()
	res := r.run("exec", c.id, "sh", "-c", "mkdir "+agentErrnoPath+" 2>&1; echo rc=$?")
	if res.code != 0 {
		t.Fatalf("exec: %s", res)
	}
	h := agent.next()
	if h.state.State.ID != c.id || h.state.State.Status != specs.StateRunning || h.state.Pid == h.state.State.Pid {
		t.Errorf("exec: handoff %s", h.raw)
	}
	if !strings.Contains(res.stdout, "Invalid cross-device link") || !strings.Contains(res.stdout, "rc=1") {
		t.Errorf("exec: mkdir did not get the agent's EXDEV: %s", res)
	}
}
