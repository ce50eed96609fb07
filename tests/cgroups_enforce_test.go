package tests

import (
	"encoding/json"
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

func uniqueCgroup() string {
	return "/berth-test-" + strconv.Itoa(os.Getpid()) + "-" + strconv.FormatInt(idSeq.Add(1), 10)
}

func cgroupGone(t *testing.T, path string) {
	t.Helper()
	for _, base := range []string{"/sys/fs/cgroup", "/sys/fs/cgroup/pids", "/sys/fs/cgroup/memory", "/sys/fs/cgroup/unified"} {
		if _, err := os.Stat(base + path); err == nil {
			t.Errorf("cgroup %s%s remains", base, path)
		}
	}
}

type statsEvent struct {
	Type string `json:"type"`
	Data struct {
		Memory struct {
			OOMEvents uint64 `json:"oom_events"`
			OOMKills  uint64 `json:"oom_kills"`
		} `json:"memory"`
		Pids struct {
			Current uint64 `json:"current"`
			Limit   uint64 `json:"limit"`
		} `json:"pids"`
	} `json:"data"`
}

func stats(t *testing.T, r *runtime, id string) statsEvent {
	t.Helper()
	var ev statsEvent
	if err := json.Unmarshal([]byte(r.mustRun("events", "--stats", id).stdout), &ev); err != nil {
		t.Fatalf("events --stats: %v", err)
	}
	return ev
}

// TestCgroupOOM: a memory limit OOM-kills a hog; as pid 1 the container
// exits 137, and a surviving container's stats count the OOM kill.
func TestCgroupOOM(t *testing.T) {
	r := newRuntime(t)
	limit := int64(32 << 20)
	swap := limit
	res := &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: &limit, Swap: &swap}}

	b := newBundle(t, "tail", "/dev/zero") // one endless line: tail holds it all
	b.spec.Linux.Resources = res
	b.spec.Linux.CgroupsPath = uniqueCgroup()
	_, out := r.runContainer(b)
	if out.code != 137 {
		t.Errorf("memory hog as pid 1: exit %d, want 137 (OOM kill): %s", out.code, out)
	}
	cgroupGone(t, b.spec.Linux.CgroupsPath)

	b2 := newShBundle(t, "tail /dev/zero; echo hog-killed; sleep 100")
	b2.spec.Linux.Resources = res
	c := r.create(b2)
	c.start()
	c.waitOutput("hog-killed")
	ev := stats(t, r, c.id)
	if ev.Data.Memory.OOMKills == 0 && ev.Data.Memory.OOMEvents == 0 {
		t.Errorf("events --stats after an OOM kill: %+v, want oom counted", ev.Data.Memory)
	}
}

// TestCgroupForkBomb: pids.max stops a fork bomb.
func TestCgroupForkBomb(t *testing.T) {
	r := newRuntime(t)
	limit := int64(12)
	// The bomb runs in a subshell: ash gives up when a fork fails.
	b := newShBundle(t, "(i=0; while [ $i -lt 60 ]; do sleep 30 & i=$((i+1)); done) 2>/dev/null; echo spawned; exec sleep 30")
	b.spec.Linux.Resources = &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: &limit}}
	c := r.create(b)
	c.start()
	c.waitOutput("spawned")
	ev := stats(t, r, c.id)
	if ev.Data.Pids.Current == 0 || ev.Data.Pids.Current > 12 || ev.Data.Pids.Limit != 12 {
		t.Errorf("pids after a fork bomb under pids.max 12: %+v", ev.Data.Pids)
	}
}

// TestCgroupDevices: the device rules deny a disk-like node (mknod and
// open) and allow the default ones.
func TestCgroupDevices(t *testing.T) {
	r := newRuntime(t)
	b := newShBundle(t, "mknod /tmp/sda b 8 0 2>&1 && echo mknod-ok; echo x > /dev/null && echo null-ok; head -c1 /dev/zero >/dev/null && echo zero-ok")
	b.spec.Root.Readonly = false
	b.addMount(specs.Mount{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid"}})
	c := b.spec.Process.Capabilities
	c.Bounding = append(c.Bounding, "CAP_MKNOD")
	c.Effective = append(c.Effective, "CAP_MKNOD")
	c.Permitted = append(c.Permitted, "CAP_MKNOD")
	b.spec.Linux.Resources = &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}}
	out := r.mustRunContainer(b)
	if strings.Contains(out, "mknod-ok") || !strings.Contains(out, "Operation not permitted") {
		t.Errorf("mknod of block 8:0 under deny-all: %q, want EPERM", out)
	}
	if !strings.Contains(out, "null-ok") || !strings.Contains(out, "zero-ok") {
		t.Errorf("default devices not usable: %q", out)
	}
}

