package tests

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// LSM tests. On a host without AppArmor or SELinux the error paths run: a
// spec asking for a profile or label must fail create (or exec) with one
// line naming the field, and leave nothing behind. On a kernel with AppArmor
// (the cgroup-v2 VM boots Debian's, where it is on) TestAppArmorProfile
// loads a real profile and shows it confines the workload.

func appArmorOn() bool {
	b, err := os.ReadFile("/sys/module/apparmor/parameters/enabled")
	return err == nil && strings.TrimSpace(string(b)) == "Y"
}

func seLinuxOn() bool {
	_, err := os.Stat("/sys/fs/selinux/enforce")
	return err == nil
}

// TestLSMAppArmorOff: process.apparmorProfile on a host without AppArmor.
// runc fails here too (its init's write to attr/exec gets EINVAL); berth
// says why, before anything exists.
func TestLSMAppArmorOff(t *testing.T) {
	if appArmorOn() {
		t.Skip("AppArmor is enabled on this kernel: TestAppArmorProfile covers it")
	}
	r := newRuntime(t)
	t.Run("create", func(t *testing.T) {
		b := newShBundle(t, "echo should-not-run")
		b.spec.Process.ApparmorProfile = "berth-test"
		mounts := hostMounts()
		c, res := r.tryCreate(b)
		assertErrorLine(t, res, "process.apparmorProfile")
		t.Logf("error line: %s", res.stderr)
		if !strings.Contains(res.stderr, "AppArmor is not enabled") {
			t.Errorf("error does not say AppArmor is off: %s", res)
		}
		assertNothingLeft(t, r, c.id, mounts)
	})
	t.Run("exec", func(t *testing.T) {
		c := runningSleeper(t, r)
		res := r.run("exec", "--apparmor", "berth-test", c.id, "true")
		assertErrorLine(t, res, "process.apparmorProfile")
		// --process too, and the flag over --process.
		path := writeProcessJSON(t, specs.Process{Args: []string{"true"}, Cwd: "/", ApparmorProfile: "from-json"})
		res = r.run("exec", "--process", path, c.id)
		assertErrorLine(t, res, `process.apparmorProfile "from-json"`)
		res = r.run("exec", "--process", path, "--apparmor", "from-flag", c.id)
		assertErrorLine(t, res, `process.apparmorProfile "from-flag"`)
		// The container is untouched and exec without a profile still works.
		if res := r.run("exec", c.id, "true"); res.code != 0 {
			t.Errorf("plain exec after the refused ones: %s", res)
		}
	})
}

// TestLSMSELinuxOff: process.selinuxLabel and linux.mountLabel on a host
// without SELinux. runc refuses the first in its validator; for the second
// it would pass context= to tmpfs and devpts, which such a kernel refuses.
func TestLSMSELinuxOff(t *testing.T) {
	if seLinuxOn() {
		t.Skip("SELinux is enabled on this kernel")
	}
	const label = "system_u:system_r:container_t:s0:c1,c2"
	r := newRuntime(t)
	for _, tc := range []struct {
		field  string
		mutate func(*specs.Spec)
	}{
		{"process.selinuxLabel", func(s *specs.Spec) { s.Process.SelinuxLabel = label }},
		{"linux.mountLabel", func(s *specs.Spec) { s.Linux.MountLabel = "system_u:object_r:container_file_t:s0" }},
	} {
		t.Run(tc.field, func(t *testing.T) {
			b := newShBundle(t, "echo should-not-run")
			tc.mutate(b.spec)
			mounts := hostMounts()
			c, res := r.tryCreate(b)
			assertErrorLine(t, res, tc.field)
			if !strings.Contains(res.stderr, "SELinux is not enabled") {
				t.Errorf("error does not say SELinux is off: %s", res)
			}
			assertNothingLeft(t, r, c.id, mounts)
		})
	}
	t.Run("exec", func(t *testing.T) {
		c := runningSleeper(t, r)
		res := r.run("exec", "--process-label", label, c.id, "true")
		assertErrorLine(t, res, "process.selinuxLabel")
	})
	t.Run("malformed label", func(t *testing.T) {
		b := newShBundle(t, "true")
		b.spec.Process.SelinuxLabel = "container_t"
		_, res := r.tryCreate(b)
		assertErrorLine(t, res, `process.selinuxLabel "container_t": want user:role:type`)
	})
}

