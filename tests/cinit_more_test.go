package tests

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// The init's steps beyond the common spec: createContainer and
// startContainer hooks, containers without a mount namespace, every
// linux.rootfsPropagation, the overlay rootfs and tmpcopyup. Each test
// checks from the log that the init ran its plan, then the container and
// the one-line errors.

// initCall runs berth args with --debug --log and, for create and run,
// checks from the log that the init ran its plan (the C executor's steps).
func initCall(t *testing.T, r *runtime, adjust func(*exec.Cmd), args ...string) result {
	t.Helper()
	logFile := filepath.Join(testDir(t, "init-log"), "berth.log")
	if adjust == nil {
		adjust = func(*exec.Cmd) {}
	}
	res := r.runCmd(adjust, append([]string{"--debug", "--log", logFile}, args...)...)
	if args[0] == "run" || args[0] == "create" {
		data, _ := os.ReadFile(logFile)
		if log := string(data); res.code == 0 && !strings.Contains(log, "create: init: plan received") {
			t.Errorf("the init's steps are not in the log:\n%s", log)
		}
	}
	return res
}

// runOnce runs the bundle (`run`) and returns the result, the container's
// id replaced by ID.
func runOnce(t *testing.T, r *runtime, b *bundle, adjust func(*exec.Cmd)) result {
	t.Helper()
	b.write(t)
	id := r.newID()
	res := initCall(t, r, adjust, "run", "--bundle", b.dir, id)
	res.stdout = strings.ReplaceAll(res.stdout, id, "ID")
	res.stderr = strings.ReplaceAll(res.stderr, id, "ID")
	return res
}

// okOutput fails unless the run exited 0, and gives its output.
func okOutput(t *testing.T, res result) string {
	t.Helper()
	if res.code != 0 {
		t.Fatalf("run: %s", res)
	}
	return res.stdout
}

// hookProbe is a hook (host or container /bin/sh) that records, in dir,
// what it got: stdin (the state), args, environment and working directory.
func hookProbe(kind, dir string, env []string) specs.Hook {
	timeout := 10
	return specs.Hook{
		Path: "/bin/sh",
		Args: []string{"sh", "-c", `cat > "$1/$2.json"; echo "$@" > "$1/$2.args"; env | sort > "$1/$2.env"; pwd > "$1/$2.cwd"; echo "$2" >> "$1/order"`,
			"sh", dir, kind},
		Env:     env,
		Timeout: &timeout,
	}
}

var statePid = regexp.MustCompile(`"pid":[0-9]+`)

// TestCInitHooks: createContainer and startContainer hooks run from the
// init with what the spec gives them: the state, args, env (a
// startContainer hook without env gets the process's), working directory,
// order.
func TestCInitHooks(t *testing.T) {
	r := newRuntime(t)
	var record string
	dir := testDir(t, "cinit-hooks")
	b := newShBundle(t, "echo workload")
	b.addMount(specs.Mount{Destination: dir, Type: "bind", Source: dir, Options: []string{"bind"}})
	b.spec.Process.Env = append(b.spec.Process.Env, "X=1", "X=2")
	b.spec.Hooks = &specs.Hooks{
		CreateContainer: []specs.Hook{hookProbe("createContainer", dir, []string{"A=1", "PATH=/bin:/usr/bin", "A=2"})},
		StartContainer: []specs.Hook{
			hookProbe("startContainer", dir, []string{"B=1"}),
			hookProbe("startContainer-noenv", dir, nil),
		},
	}
	b.write(t)
	id := r.newID()
	res := initCall(t, r, nil, "run", "--bundle", b.dir, id)
	if res.code != 0 || !strings.Contains(res.stdout, "workload") {
		t.Fatalf("run: %s", res)
	}
	var all strings.Builder
	for _, kind := range []string{"createContainer", "startContainer", "startContainer-noenv"} {
		for _, what := range []string{"json", "args", "env", "cwd"} {
			data, err := os.ReadFile(filepath.Join(dir, kind+"."+what))
			if err != nil {
				t.Fatalf("%s hook: %v", kind, err)
			}
			text := strings.NewReplacer(id, "ID", dir, "DIR", b.dir, "BUNDLE").Replace(string(data))
			fmt.Fprintf(&all, "%s.%s: %s\n", kind, what, statePid.ReplaceAllString(text, `"pid":N`))
		}
	}
	order, _ := os.ReadFile(filepath.Join(dir, "order"))
	all.WriteString("order: " + string(order))
	record = all.String()
	for _, want := range []string{
		`createContainer.json: {"ociVersion":"` + specs.Version + `","id":"ID","status":"creating","pid":N,"bundle":"BUNDLE"}`,
		`startContainer.json: {"ociVersion":"` + specs.Version + `","id":"ID","status":"created","pid":N,"bundle":"BUNDLE"}`,
		"createContainer.cwd: BUNDLE/rootfs", "startContainer.cwd: /",
		"createContainer.env: A=2\nPATH=/bin:/usr/bin", "startContainer.env: B=1",
		"startContainer-noenv.env: HOME=/root", "X=2", "createContainer.args: DIR createContainer",
		"order: createContainer\nstartContainer\nstartContainer-noenv",
	} {
		if !strings.Contains(record, want) {
			t.Errorf("%q missing from\n%s", want, record)
		}
	}
}

