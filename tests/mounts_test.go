package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"berth/internal/mountinfo"
)

// parseMountinfo indexes a container's /proc/self/mountinfo text by mount
// point (the last mount on a point wins, as it is the visible one). Lines
// that are not mountinfo (the script's own output) are left out.
func parseMountinfo(text string) map[string]mountinfo.Mount {
	m := map[string]mountinfo.Mount{}
	for _, l := range lines(text) {
		if e, err := mountinfo.ParseLine(l); err == nil {
			m[e.Mountpoint] = e
		}
	}
	return m
}

func hasOpt(list, opt string) bool {
	for _, o := range strings.Split(list, ",") {
		if o == opt {
			return true
		}
	}
	return false
}

// sections splits output printed between "== name" markers.
func sections(out string) map[string]string {
	m := map[string]string{}
	name := ""
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "== ") {
			name = strings.TrimPrefix(l, "== ")
			continue
		}
		m[name] += l + "\n"
	}
	return m
}

func TestMountBind(t *testing.T) { scenarioMountBind(t, newRuntime(t)) }

func scenarioMountBind(t *testing.T, r *runtime) {
	roSrc := testDir(t, "ro")
	rwSrc := r.dir(t, "rw")
	writeFile(t, filepath.Join(roSrc, "f"), "from-host\n")
	fileSrc := filepath.Join(testDir(t, "file"), "hostfile")
	writeFile(t, fileSrc, "single-file\n")

	b := r.shBundle(t, `
echo "== ro"; cat /mnt/ro/f; touch /mnt/ro/new 2>&1
echo "== rw"; echo written > /mnt/rw/new && echo rw-ok
echo "== file"; cat /etc/hostfile
echo "== mountinfo"; cat /proc/self/mountinfo`)
	b.addMount(specs.Mount{Destination: "/mnt/ro", Type: "bind", Source: roSrc, Options: []string{"bind", "ro"}})
	b.addMount(specs.Mount{Destination: "/mnt/rw", Type: "none", Source: rwSrc, Options: []string{"rbind", "rw"}})
	b.addMount(specs.Mount{Destination: "/etc/hostfile", Type: "bind", Source: fileSrc, Options: []string{"bind", "ro"}})
	s := sections(r.mustRunContainer(b))

	if !strings.Contains(s["ro"], "from-host") {
		t.Errorf("read-only bind: host file not visible: %q", s["ro"])
	}
	if !strings.Contains(s["ro"], "Read-only file system") {
		t.Errorf("writing to a ro bind mount did not fail with EROFS: %q", s["ro"])
	}
	if _, err := os.Stat(filepath.Join(roSrc, "new")); err == nil {
		t.Errorf("a file was created through the read-only bind mount")
	}
	if got, _ := os.ReadFile(filepath.Join(rwSrc, "new")); string(got) != "written\n" || !strings.Contains(s["rw"], "rw-ok") {
		t.Errorf("read-write bind: host sees %q, container said %q", got, s["rw"])
	}
	if !strings.Contains(s["file"], "single-file") {
		t.Errorf("file bind mount: %q", s["file"])
	}
	mi := parseMountinfo(s["mountinfo"])
	if e, ok := mi["/mnt/ro"]; !ok || !hasOpt(e.Options, "ro") {
		t.Errorf("/mnt/ro mountinfo %+v, want ro", e)
	}
	if e, ok := mi["/mnt/rw"]; !ok || !hasOpt(e.Options, "rw") {
		t.Errorf("/mnt/rw mountinfo %+v, want rw", e)
	}
}

func TestMountTmpfsOptions(t *testing.T) { scenarioMountTmpfsOptions(t, newRuntime(t)) }