// TestLSMFeatures: features says berth implements both LSMs, whatever the
// host runs.
func TestLSMFeatures(t *testing.T) {
	r := newRuntime(t)
	var f struct {
		Linux struct {
			Apparmor struct{ Enabled *bool } `json:"apparmor"`
			Selinux  struct{ Enabled *bool } `json:"selinux"`
		} `json:"linux"`
	}
	out := r.mustRun("features").stdout
	if err := json.Unmarshal([]byte(out), &f); err != nil {
		t.Fatalf("features: %v\n%s", err, out)
	}
	if a, s := f.Linux.Apparmor.Enabled, f.Linux.Selinux.Enabled; a == nil || !*a || s == nil || !*s {
		t.Errorf("features linux.apparmor/selinux enabled = %v/%v, want true/true:\n%s", a, s, out)
	}
}

func writeProcessJSON(t *testing.T, p specs.Process) string {
	t.Helper()
	data, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(testDir(t, "proc"), "process.json")
	writeFile(t, path, string(data))
	return path
}

// TestAppArmorProfile loads a profile that denies writes below /tmp and
// runs containers under it. It needs a kernel with AppArmor enabled, its
// securityfs mounted and apparmor_parser (the VM runner copies it in).
func TestAppArmorProfile(t *testing.T) {
	if !appArmorOn() {
		t.Skip("AppArmor is not enabled on this kernel (TestLSMAppArmorOff covers this host)")
	}
	r := newRuntime(t)
	profile := loadTestProfile(t, fmt.Sprintf("berth-test-notmp-%d", os.Getpid()))

	// startContainer runs in the container just before the workload: it
	// must not run under the workload's profile (berth writes the exec
	// attribute after the hooks).
	script := "cat /proc/self/attr/current; " +
		"if echo x >/tmp/denied; then echo TMP-WRITTEN; else echo TMP-DENIED; fi; " +
		"echo y >/root/allowed && echo ROOT-WRITTEN; cat /hook-attr"
	t.Run("confines the workload", func(t *testing.T) {
		b := newShBundle(t, script)
		b.spec.Process.ApparmorProfile = profile
		writeFile(t, filepath.Join(b.rootfs, "hook.sh"), "#!/bin/sh\ncat /proc/self/attr/current >/hook-attr\n")
		os.Chmod(filepath.Join(b.rootfs, "hook.sh"), 0o755)
		b.spec.Hooks = &specs.Hooks{StartContainer: []specs.Hook{{Path: "/hook.sh"}}}
		_, res := r.runContainer(b)
		got := lines(res.stdout)
		if len(got) < 4 || got[0] != profile+" (enforce)" {
			t.Fatalf("/proc/self/attr/current of the workload: want %q first: %s", profile+" (enforce)", res)
		}
		if got[1] != "TMP-DENIED" || !strings.Contains(res.stderr, "Permission denied") {
			t.Errorf("a write below /tmp was not denied by the profile: %s", res)
		}
		if got[2] != "ROOT-WRITTEN" {
			t.Errorf("a write the profile allows failed: %s", res)
		}
		if got[3] != "unconfined" {
			t.Errorf("the startContainer hook ran as %q, want unconfined: %s", got[3], res)
		}
		// On the host's side of the rootfs: nothing got through.
		if _, err := os.Stat(filepath.Join(b.rootfs, "tmp", "denied")); err == nil {
			t.Error("/tmp/denied exists in the rootfs")
		}
	})
	t.Run("init and exec", func(t *testing.T) {
		// Checked to be the init's plan that ran.
		b := newShBundle(t, "cat /proc/self/attr/current; echo x >/tmp/denied || echo TMP-DENIED")
		b.spec.Process.ApparmorProfile = profile
		b.write(t)
		res := r.run("--debug", "run", "--bundle", b.dir, r.newID())
		if !strings.Contains(res.stderr, "create: init: plan received") {
			t.Errorf("the init's steps are not in the log:\n%s", res.stderr)
		}
		if got := lines(res.stdout); res.code != 0 || len(got) != 2 || got[0] != profile+" (enforce)" || got[1] != "TMP-DENIED" {
			t.Errorf("confined by the init: %s", res)
		}
		c := runningSleeper(t, r)
		res = r.run("--debug", "exec", "--apparmor", profile, c.id, "cat", "/proc/self/attr/current")
		if strings.TrimSpace(res.stdout) != profile+" (enforce)" {
			t.Errorf("exec --apparmor: %s", res)
		}
	})
	t.Run("user namespace", func(t *testing.T) {
		// The init's procfs for the attribute write may come from fsopen or,
		// where a user namespace may not mount a fresh proc, from /proc.
		b := newShBundle(t, "id -u; cat /proc/self/attr/current; echo x >/tmp/denied || echo TMP-DENIED")
		b.spec.Process.ApparmorProfile = profile
		b.addNamespace(specs.UserNamespace, "")
		b.spec.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
		b.spec.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
		out := r.mustRunContainer(b)
		if got := lines(out); len(got) != 3 || got[0] != "0" || got[1] != profile+" (enforce)" || got[2] != "TMP-DENIED" {
			t.Errorf("confined container in a user namespace: %q", out)
		}
	})
	t.Run("without a profile nothing changes", func(t *testing.T) {
		out := r.mustRunContainer(newShBundle(t, "cat /proc/self/attr/current; echo x >/tmp/f && echo TMP-WRITTEN"))
		if got := lines(out); len(got) != 2 || got[0] != "unconfined" || got[1] != "TMP-WRITTEN" {
			t.Errorf("unconfined container: %q", out)
		}
	})
	t.Run("unconfined by name", func(t *testing.T) {
		b := newShBundle(t, "cat /proc/self/attr/current")
		b.spec.Process.ApparmorProfile = "unconfined"
		if out := r.mustRunContainer(b); strings.TrimSpace(out) != "unconfined" {
			t.Errorf("apparmorProfile unconfined: %q", out)
		}
	})
	t.Run("profile not loaded fails create", func(t *testing.T) {
		b := newShBundle(t, "echo should-not-run")
		b.spec.Process.ApparmorProfile = "berth-no-such-profile"
		mounts := hostMounts()
		c, res := r.tryCreate(b)
		assertErrorLine(t, res, `process.apparmorProfile "berth-no-such-profile"`)
		t.Logf("error line: %s", res.stderr)
		if !strings.Contains(res.stderr, "no such profile is loaded") {
			t.Errorf("error does not say the profile is missing: %s", res)
		}
		assertNothingLeft(t, r, c.id, mounts)
	})
	t.Run("exec", func(t *testing.T) {
		c := runningSleeper(t, r)
		res := r.mustRun("exec", "--apparmor", profile, c.id, "sh", "-c", "cat /proc/self/attr/current; echo x >/tmp/e || echo TMP-DENIED")
		if got := lines(res.stdout); len(got) != 2 || got[0] != profile+" (enforce)" || got[1] != "TMP-DENIED" {
			t.Errorf("exec --apparmor: %s", res)
		}
		if res := r.mustRun("exec", c.id, "cat", "/proc/self/attr/current"); strings.TrimSpace(res.stdout) != "unconfined" {
			t.Errorf("plain exec: %s", res)
		}
		res = r.run("exec", "--apparmor", "berth-no-such-profile", c.id, "true")
		assertErrorLine(t, res, "no such profile is loaded")
	})
	t.Run("exec inherits the container's profile", func(t *testing.T) {
		b := newBundle(t, "sleep", "1000")
		b.spec.Process.ApparmorProfile = profile
		c := r.create(b)
		c.start()
		res := r.mustRun("exec", c.id, "cat", "/proc/self/attr/current")
		if strings.TrimSpace(res.stdout) != profile+" (enforce)" {
			t.Errorf("exec in a confined container: %s", res)
		}
	})
}