// TestCInitHookFailures: a hook that fails, is killed, times out or cannot
// be started fails create (or start) with one line; a timed-out hook's
// whole process group is killed.
func TestCInitHookFailures(t *testing.T) {
	r := newRuntime(t)
	sh := func(script string) specs.Hook {
		return specs.Hook{Path: "/bin/sh", Args: []string{"sh", "-c", script}}
	}
	one := 1
	late := testDir(t, "late")
	timed := sh(`(sleep 2; touch "` + late + `/$0") & sleep 30`)
	timed.Timeout = &one
	for _, tc := range []struct {
		name    string
		start   bool // a startContainer hook: start fails, not create
		nomnt   bool // no mount namespace
		hooks   []specs.Hook
		want    string
		withArg bool
	}{
		{name: "exit status and stderr", hooks: []specs.Hook{sh("echo out; echo e1 >&2; echo e2 >&2; echo '  e3  ' >&2; echo >&2; echo e4 >&2; exit 7")},
			want: `rootfs: createContainer hook [0] "/bin/sh": exit status 7: e2; e3; e4`},
		{name: "stdout", hooks: []specs.Hook{sh("echo only-out; exit 3")},
			want: `rootfs: createContainer hook [0] "/bin/sh": exit status 3: only-out`},
		{name: "silent", hooks: []specs.Hook{sh("true"), sh("exit 9")},
			want: `rootfs: createContainer hook [1] "/bin/sh": exit status 9`},
		{name: "signal", hooks: []specs.Hook{sh("kill -TERM $$")},
			want: `rootfs: createContainer hook [0] "/bin/sh": signal: terminated`},
		{name: "timeout", hooks: []specs.Hook{timed}, withArg: true,
			want: `rootfs: createContainer hook [0] "/bin/sh": timed out after 1s`},
		{name: "not found", hooks: []specs.Hook{{Path: "/no/such/hook"}},
			want: `rootfs: createContainer hook [0] "/no/such/hook": fork/exec /no/such/hook: no such file or directory`},
		{name: "no mount namespace", nomnt: true, hooks: []specs.Hook{sh("echo nope >&2; exit 5")},
			want: `createContainer hook [0] "/bin/sh": exit status 5: nope`},
		{name: "startContainer", start: true, hooks: []specs.Hook{sh("true"), sh("echo not now >&2; exit 4")},
			want: `startContainer hook [1] "/bin/sh": exit status 4: not now`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b *bundle
			if tc.nomnt {
				b = noMountBundle(t, "true")
			} else {
				b = newBundle(t, "true")
			}
			hs := append([]specs.Hook{}, tc.hooks...)
			if tc.withArg {
				hs[0].Args = append(append([]string{}, hs[0].Args...), "timed")
			}
			if tc.start {
				b.spec.Hooks = &specs.Hooks{StartContainer: hs}
			} else {
				b.spec.Hooks = &specs.Hooks{CreateContainer: hs}
			}
			b.write(t)
			id := r.newID()
			before := hostMounts()
			res := initCall(t, r, nil, "create", "--bundle", b.dir, id)
			if tc.start {
				if res.code != 0 {
					t.Fatalf("create: %s", res)
				}
				res = r.run("start", id)
				r.forceDelete(id)
			}
			assertErrorLine(t, res, tc.want)
			if !tc.start {
				assertNothingLeft(t, r, id, before)
			}
		})
	}
	sleepMs(2500)
	if names, _ := os.ReadDir(late); len(names) != 0 {
		t.Errorf("a process the timed-out hook started outlived it: %v", names)
	}
}

