package caps

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// childEnv makes the test binary act as a container init instead of
// running tests: capability changes are process-wide in effect (and a uid
// switch is), so they happen in a child, never in the test process.
const childEnv = "BERTH_CAPS_TEST_CHILD"

const nobody = 65534

// childCaps is what the child applies. Expected masks (bit n = cap n):
// CHOWN 0, KILL 5, NET_BIND_SERVICE 10, NET_RAW 13, SYS_CHROOT 18.
var childCaps = &specs.LinuxCapabilities{
	Bounding:    []string{"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_SYS_CHROOT"},
	Permitted:   []string{"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW"},
	Effective:   []string{"CAP_KILL", "CAP_NET_BIND_SERVICE"},
	Inheritable: []string{"CAP_NET_BIND_SERVICE", "CAP_NET_RAW"},
	Ambient:     []string{"CAP_NET_BIND_SERVICE"},
}

func TestMain(m *testing.M) {
	mode := os.Getenv(childEnv)
	if mode == "" {
		os.Exit(m.Run())
	}
	if err := runChild(mode); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// runChild follows the init's sequence: drop bounding as root, keep caps
// across the switch to nobody, apply, then report (or execve and let the
// new program report).
func runChild(mode string) error {
	runtime.LockOSThread()
	sets, _, err := FromSpec(childCaps)
	if err != nil {
		return err
	}
	if err := sets.DropBounding(); err != nil {
		return err
	}
	if err := KeepCaps(true); err != nil {
		return err
	}
	if err := unix.Setgroups(nil); err != nil {
		return err
	}
	if err := unix.Setresgid(nobody, nobody, nobody); err != nil {
		return err
	}
	if err := unix.Setresuid(nobody, nobody, nobody); err != nil {
		return err
	}
	if err := KeepCaps(false); err != nil {
		return err
	}
	if err := sets.Apply(); err != nil {
		return err
	}
	switch mode {
	case "thread":
		b, err := os.ReadFile("/proc/thread-self/status")
		if err != nil {
			return err
		}
		_, err = os.Stdout.Write(b)
		return err
	case "exec":
		return syscall.Exec("/bin/cat", []string{"cat", "/proc/self/status"}, nil)
	}
	return fmt.Errorf("unknown mode %q", mode)
}

func runChildStatus(t *testing.T, mode string) map[string]string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+mode)
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("child: %v: %s", err, ee.Stderr)
		}
		t.Fatal(err)
	}
	status := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok {
			status[k] = strings.TrimSpace(v)
		}
	}
	return status
}

func checkStatus(t *testing.T, status map[string]string, want map[string]uint64) {
	t.Helper()
	if got := status["Uid"]; got != "65534\t65534\t65534\t65534" {
		t.Errorf("Uid = %q, want nobody", got)
	}
	for _, k := range []string{"CapBnd", "CapPrm", "CapEff", "CapInh", "CapAmb"} {
		got, err := strconv.ParseUint(status[k], 16, 64)
		if err != nil {
			t.Errorf("%s = %q: %v", k, status[k], err)
			continue
		}
		if got != want[k] {
			t.Errorf("%s = %#x, want %#x", k, got, want[k])
		}
	}
}

func TestApplyAfterUserSwitch(t *testing.T) {
	checkStatus(t, runChildStatus(t, "thread"), map[string]uint64{
		"CapBnd": 0x42421,
		"CapPrm": 0x02421,
		"CapEff": 0x00420,
		"CapInh": 0x02400,
		"CapAmb": 0x00400,
	})
}

// After execve a non-root process with no file capabilities gets its
// permitted and effective sets from the ambient set alone: this is what
// makes ambient capabilities work for a container user.
func TestApplySurvivesExec(t *testing.T) {
	if _, err := os.Stat("/bin/cat"); err != nil {
		t.Skip(err)
	}
	checkStatus(t, runChildStatus(t, "exec"), map[string]uint64{
		"CapBnd": 0x42421,
		"CapPrm": 0x00400,
		"CapEff": 0x00400,
		"CapInh": 0x02400,
		"CapAmb": 0x00400,
	})
}