// TestCgroupFreeze: while paused the workload makes no progress, and it
// goes on after resume.
func TestCgroupFreeze(t *testing.T) {
	r := newRuntime(t)
	b := newShBundle(t, "while true; do echo tick; sleep 0.05; done")
	c := r.create(b)
	c.start()
	c.waitOutput("tick")
	r.mustRun("pause", c.id)
	time.Sleep(100 * time.Millisecond)
	n1 := strings.Count(c.stdout(), "tick")
	time.Sleep(400 * time.Millisecond)
	if n2 := strings.Count(c.stdout(), "tick"); n2 != n1 {
		t.Errorf("paused container kept running: %d ticks, then %d", n1, n2)
	}
	pid := r.state(c.id).Pid
	if st, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat"); len(st) == 0 {
		t.Fatal("init gone while paused")
	}
	r.mustRun("resume", c.id)
	time.Sleep(400 * time.Millisecond)
	if n3 := strings.Count(c.stdout(), "tick"); n3 <= n1 {
		t.Errorf("resumed container makes no progress: %d ticks", n3)
	}
}

// TestCgroupCleanupAfterKill: kill -9 of the workload, and kill -9 of berth
// itself mid-create, still leave no cgroup behind after delete --force.
func TestCgroupCleanupAfterKill(t *testing.T) {
	r := newRuntime(t)

	b := newBundle(t, "sleep", "100")
	b.spec.Linux.CgroupsPath = uniqueCgroup()
	c := r.create(b)
	c.start()
	syscall.Kill(r.state(c.id).Pid, syscall.SIGKILL)
	r.waitStatus(c.id, specs.StateStopped)
	r.mustRun("delete", c.id)
	cgroupGone(t, b.spec.Linux.CgroupsPath)

	// A createRuntime hook holds create while we kill berth.
	b2 := newBundle(t, "sleep", "100")
	b2.spec.Linux.CgroupsPath = uniqueCgroup()
	marker := filepath.Join(testDir(t, "hook"), "in-hook")
	hook := filepath.Join(filepath.Dir(marker), "hold.sh")
	writeFile(t, hook, "#!/bin/sh\ntouch "+marker+"\nsleep 30\n")
	os.Chmod(hook, 0o755)
	b2.spec.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{{Path: hook}}}
	b2.write(t)
	id := r.newID()
	cmd := exec.Command(r.bin, "--root", r.root, "create", "--bundle", b2.dir, id)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		if _, err := os.Stat(marker); err == nil {
			break
		}
		if i > 300 {
			cmd.Process.Kill()
			t.Fatal("the hook never ran")
		}
		time.Sleep(20 * time.Millisecond)
	}
	var st struct {
		Pid int `json:"pid"`
	}
	data, _ := os.ReadFile(filepath.Join(r.root, id, "state.json"))
	json.Unmarshal(data, &st)
	cmd.Process.Kill() // kill -9 of berth mid-create
	cmd.Wait()
	r.mustRun("delete", "--force", id)
	cgroupGone(t, b2.spec.Linux.CgroupsPath)
	if _, err := os.Stat(filepath.Join(r.root, id)); err == nil {
		t.Errorf("state of %s remains after delete --force", id)
	}
	if st.Pid > 0 {
		waitGone(t, st.Pid)
	}
}

// TestCgroupDevicesAccessA: an "a" in a device rule's access is accepted
// and ignored, as runc does: "rwa" allows read and write, not mknod.
func TestCgroupDevicesAccessA(t *testing.T) {
	r := newRuntime(t)
	b := newShBundle(t, "mknod /tmp/f c 10:229 2>/dev/null && echo mknod-ok || echo mknod-denied; "+
		"if (exec 3<>/fuse) 2>/tmp/err; then echo open-ok; else cat /tmp/err; fi; echo done")
	if err := syscall.Mknod(filepath.Join(b.rootfs, "fuse"), syscall.S_IFCHR|0o666, 10<<8|229); err != nil {
		t.Fatal(err)
	}
	b.spec.Root.Readonly = false
	b.addMount(specs.Mount{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid"}})
	c := b.spec.Process.Capabilities
	c.Bounding = append(c.Bounding, "CAP_MKNOD")
	c.Effective = append(c.Effective, "CAP_MKNOD")
	c.Permitted = append(c.Permitted, "CAP_MKNOD")
	major, minor := int64(10), int64(229)
	b.spec.Linux.Resources = &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{
		{Allow: false, Access: "rwm"},
		{Allow: true, Type: "c", Major: &major, Minor: &minor, Access: "rwa"},
	}}
	b.spec.Linux.CgroupsPath = uniqueCgroup()
	ct := r.create(b)
	ct.start()
	ct.waitOutput("done")
	out := ct.stdout()
	if !strings.Contains(out, "mknod-denied") {
		t.Errorf("mknod of c 10:229 under access rwa: %q, want it denied", out)
	}
	// The node may have no driver here (ENODEV): only the cgroup's EPERM
	// would say the rule did not allow read and write.
	if strings.Contains(out, "not permitted") {
		t.Errorf("open of c 10:229 under access rwa: %q, want it allowed", out)
	}
	if !isUnified() {
		list, err := os.ReadFile("/sys/fs/cgroup/devices" + b.spec.Linux.CgroupsPath + "/devices.list")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(list), "c 10:229 rw\n") {
			t.Errorf("devices.list under access rwa:\n%s\nwant c 10:229 rw", list)
		}
	}
}
