package tests

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// The symlink-exchange family (CVE-2021-30465, CVE-2024-45310,
// CVE-2019-19921, CVE-2025-31133): a process sharing the rootfs (another
// container on the same volume, here the test itself) swaps a directory
// and a symlink to the host with renameat2(RENAME_EXCHANGE) in a loop while
// containers are created. Every lookup berth makes can land on either, so
// only a setup that resolves inside the root and then uses what it
// resolved (never the name again) keeps the host untouched.

// advSwapper exchanges a and b (both under the rootfs) until stop is
// called; it returns how many exchanges it made.
func advSwapper(t *testing.T, a, b string) (stop func() int64) {
	t.Helper()
	var n atomic.Int64
	var wg sync.WaitGroup
	done := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			if unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, b, unix.RENAME_EXCHANGE) == nil {
				n.Add(1)
			}
		}
	}()
	var once sync.Once
	stop = func() int64 {
		once.Do(func() { close(done); wg.Wait() })
		return n.Load()
	}
	t.Cleanup(func() { stop() })
	return stop
}

// advRaceRuns is how many containers each race makes per init path: enough
// for the swapper to hit each lookup many times, few enough for the VM.
const advRaceRuns = 40

// TestAdversarialRaceMountTarget: a mount destination's parent flips
// between a directory of the rootfs and a symlink to a host directory.
// Nothing may be created or mounted in the host directory.
func TestAdversarialRaceMountTarget(t *testing.T) {
	r := newRuntime(t)
	hostDir := testDir(t, "adv-race-host")
	vol := testDir(t, "adv-race-vol")
	for _, p := range advInitPaths {
		t.Run(p.name, func(t *testing.T) {
			r, p := advFor(t, r, p)
			b := advBundle(t, "true")
			b.spec.Linux.MaskedPaths, b.spec.Linux.ReadonlyPaths = nil, nil
			mnt := filepath.Join(b.rootfs, "mnt")
			if err := os.MkdirAll(filepath.Join(mnt, "a"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(hostDir, filepath.Join(mnt, "link")); err != nil {
				t.Fatal(err)
			}
			b.addMount(specs.Mount{Destination: "/mnt/a/tmp", Type: "tmpfs", Source: "tmpfs"})
			b.addMount(specs.Mount{Destination: "/mnt/a/vol", Type: "bind", Source: vol, Options: []string{"rbind"}})
			b.advUserNS(t, p)
			before := hostMounts()
			stop := advSwapper(t, filepath.Join(mnt, "a"), filepath.Join(mnt, "link"))
			var ok int
			for i := 0; i < advRaceRuns; i++ {
				_, res := advRunAsIs(t, r, p, b, nil)
				if res.code == 0 {
					ok++
				}
				if ents, _ := os.ReadDir(hostDir); len(ents) != 0 {
					t.Fatalf("run %d created %v in the host directory through the swapped symlink", i, ents)
				}
				for _, m := range hostMounts() {
					if strings.HasPrefix(m, hostDir) {
						unix.Unmount(m, unix.MNT_DETACH)
						t.Fatalf("run %d mounted on the host at %s", i, m)
					}
				}
			}
			swaps := stop()
			t.Logf("%d of %d runs started, %d exchanges", ok, advRaceRuns, swaps)
			if swaps < advRaceRuns {
				t.Errorf("only %d exchanges: the race did not run", swaps)
			}
			// Only what this test could have made: other processes on the
			// host mount and unmount meanwhile.
			for _, m := range hostMounts() {
				if !slices.Contains(before, m) && (strings.HasPrefix(m, b.dir) || strings.HasPrefix(m, vol) || strings.HasPrefix(m, hostDir)) {
					t.Errorf("a mount was left on the host: %s", m)
				}
			}
		})
	}
}

// TestAdversarialRaceDevNull: the image's /dev/null (a real null device,
// no /dev tmpfs) flips with a symlink to a host file while masked paths
// are bound from it. The host file must never be bound into a container.
func TestAdversarialRaceDevNull(t *testing.T) {
	r := newRuntime(t)
	h := newAdvHost(t)
	for _, p := range advInitPaths {
		t.Run(p.name, func(t *testing.T) {
			r, p := advFor(t, r, p)
			b := advBundle(t, "sh", "-c", "cat /proc/kcore /proc/timer_list 2>&1 | head -c 200; echo")
			b.advDropMount("/dev")
			b.spec.Linux.MaskedPaths = []string{"/proc/kcore", "/proc/timer_list", "/proc/keys"}
			b.spec.Linux.ReadonlyPaths = nil
			dev := filepath.Join(b.rootfs, "dev")
			if err := os.MkdirAll(dev, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := unix.Mknod(filepath.Join(dev, "null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(h.marker, filepath.Join(dev, "evil")); err != nil {
				t.Fatal(err)
			}
			b.advUserNS(t, p)
			stop := advSwapper(t, filepath.Join(dev, "null"), filepath.Join(dev, "evil"))
			var ok, refused int
			for i := 0; i < advRaceRuns; i++ {
				_, res := advRunAsIs(t, r, p, b, nil)
				switch {
				case res.code == 0:
					ok++
				case strings.Contains(res.stderr, "/dev/null"):
					refused++
				default:
					t.Errorf("run %d failed without naming /dev/null: %s", i, res)
				}
				if strings.Contains(res.stdout, h.secret) {
					t.Fatalf("run %d: a masked path showed the host file: %s", i, res)
				}
			}
			swaps := stop()
			t.Logf("%d started, %d refused (/dev/null not the null device), %d exchanges", ok, refused, swaps)
			if swaps < advRaceRuns {
				t.Errorf("only %d exchanges: the race did not run", swaps)
			}
		})
	}
}