func scenarioMountTmpfsOptions(t *testing.T, r *runtime) {
	b := r.shBundle(t, `
echo "== mode"; stat -c %a /mnt/t
echo "== noexec"; cp /bin/busybox /mnt/t/true; /mnt/t/true; echo rc=$?
echo "== exec"; cp /bin/busybox /mnt/x/true; /mnt/x/true; echo rc=$?
echo "== mountinfo"; cat /proc/self/mountinfo`)
	b.addMount(specs.Mount{Destination: "/mnt/t", Type: "tmpfs", Source: "tmpfs",
		Options: []string{"nosuid", "nodev", "noexec", "size=8m", "mode=0710"}})
	b.addMount(specs.Mount{Destination: "/mnt/x", Type: "tmpfs", Source: "tmpfs",
		Options: []string{"size=8m"}})
	s := sections(r.mustRunContainer(b))

	if got := strings.TrimSpace(s["mode"]); got != "710" {
		t.Errorf("tmpfs mode=0710: directory mode %q", got)
	}
	if !strings.Contains(s["noexec"], "rc=126") {
		t.Errorf("executing from a noexec tmpfs: %q, want rc=126", s["noexec"])
	}
	if !strings.Contains(s["exec"], "rc=0") {
		t.Errorf("executing from a tmpfs without noexec: %q, want rc=0", s["exec"])
	}
	mi := parseMountinfo(s["mountinfo"])
	e, ok := mi["/mnt/t"]
	if !ok {
		t.Fatalf("/mnt/t not in mountinfo:\n%s", s["mountinfo"])
	}
	for _, o := range []string{"nosuid", "nodev", "noexec"} {
		if !hasOpt(e.Options, o) {
			t.Errorf("/mnt/t options %q lack %s", e.Options, o)
		}
	}
	if e.FSType != "tmpfs" || !hasOpt(e.SuperOptions, "size=8192k") || !hasOpt(e.SuperOptions, "mode=710") {
		t.Errorf("/mnt/t is %s with %q, want tmpfs size=8192k,mode=710", e.FSType, e.SuperOptions)
	}
	if x := mi["/mnt/x"]; hasOpt(x.Options, "noexec") || hasOpt(x.Options, "nosuid") {
		t.Errorf("/mnt/x got flags it did not ask for: %q", x.Options)
	}
}

