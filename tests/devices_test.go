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