func TestLastCapMatchesKernel(t *testing.T) {
	last := LastCap()
	if _, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, uintptr(last), 0, 0, 0); err != nil {
		t.Errorf("PR_CAPBSET_READ(%d) = %v; LastCap is past the kernel's last capability", last, err)
	}
	if _, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, uintptr(last+1), 0, 0, 0); !errors.Is(err, unix.EINVAL) {
		t.Errorf("PR_CAPBSET_READ(%d) = %v, want EINVAL; LastCap is below the kernel's last capability", last+1, err)
	}
}

// onThrowawayThread runs f on a locked OS thread that is never unlocked,
// so the Go runtime discards that thread, and its capability changes, when
// f returns.
func onThrowawayThread(f func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		f()
	}()
	<-done
}

func TestDropBoundingWithoutSetpcap(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	onThrowawayThread(func() {
		keep := &Sets{Bounding: 1<<unix.CAP_KILL | 1<<unix.CAP_CHOWN}
		if err := keep.DropBounding(); err != nil {
			t.Errorf("first drop: %v", err)
			return
		}
		// Give up CAP_SETPCAP: further drops must fail, a repeat must not.
		prm, err := currentPermitted()
		if err != nil {
			t.Error(err)
			return
		}
		noSetpcap := &Sets{Effective: prm &^ (1 << unix.CAP_SETPCAP), Permitted: prm}
		if err := noSetpcap.Apply(); err != nil {
			t.Errorf("apply: %v", err)
			return
		}
		if err := keep.DropBounding(); err != nil {
			t.Errorf("repeating the same drop without CAP_SETPCAP: %v", err)
		}
		smaller := &Sets{Bounding: 1 << unix.CAP_KILL}
		err = smaller.DropBounding()
		if !errors.Is(err, unix.EPERM) || !strings.Contains(err.Error(), "drop CAP_CHOWN from the bounding set: prctl(PR_CAPBSET_DROP)") {
			t.Errorf("dropping more without CAP_SETPCAP: err = %v, want EPERM naming CAP_CHOWN", err)
		}
	})
}

func TestApplyRejectedByKernel(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	onThrowawayThread(func() {
		bad := &Sets{Effective: 1 << unix.CAP_KILL} // effective outside permitted
		err := bad.Apply()
		if !errors.Is(err, unix.EPERM) || !strings.Contains(err.Error(), "capset(effective 0x20, permitted 0x0, inheritable 0x0)") {
			t.Errorf("err = %v, want capset EPERM", err)
		}
		raise := &Sets{Effective: 1 << unix.CAP_KILL, Permitted: 1 << unix.CAP_KILL, Ambient: 1 << unix.CAP_KILL}
		err = raise.Apply() // ambient needs inheritable too
		if !errors.Is(err, unix.EPERM) || !strings.Contains(err.Error(), "raise CAP_KILL in the ambient set") {
			t.Errorf("err = %v, want ambient raise EPERM", err)
		}
	})
}

func TestKeepCaps(t *testing.T) {
	onThrowawayThread(func() {
		for _, on := range []bool{true, false} {
			if err := KeepCaps(on); err != nil {
				t.Error(err)
				return
			}
			got, err := unix.PrctlRetInt(unix.PR_GET_KEEPCAPS, 0, 0, 0, 0)
			if err != nil || (got == 1) != on {
				t.Errorf("after KeepCaps(%v): PR_GET_KEEPCAPS = %d, %v", on, got, err)
			}
		}
	})
}

// currentPermitted reads the calling thread's permitted set (the test may
// itself run with a reduced set, so "everything" is not a safe assumption).
func currentPermitted() (uint64, error) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return 0, fmt.Errorf("capget: %w", err)
	}
	return uint64(data[1].Permitted)<<32 | uint64(data[0].Permitted), nil
}