// loadTestProfile compiles and loads an enforcing profile that allows
// everything but writes below /tmp, and removes it when the test ends.
func loadTestProfile(t *testing.T, name string) string {
	t.Helper()
	parser, err := exec.LookPath("apparmor_parser")
	if err != nil {
		t.Fatalf("AppArmor is enabled but apparmor_parser is missing (apt-get install apparmor): %v", err)
	}
	if _, err := os.Stat("/sys/kernel/security/apparmor/.replace"); err != nil {
		t.Fatalf("AppArmor is enabled but its securityfs is not mounted at /sys/kernel/security: %v", err)
	}
	src := fmt.Sprintf(`profile %s flags=(attach_disconnected,mediate_deleted) {
  file,
  capability,
  network,
  signal,
  unix,
  ptrace,
  mount,
  umount,
  pivot_root,
  deny /tmp/** w,
}
`, name)
	path := filepath.Join(testDir(t, "apparmor"), name)
	writeFile(t, path, src)
	// -K: no cache; -r: load or replace.
	if out, err := exec.Command(parser, "-K", "-r", path).CombinedOutput(); err != nil {
		t.Fatalf("apparmor_parser -r %s: %v\n%s", path, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command(parser, "-K", "-R", path).CombinedOutput(); err != nil {
			t.Errorf("apparmor_parser -R %s: %v\n%s", path, err, out)
		}
	})
	return name
}
