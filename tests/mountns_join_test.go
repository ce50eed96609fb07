package tests

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestMountNamespaceJoined: a spec whose mount namespace is given by path
// joins it, and the C init builds the rootfs there as in a new one (the
// plan's mount facts read through the init): the spec's mounts are made,
// the host's mount table is left as it was, and the container's
// namespace is the joined one. With a shared rootfs propagation the
// plan reads the joined namespace's table to make the rootfs's parent
// private.
func TestMountNamespaceJoined(t *testing.T) {
	r := newRuntime(t)
	for _, prop := range []string{"", "rshared"} {
		t.Run("propagation="+prop, func(t *testing.T) {
			holder := mountNSHolder(t)
			nsPath := "/proc/" + strconv.Itoa(holder) + "/ns/mnt"
			want, err := os.Readlink(nsPath)
			if err != nil {
				t.Fatal(err)
			}
			b := newShBundle(t, "readlink /proc/self/ns/mnt; grep -c ' /tmp ' /proc/self/mountinfo; ls /")
			b.addNamespace(specs.MountNamespace, nsPath)
			b.spec.Linux.RootfsPropagation = prop
			b.addMount(specs.Mount{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid"}})
			b.write(t)
			before := hostMounts()
			res := initCall(t, r, nil, "run", "--bundle", b.dir, r.newID())
			if res.code != 0 {
				t.Fatalf("run: %s", res)
			}
			out := lines(res.stdout)
			if len(out) < 3 || out[0] != want || out[1] != "1" {
				t.Errorf("container: %q, want the joined namespace %s and one /tmp mount", out, want)
			}
			if after := hostMounts(); strings.Join(after, "\n") != strings.Join(before, "\n") {
				t.Errorf("the host's mount table changed:\nbefore %q\nafter  %q", before, after)
			}
		})
	}
}

// mountNSHolder starts a process in a mount namespace of its own (a
// private copy of the host's) and gives its pid; it is killed when the
// test ends.
func mountNSHolder(t *testing.T) int {
	t.Helper()
	unshare := needTool(t, "unshare", "util-linux")
	cmd := exec.Command(unshare, "--mount", "--propagation", "private", "sleep", "600")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	own, _ := os.Readlink("/proc/self/ns/mnt")
	for i := 0; i < 200; i++ {
		if l, err := os.Readlink("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/ns/mnt"); err == nil && l != own {
			return cmd.Process.Pid
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("unshare --mount: the holder never entered a mount namespace of its own")
	return 0
}
