package tests

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Engines in systemd mode drive berth with --systemd-cgroup and a
// "slice:prefix:name" cgroupsPath, as on every host booted with systemd.
// They run in the systemd guest booted on cgroup v2 (requireSystemdV2),
// which has podman and containerd installed.

// requireSystemdV2 is requireSystemd on a cgroup v2 host: the hybrid boot
// of the systemd guest runs the driver's own tests only, not the engines'
// (tests/vm/run.sh --cgroup hybrid leaves them out).
func requireSystemdV2(t *testing.T) {
	t.Helper()
	requireSystemd(t)
	if !isUnified() {
		t.Skip("the engines' systemd-mode tests run on cgroup v2 (the systemd guest's v2 boot)")
	}
}

// scopeMemoryMax reads a scope's limit twice: the unit property and the
// cgroup file.
func scopeMemoryMax(t *testing.T, unit string) (prop, file string) {
	t.Helper()
	p := unitProps(t, unit, "MemoryMax", "ControlGroup", "ActiveState")
	if p["ActiveState"] != "active" {
		t.Fatalf("unit %s: %v, want active", unit, p)
	}
	b, err := os.ReadFile("/sys/fs/cgroup" + p["ControlGroup"] + "/memory.max")
	if err != nil {
		t.Fatalf("unit %s: %v", unit, err)
	}
	return p["MemoryMax"], strings.TrimSpace(string(b))
}

func TestSystemdEnginePodman(t *testing.T) {
	requireSystemdV2(t)
	pm := needTool(t, "podman", "podman")
	store := podmanStore(t)
	bin := runtimeBin(t)
	podmanSd := func(args ...string) []string {
		return append([]string{"--root", store + "/storage", "--runroot", store + "/run", "--cgroup-manager=systemd",
			"--events-backend=file", "--runtime", bin}, args...)
	}
	// podmanStore's cleanup removes the containers with the same store.
	image := fmt.Sprintf("localhost/berth-sd-%d:1", os.Getpid())
	sh(t, 2*time.Minute, pm, podmanSd("import", rootfsTar(t), image)...)
	id := strings.TrimSpace(sh(t, 2*time.Minute, pm, podmanSd("run", "-d", "--network", "none", "--memory", "64m", image, "sleep", "1000")...))
	t.Cleanup(func() { exec.Command(pm, podmanSd("rm", "-f", "-t", "0", id)...).Run() })
	unit := "libpod-" + id + ".scope"
	if prop, file := scopeMemoryMax(t, unit); prop != strconv.Itoa(64<<20) || file != prop {
		t.Errorf("podman run --memory 64m: unit %s MemoryMax %s, memory.max %s", unit, prop, file)
	}
	if p := unitProps(t, unit, "Slice", "Delegate"); p["Slice"] != "machine.slice" || p["Delegate"] != "yes" {
		t.Errorf("unit %s: %v, want in machine.slice, delegated", unit, p)
	}
	sh(t, 2*time.Minute, pm, podmanSd("update", "--memory", "128m", id)...)
	if prop, file := scopeMemoryMax(t, unit); prop != strconv.Itoa(128<<20) || file != prop {
		t.Errorf("podman update --memory 128m: unit %s MemoryMax %s, memory.max %s", unit, prop, file)
	}
	sh(t, 2*time.Minute, pm, podmanSd("stop", "-t", "0", id)...)
	sh(t, 2*time.Minute, pm, podmanSd("rm", id)...)
	assertUnitGone(t, unit, "")
}