// TestCInitNoMountNamespace: a container sharing the host's mount
// namespace is chrooted by the init, after its createContainer hooks,
// which run in the rootfs.
func TestCInitNoMountNamespace(t *testing.T) {
	r := newRuntime(t)
	dir := testDir(t, "nomnt-hook")
	b := noMountBundle(t, "sh", "-c", "pwd; ls /; hostname; cat /from-hook")
	hook := specs.Hook{Path: "/bin/sh", Args: []string{"sh", "-c", `pwd > "$0/cwd-$$"; cat > /dev/null; echo hook-ran > from-hook`, dir}}
	b.spec.Hooks = &specs.Hooks{CreateContainer: []specs.Hook{hook}}
	out := okOutput(t, runOnce(t, r, b, nil))
	if want := "/\nbin\ndev\netc\nfrom-hook\nhome\nmnt\nproc\nroot\nsys\ntmp\nberth-test\nhook-ran\n"; out != want {
		t.Errorf("container: %q, want %q", out, want)
	}
	names, _ := os.ReadDir(dir)
	for _, n := range names {
		if cwd, _ := os.ReadFile(filepath.Join(dir, n.Name())); strings.TrimSpace(string(cwd)) != b.rootfs {
			t.Errorf("the createContainer hook ran in %q, want the rootfs %s", cwd, b.rootfs)
		}
	}
	if len(names) != 1 {
		t.Errorf("the hook ran %d times, want once", len(names))
	}
}

// rootTags are the propagation tags of the container's / for each
// linux.rootfsPropagation, on a private rootfs and on a shared one (whose
// copy the default rslave makes a slave of). With an unbindable
// propagation, create on the hybrid host fails binding the rootfs (the
// test accepts that error), while in the v2 VM / is unbindable. runc 1.1.5
// agrees but for shared, rshared and unbindable, which it does not set on
// the container's / after the pivot.
var rootTags = map[bool]map[string]string{
	false: {"": "", "shared": "shared ", "slave": "", "private": "", "unbindable": "unbindable ",
		"rshared": "shared ", "rslave": "", "rprivate": ""},
	true: {"": "master ", "shared": "shared ", "slave": "", "private": "", "unbindable": "unbindable ",
		"rshared": "shared ", "rslave": "master ", "rprivate": ""},
}

// rootProbe prints the propagation of the container's / (its tags without
// the peer group numbers), and whether a bind inside reaches the host.
const rootProbe = `awk '$5 == "/" { s = ""; for (i = 7; $i != "-"; i++) { t = $i; sub(/:[0-9]+$/, "", t); s = s t " " }; print "root:", s }' /proc/self/mountinfo`

// TestCInitRootfsPropagation: every linux.rootfsPropagation value gives the
// container's / that propagation, also where the rootfs is a shared mount
// of its own, which pivot_root refuses unless it is made private first
// (the parent decides that from its mount table), and the host's mount
// table stays as it was.
func TestCInitRootfsPropagation(t *testing.T) {
	r := newRuntime(t)
	values := []string{"", "shared", "slave", "private", "unbindable", "rshared", "rslave", "rprivate", "runbindable"}
	for _, sharedRootfs := range []bool{false, true} {
		for _, v := range values {
			t.Run(fmt.Sprintf("%q shared rootfs %v", v, sharedRootfs), func(t *testing.T) {
				b := newShBundle(t, rootProbe)
				b.spec.Linux.RootfsPropagation = v
				var adjust func(*exec.Cmd)
				if sharedRootfs {
					// In a mount namespace of the test's own: the rootfs
					// made a shared mount on itself.
					const wrap = `mount --bind "$1" "$1" && mount --make-shared "$1" && shift && exec "$@"`
					adjust = func(c *exec.Cmd) {
						c.Args = append([]string{"sh", "-c", wrap, "sh", b.rootfs}, c.Args...)
						c.Path = "/bin/sh"
						c.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
					}
				}
				before := hostMounts()
				c := runOnce(t, r, b, adjust)
				if c.code != 0 && strings.HasSuffix(v, "unbindable") {
					// An unbindable rootfs (or one on an unbindable /)
					// cannot be bound on itself.
					assertErrorLine(t, c, "bind mount rootfs")
					return
				}
				out := okOutput(t, c)
				if want := "root: " + rootTags[sharedRootfs][v] + "\n"; out != want {
					t.Errorf("probe printed %q, want %q", out, want)
				}
				if after := hostMounts(); len(after) != len(before) {
					t.Errorf("host mount table changed from %d to %d entries", len(before), len(after))
				}
			})
		}
	}
}