// TestMountRbind needs a mount below the bind source. The runtime runs in a
// private mount namespace of its own where a tmpfs is mounted on the
// source's sub directory, so the host's mount table is never touched.
func TestMountRbind(t *testing.T) {
	r := newRuntime(t)
	src := testDir(t, "rbind")
	if err := os.Mkdir(filepath.Join(src, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(src, "top"), "top\n")

	b := newShBundle(t, `
echo "== rbind"; cat /mnt/r/top /mnt/r/sub/f
echo "== bind"; cat /mnt/b/top; ls -A /mnt/b/sub | wc -l
echo "== ro"; cat /mnt/ro/sub/f; touch /mnt/ro/sub/new 2>/dev/null && echo submount-writable; touch /mnt/ro/new 2>/dev/null && echo top-writable; true`)
	b.addMount(specs.Mount{Destination: "/mnt/r", Type: "bind", Source: src, Options: []string{"rbind"}})
	b.addMount(specs.Mount{Destination: "/mnt/b", Type: "bind", Source: src, Options: []string{"bind"}})
	// Read-only holds for the submount too (CVE-2023-25809).
	b.addMount(specs.Mount{Destination: "/mnt/ro", Type: "bind", Source: src, Options: []string{"rbind", "ro"}})
	b.write(t)
	id := r.newID()
	const wrap = `mount -t tmpfs -o size=1m tmpfs "$1/sub" && echo in-submount > "$1/sub/f" && shift && exec "$@"`
	res := r.runCmd(func(c *exec.Cmd) {
		c.Args = append([]string{"sh", "-c", wrap, "sh", src}, c.Args...)
		c.Path = "/bin/sh"
		c.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
	}, "run", "--bundle", b.dir, id)
	if res.code != 0 {
		t.Fatalf("container failed: %s", res)
	}
	s := sections(res.stdout)
	if !strings.Contains(s["rbind"], "top") || !strings.Contains(s["rbind"], "in-submount") {
		t.Errorf("rbind must carry the submount: %q", s["rbind"])
	}
	if !strings.Contains(s["ro"], "in-submount") || strings.Contains(s["ro"], "writable") {
		t.Errorf("rbind,ro must carry the submount, read-only like the top: %q", s["ro"])
	}
	if !strings.Contains(s["bind"], "top") || strings.TrimSpace(strings.ReplaceAll(s["bind"], "top", "")) != "0" {
		t.Errorf("a plain bind must not carry the submount (want empty sub/): %q", s["bind"])
	}
}

func TestMountPropagation(t *testing.T) {
	r := newRuntime(t)
	src := testDir(t, "prop")
	b := newShBundle(t, "cat /proc/self/mountinfo")
	b.addMount(specs.Mount{Destination: "/mnt/shared", Type: "bind", Source: src, Options: []string{"rbind", "rshared"}})
	b.addMount(specs.Mount{Destination: "/mnt/private", Type: "bind", Source: src, Options: []string{"rbind", "rprivate"}})
	mi := parseMountinfo(r.mustRunContainer(b))
	tags := func(p string) string { return strings.Join(mi[p].Optional, " ") }
	if !strings.Contains(tags("/mnt/shared"), "shared:") {
		t.Errorf("/mnt/shared propagation %q, want shared:N", tags("/mnt/shared"))
	}
	if tg := tags("/mnt/private"); strings.Contains(tg, "shared:") || strings.Contains(tg, "master:") {
		t.Errorf("/mnt/private propagation %q, want private (no tags)", tg)
	}
}

func TestMaskedPaths(t *testing.T) { scenarioMaskedPaths(t, newRuntime(t)) }

func scenarioMaskedPaths(t *testing.T, r *runtime) {
	b := r.shBundle(t, `
echo "== file"; echo "[$(cat /etc/secret)]"
echo "== dir"; ls -A /secretdir | wc -l; touch /secretdir/x 2>/dev/null && echo dir-writable
echo "== kcore"; head -c 16 /proc/kcore | wc -c
echo "== other"; cat /etc/visible`)
	writeFile(t, filepath.Join(b.rootfs, "etc", "secret"), "top secret\n")
	writeFile(t, filepath.Join(b.rootfs, "etc", "visible"), "visible\n")
	writeFile(t, filepath.Join(b.rootfs, "secretdir", "inside"), "hidden\n")
	b.spec.Linux.MaskedPaths = append(b.spec.Linux.MaskedPaths, "/etc/secret", "/secretdir", "/does/not/exist")
	s := sections(r.mustRunContainer(b))
	if got := strings.TrimSpace(s["file"]); got != "[]" {
		t.Errorf("masked file reads %q, want empty", got)
	}
	if got := lines(s["dir"]); len(got) != 1 || got[0] != "0" {
		t.Errorf("masked directory: %q, want empty and not writable", got)
	}
	if got := strings.TrimSpace(s["kcore"]); got != "0" {
		t.Errorf("masked /proc/kcore gave %s bytes, want 0", got)
	}
	if !strings.Contains(s["other"], "visible") {
		t.Errorf("an unmasked file is not readable: %q", s["other"])
	}
}

func TestReadonlyPaths(t *testing.T) { scenarioReadonlyPaths(t, newRuntime(t)) }

func scenarioReadonlyPaths(t *testing.T, r *runtime) {
	b := r.shBundle(t, `
echo "== data"; cat /data/file; touch /data/new 2>&1
echo "== procsys"; (echo 1 > /proc/sys/kernel/ns_last_pid) 2>&1
echo "== tmp"; touch /tmp/new && echo tmp-ok`)
	writeFile(t, filepath.Join(b.rootfs, "data", "file"), "data-file\n")
	b.spec.Linux.ReadonlyPaths = append(b.spec.Linux.ReadonlyPaths, "/data")
	s := sections(r.mustRunContainer(b))
	if !strings.Contains(s["data"], "data-file") || !strings.Contains(s["data"], "Read-only file system") {
		t.Errorf("readonly path /data: %q, want readable and EROFS on write", s["data"])
	}
	if !strings.Contains(s["procsys"], "Read-only file system") {
		t.Errorf("/proc/sys is in readonlyPaths but writing gave %q", s["procsys"])
	}
	if !strings.Contains(s["tmp"], "tmp-ok") {
		t.Errorf("a path outside readonlyPaths is not writable: %q", s["tmp"])
	}
}

func TestRootReadonly(t *testing.T) { scenarioRootReadonly(t, newRuntime(t)) }

func scenarioRootReadonly(t *testing.T, r *runtime) {
	b := r.shBundle(t, `
echo "== root"; touch /newfile 2>&1
echo "== shm"; touch /dev/shm/ok && echo shm-ok
echo "== mountinfo"; cat /proc/self/mountinfo`)
	b.spec.Root.Readonly = true
	s := sections(r.mustRunContainer(b))
	if !strings.Contains(s["root"], "Read-only file system") {
		t.Errorf("writing to a readonly root: %q, want EROFS", s["root"])
	}
	if _, err := os.Stat(filepath.Join(b.rootfs, "newfile")); err == nil {
		t.Errorf("file created on the readonly root")
	}
	if !strings.Contains(s["shm"], "shm-ok") {
		t.Errorf("/dev/shm must stay writable on a readonly root: %q", s["shm"])
	}
	if e := parseMountinfo(s["mountinfo"])["/"]; !hasOpt(e.Options, "ro") {
		t.Errorf("/ mount options %q, want ro", e.Options)
	}

	t.Run("writable root", func(t *testing.T) {
		b := r.shBundle(t, "touch /newfile && echo ok")
		if out := r.mustRunContainer(b); !strings.Contains(out, "ok") {
			t.Fatalf("writing to a writable root: %q", out)
		}
		if _, err := os.Stat(filepath.Join(b.rootfs, "newfile")); err != nil {
			t.Fatalf("file written in the container is not in the rootfs: %v", err)
		}
	})
}

// TestMountDestinationHostPath: a destination written as the host's path
// of a place in the rootfs (BUNDLE/rootfs/mnt/x) is that place, as runc
// takes it, and nothing else is made (runc 1.1.5 also leaves an empty copy
// of the host path's directories in the rootfs).
func TestMountDestinationHostPath(t *testing.T) {
	r := newRuntime(t)
	b := newShBundle(t, `grep -c " /mnt/x " /proc/self/mountinfo; ls -d /tmp/* 2>/dev/null | wc -l`)
	b.addMount(specs.Mount{Destination: filepath.Join(b.rootfs, "mnt", "x"), Type: "tmpfs", Source: "tmpfs"})
	out := lines(r.mustRunContainer(b))
	if len(out) != 2 || out[0] != "1" || out[1] != "0" {
		t.Errorf("want the tmpfs at /mnt/x and nothing made under /tmp, got %q", out)
	}
}

// TestMountDevReadonly: a read-only /dev tmpfs gets its submounts and
// device nodes first and is read-only after (runc's order); mounted
// read-only at once, nothing could be made in it.
func TestMountDevReadonly(t *testing.T) {
	r := newRuntime(t)
	b := newShBundle(t, `ls -l /dev/null | cut -c1; grep " /dev " /proc/self/mountinfo | cut -d' ' -f6 | cut -d, -f1; touch /dev/x 2>/dev/null && echo writable; grep -c " /dev/pts " /proc/self/mountinfo`)
	for k, m := range b.spec.Mounts {
		if m.Destination == "/dev" {
			b.spec.Mounts[k].Options = append(append([]string{}, m.Options...), "ro")
		}
	}
	b.write(t)
	id := r.newID()
	res := r.run("run", "--bundle", b.dir, id)
	if res.code != 0 {
		t.Fatalf("run with a read-only /dev: %s", res)
	}
	if got := lines(res.stdout); len(got) != 3 || got[0] != "c" || got[1] != "ro" || got[2] != "1" {
		t.Errorf("want a char device, /dev ro, /dev/pts mounted, nothing writable; got %q", got)
	}
}