func TestSystemdEngineContainerd(t *testing.T) {
	requireSystemdV2(t)
	ctr := needTool(t, "ctr", "containerd")
	pm := needTool(t, "podman", "podman")
	// The guest's own containerd (containerd.service).
	sock := "/run/containerd/containerd.sock"
	for i := 0; ; i++ {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		if i > 300 {
			t.Fatalf("no %s: is containerd.service running in the guest?", sock)
		}
		time.Sleep(100 * time.Millisecond)
	}
	ns := fmt.Sprintf("berthtest%d", os.Getpid())
	c := func(args ...string) string {
		return sh(t, 2*time.Minute, ctr, append([]string{"--address", sock, "--namespace", ns}, args...)...)
	}
	store := podmanStore(t)
	image := fmt.Sprintf("localhost/berth-ctr-%d:1", os.Getpid())
	sh(t, 2*time.Minute, pm, podman(t, store, "import", rootfsTar(t), image)...)
	archive := filepath.Join(testDir(t, "ctr-image"), "image.tar")
	sh(t, 2*time.Minute, pm, podman(t, store, "save", "--format", "oci-archive", "-o", archive, image)...)
	c("images", "import", archive)

	prefix := fmt.Sprintf("berthtest%d", os.Getpid())
	unit := prefix + "-ct1.scope"
	stopUnitAtEnd(t, unit)
	c("run", "-d", "--runc-binary", runtimeBin(t), "--runc-systemd-cgroup", "--cgroup", "system.slice:"+prefix+":ct1",
		"--memory-limit", strconv.Itoa(64<<20), image, "ct1", "sleep", "1000")
	t.Cleanup(func() {
		for _, args := range [][]string{{"task", "kill", "-s", "SIGKILL", "ct1"}, {"task", "delete", "-f", "ct1"}, {"container", "delete", "ct1"}} {
			exec.Command(ctr, append([]string{"--address", sock, "--namespace", ns}, args...)...).Run()
		}
	})
	if prop, file := scopeMemoryMax(t, unit); prop != strconv.Itoa(64<<20) || file != prop {
		t.Errorf("ctr run --memory-limit: unit %s MemoryMax %s, memory.max %s", unit, prop, file)
	}
	if out := c("task", "exec", "--exec-id", "e1", "ct1", "cat", "/proc/self/cgroup"); !strings.Contains(out, unit) && strings.TrimSpace(out) != "0::/" {
		t.Errorf("ctr task exec: %q, want the process in %s", out, unit)
	}
	c("task", "kill", "-s", "SIGKILL", "ct1")
	for i := 0; i < 100; i++ {
		if strings.Contains(c("task", "ls"), "STOPPED") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	c("task", "delete", "ct1")
	c("container", "delete", "ct1")
	assertUnitGone(t, unit, "")
}

// dockerd with native.cgroupdriver=systemd (started here with private
// roots and socket, in its own network namespace, as TestEngineDocker
// does) runs a berth container in a docker-<id>.scope.
func TestSystemdEngineDocker(t *testing.T) {
	requireSystemdV2(t)
	dockerd := needTool(t, "dockerd", "docker.io")
	docker := needTool(t, "docker", "docker.io")
	pm := needTool(t, "podman", "podman")
	needTool(t, "unshare", "util-linux")
	// TCG: dockerd takes much longer to come up than on the host.
	d, image, host := startDockerd(t, dockerd, docker, pm, 600, "--exec-opt", "native.cgroupdriver=systemd")

	id := strings.TrimSpace(d("run", "-d", "--runtime", "berth", "--network", "none", "--memory", "64m",
		// The guest has no apparmor_parser to load docker-default with.
		"--security-opt", "apparmor=unconfined", image, "sleep", "1000"))
	t.Cleanup(func() { exec.Command(docker, "-H", host, "rm", "-f", id).Run() })
	unit := "docker-" + id + ".scope"
	if prop, file := scopeMemoryMax(t, unit); prop != strconv.Itoa(64<<20) || file != prop {
		t.Errorf("docker run --memory 64m: unit %s MemoryMax %s, memory.max %s", unit, prop, file)
	}
	d("update", "--memory", "100m", "--memory-swap", "200m", id)
	if prop, file := scopeMemoryMax(t, unit); prop != strconv.Itoa(100<<20) || file != prop {
		t.Errorf("docker update --memory 100m: unit %s MemoryMax %s, memory.max %s", unit, prop, file)
	}
	if out := d("exec", id, "sh", "-c", "echo exec-ok"); !strings.Contains(out, "exec-ok") {
		t.Errorf("docker exec: %s", out)
	}
	d("stop", "-t", "1", id)
	d("rm", id)
	assertUnitGone(t, unit, "")
}
