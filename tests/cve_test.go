package tests

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// TestCVE2019_5736 recreates the attack's write step as the strongest
// attacker there is, host root: take /proc/<pid>/exe of a waiting container
// init, let the process die, reopen the handle for writing. The binary must
// not be writable through it (berth runs from a read-only detached bind
// mount), and the host binary must be unchanged.
func TestCVE2019_5736(t *testing.T) {
	r := newRuntime(t)
	before, err := os.ReadFile(r.bin)
	if err != nil {
		t.Fatal(err)
	}
	c := r.create(newBundle(t, "true"))
	pid := r.state(c.id).Pid
	fd, err := unix.Open("/proc/"+strconv.Itoa(pid)+"/exe", unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("open exe of the init: %v", err)
	}
	defer unix.Close(fd)
	r.mustRun("kill", c.id, "KILL")
	waitGone(t, pid)
	w, err := unix.Open("/proc/self/fd/"+strconv.Itoa(fd), unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err == nil {
		unix.Write(w, []byte("pwned"))
		unix.Close(w)
		t.Fatalf("the runtime binary was opened for writing through /proc/<init>/exe")
	}
	if err != unix.EROFS && err != unix.ETXTBSY && err != unix.EACCES {
		t.Errorf("reopen for writing failed with %v; want EROFS (read-only mount)", err)
	}
	after, _ := os.ReadFile(r.bin)
	if string(after) != string(before) {
		t.Fatal("the runtime binary changed")
	}
}

// TestCVE2024_21626 points process.cwd at /proc/self/fd/N for every fd the
// init might hold (state dir, sockets): the container must never start with
// a working directory outside its root.
func TestCVE2024_21626(t *testing.T) {
	r := newRuntime(t)
	for fd := 3; fd <= 9; fd++ {
		b := newBundle(t, "sh", "-c", "pwd; ls")
		b.spec.Process.Cwd = "/proc/self/fd/" + strconv.Itoa(fd)
		_, res := r.runContainer(b)
		if res.code == 0 && (strings.Contains(res.stdout, "unreachable") || strings.Contains(res.stdout, "state.json")) {
			t.Fatalf("cwd /proc/self/fd/%d escaped the container root: %s", fd, res)
		}
		if res.code != 0 && !strings.Contains(res.stderr, "process.cwd") {
			t.Errorf("cwd /proc/self/fd/%d: failure does not name process.cwd: %s", fd, res)
		}
	}
}

// TestMountSymlinkEscape covers the symlink family (CVE-2021-30465,
// CVE-2024-45310): mount destinations that lead out of the rootfs through
// absolute and ../ symlinks must land inside it, and nothing may be created
// or mounted on the host.
func TestMountSymlinkEscape(t *testing.T) {
	r := newRuntime(t)
	host := testDir(t, "hostside")
	b := newShBundle(t, "ls /evil-abs/created /evil-rel/created 2>&1; grep -c evil /proc/self/mountinfo")
	if err := os.Symlink(host, filepath.Join(b.rootfs, "evil-abs")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../../../../../../.."+host, filepath.Join(b.rootfs, "evil-rel")); err != nil {
		t.Fatal(err)
	}
	b.addMount(specs.Mount{Destination: "/evil-abs/created", Type: "tmpfs", Source: "tmpfs"})
	b.addMount(specs.Mount{Destination: "/evil-rel/created", Type: "tmpfs", Source: "tmpfs"})

	_, res := r.runContainer(b)
	entries, _ := os.ReadDir(host)
	if len(entries) != 0 {
		t.Fatalf("a mount target was created on the host through a rootfs symlink: %v (%s)", entries, res)
	}
	for _, m := range hostMounts() {
		if strings.HasPrefix(m, host) {
			t.Fatalf("host mount appeared at %s", m)
		}
	}
	if res.code == 0 && !strings.Contains(res.stdout, "created") {
		t.Errorf("container did not see its mounts inside the rootfs: %s", res)
	}
}

// TestMaskedPathDevNullSwap: /dev/null replaced by a symlink to a host file
// (CVE-2025-31133): masking must refuse rather than bind the host file.
func TestMaskedPathDevNullSwap(t *testing.T) {
	r := newRuntime(t)
	b := newShBundle(t, "cat /proc/cpuinfo | head -c 20; echo done")
	// The spec's /dev is a tmpfs; a createContainer hook runs in the
	// container's mount namespace before masking and swaps /dev/null.
	hook := filepath.Join(testDir(t, "hook"), "swap.sh")
	writeFile(t, hook, "#!/bin/sh\nrm -f "+b.rootfs+"/dev/null && ln -s /proc/sys/kernel/core_pattern "+b.rootfs+"/dev/null\n")
	os.Chmod(hook, 0o755)
	b.spec.Hooks = &specs.Hooks{CreateContainer: []specs.Hook{{Path: hook}}}
	b.spec.Linux.MaskedPaths = []string{"/proc/cpuinfo"}
	_, res := r.runContainer(b)
	if res.code == 0 {
		t.Fatalf("container started although /dev/null was a symlink at masking time: %s", res)
	}
	if !strings.Contains(res.stderr, "/dev/null") {
		t.Errorf("error does not name /dev/null: %s", res)
	}
}

// TestSysctlRedirect: a mount over /proc/sys (CVE-2025-52881 style
// redirection of berth's procfs writes) makes the sysctl write fail instead
// of landing in whatever file was put there.
func TestSysctlRedirect(t *testing.T) {
	r := newRuntime(t)
	b := newShBundle(t, "echo started")
	b.spec.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": "1"}
	b.addMount(specs.Mount{Destination: "/proc/sys/net/ipv4", Type: "tmpfs", Source: "tmpfs"})
	// Whether the rootfs code refuses the mount under /proc or the sysctl
	// write refuses the tmpfs, the container must not start.
	_, res := r.runContainer(b)
	if res.code == 0 {
		t.Fatalf("container started with /proc/sys/net/ipv4 covered by a tmpfs and a sysctl to write: %s", res)
	}
}