// TestCInitTmpcopyup: a tmpfs with tmpcopyup gets a copy of what it covers
// (modes, owners, set-id bits, symlinks not followed, FIFOs, nested
// directories), read-only after the copy when asked.
func TestCInitTmpcopyup(t *testing.T) {
	r := newRuntime(t)
	b := newShBundle(t, `for d in /data /ro; do
	find $d | sort | while read f; do stat -c '%n %a %u %g %F %s' "$f"; done
	readlink $d/abs; readlink $d/rel; cat $d/f $d/sub/g
done
touch /data/new && echo data-writable; touch /ro/new 2>/dev/null || echo ro-refused
awk '$5 == "/data" || $5 == "/ro" { print $5, $6, $(NF-2) }' /proc/self/mountinfo`)
	for _, top := range []string{"data", "ro"} {
		d := filepath.Join(b.rootfs, top)
		writeFile(t, filepath.Join(d, "f"), "hello\n")
		writeFile(t, filepath.Join(d, "suid"), "x")
		writeFile(t, filepath.Join(d, "sub", "g"), "nested\n")
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		must(os.Chown(filepath.Join(d, "f"), 1000, 1000))
		must(os.Chmod(filepath.Join(d, "f"), 0o640))
		must(os.Chmod(filepath.Join(d, "suid"), os.ModeSetuid|os.ModeSetgid|0o755))
		must(os.Chown(filepath.Join(d, "sub"), 5, 6))
		must(os.Chmod(filepath.Join(d, "sub"), 0o700))
		must(os.Symlink("/etc/passwd", filepath.Join(d, "abs")))
		must(os.Symlink("../../../../etc/shadow", filepath.Join(d, "rel")))
		must(os.Lchown(filepath.Join(d, "rel"), 7, 8))
		must(unix.Mkfifo(filepath.Join(d, "p"), 0o620))
		must(os.Mkdir(filepath.Join(d, "e"), 0o755))
		must(os.Chmod(filepath.Join(d, "e"), os.ModeSticky|0o777))
		must(os.Chown(d, 11, 12))
		must(os.Chmod(d, 0o750))
	}
	// To read and write what the owners keep to themselves.
	b.setCaps([]string{"CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_KILL"})
	b.addMount(specs.Mount{Destination: "/data", Type: "tmpfs", Source: "tmpfs", Options: []string{"tmpcopyup", "size=1m"}})
	b.addMount(specs.Mount{Destination: "/ro", Type: "tmpfs", Source: "tmpfs", Options: []string{"tmpcopyup", "ro", "nosuid"}})
	out := okOutput(t, runOnce(t, r, b, nil))
	for _, want := range []string{
		"/data 750 11 12 directory", "/data/f 640 1000 1000 regular file 6", "/data/suid 6755 0 0 regular file 1",
		"/data/sub 700 5 6 directory", "/data/sub/g 644 0 0", "/data/abs 777 0 0 symbolic link", "/data/rel 777 7 8 symbolic link",
		"/data/e 1777 0 0 directory", "/etc/passwd\n../../../../etc/shadow\nhello\nnested",
		"data-writable", "ro-refused", "/data rw,", "/ro ro,",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("%q missing from\n%s", want, out)
		}
	}
	// A FIFO's mode is mknod's, under the umask.
	if !regexp.MustCompile(`/data/p [0-7]+ 0 0 fifo`).MatchString(out) {
		t.Errorf("no FIFO /data/p in\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(b.rootfs, "data", "new")); err == nil {
		t.Errorf("a write to the tmpfs reached the directory underneath")
	}

	// A device node under it is never made again in the tmpfs (the
	// directory may be on a nodev mount, the tmpfs is not): one line.
	if err := unix.Mknod(filepath.Join(b.rootfs, "data", "sub", "null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err != nil {
		t.Fatal(err)
	}
	res := runOnce(t, r, b, nil)
	assertErrorLine(t, res, `mount "tmpfs" on "/data"`, "tmpcopyup: sub: null: a device node (1:3), which tmpcopyup does not copy")
}

// TestCInitOverlay: an overlay rootfs is mounted by the init, writes go to
// the bundle's upper directory, nothing shows on the host, and a bundle
// without its upper directory is refused with one line.
func TestCInitOverlay(t *testing.T) {
	r := newRuntime(t)
	layout := overlayImage(t)
	store := testDir(t, "layers")
	b := testDir(t, "ovl-bundle")
	r.mustRun("bundle", "--image", layout+":v1", "--overlay", "--layers", store, b)
	res := initCall(t, r, nil, "run", "--bundle", b, r.newID())
	if res.code != 0 {
		t.Fatalf("run: %s", res)
	}
	wantOverlayOutput(t, lines(res.stdout))
	if data, err := os.ReadFile(filepath.Join(b, "upper", "written")); err != nil || string(data) != "written\n" {
		t.Errorf("upper/written: %q, %v", data, err)
	}
	if m := mountsUnder(b); len(m) != 0 {
		t.Errorf("the overlay is visible on the host: %q", m)
	}
	if err := os.RemoveAll(filepath.Join(b, "upper")); err != nil {
		t.Fatal(err)
	}
	res = initCall(t, r, nil, "run", "--bundle", b, r.newID())
	assertErrorLine(t, res, "annotation berth.rootfs.overlay: the bundle needs the directory")
}
