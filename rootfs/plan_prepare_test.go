package rootfs

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"berth/internal/mountinfo"
	"berth/nsenter"
)

// sharedTable: "/" is shared, /b a private mount, /s a shared one and /v
// a slave.
const sharedTable = `1 0 254:0 / / rw shared:1 - ext4 /dev/vda rw
2 1 0:40 / /b rw - tmpfs tmpfs rw
3 1 0:41 / /s rw shared:7 - tmpfs tmpfs rw
4 1 0:42 / /v rw master:7 - tmpfs tmpfs rw
`

// TestSharedAfter: whether the mount holding the rootfs is still shared
// after the propagation change of "/": a recursive change decides for
// every mount, any other only for the mount on "/"; the rest keep what
// this (copied) table says.
func TestSharedAfter(t *testing.T) {
	mounts, err := mountinfo.Parse(strings.NewReader(sharedTable))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		holding uint64
		prop    string
		shared  bool
	}{
		{1, "shared", true}, {1, "slave", false}, {1, "private", false}, {1, "unbindable", false},
		{1, "rshared", true}, {1, "rslave", false}, {1, "rprivate", false}, {1, "runbindable", false},
		{2, "shared", false}, {2, "slave", false}, {2, "private", false}, {2, "rshared", true},
		{3, "shared", true}, {3, "slave", true}, {3, "private", true}, {3, "unbindable", true},
		{3, "rshared", true}, {3, "rslave", false}, {3, "rprivate", false},
		{4, "private", false}, {4, "rshared", true},
	} {
		prop, err := rootPropagation(tc.prop)
		if err != nil {
			t.Fatal(err)
		}
		mp, shared, err := sharedAfter(mounts, tc.holding, 1, prop)
		if err != nil || shared != tc.shared || mp != mounts[tc.holding-1].Mountpoint {
			t.Errorf("mount %d, %s: %q shared %v (%v), want shared %v", tc.holding, tc.prop, mp, shared, err, tc.shared)
		}
	}
	if _, _, err := sharedAfter(mounts, 9, 1, unix.MS_PRIVATE); err == nil || err.Error() != "not found in /proc/self/mountinfo" {
		t.Errorf("a mount not in the table: %v", err)
	}
}

// withMountIDs makes the rootfs package see holding and root as the mount
// ids of the rootfs and of "/" until the test ends.
func withMountIDs(t *testing.T, holding, root uint64) {
	old := mountIDs
	mountIDs = func(prefix, _ string) (uint64, uint64, error) {
		if prefix != "" {
			t.Errorf("mount ids read below %q, want this mount namespace's", prefix)
		}
		return holding, root, nil
	}
	t.Cleanup(func() { mountIDs = old })
}

func opCodes(ops []PlanOp) []uint32 {
	var codes []uint32
	for _, op := range ops {
		if op.Code != nsenter.OpMark {
			codes = append(codes, op.Code)
		}
	}
	return codes
}

// TestPlanPrepare: between the propagation change of "/" and the rootfs
// bind come the private parent and the overlay, when there are any; with
// the default propagation the mount table is not even read.
func TestPlanPrepare(t *testing.T) {
	withMountTable(t, sharedTable)
	withMountIDs(t, 3, 1)
	c := &Config{Rootfs: "/s/rootfs", Spec: &specs.Spec{Linux: &specs.Linux{}}}
	head := func() []PlanOp {
		t.Helper()
		ops, err := PlanSetup(c)
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(ops, func(op PlanOp) bool { return op.Code == nsenter.OpMark })
		return ops[:i]
	}

	// Default rslave: one op, nothing read.
	mountTable = func(string) ([]mountinfo.Mount, error) { t.Fatal("mount table read for rslave"); return nil, nil }
	if ops := head(); len(ops) != 1 || ops[0].Code != nsenter.OpPrepare || ops[0].N[2] != 0 || ops[0].N[0] != unix.MS_SLAVE|unix.MS_REC {
		t.Errorf("default: %+v", ops)
	}
	withMountTable(t, sharedTable)

	c.Spec.Linux.RootfsPropagation = "private"
	ops := head()
	if !slices.Equal(opCodes(ops), []uint32{nsenter.OpPrepare, nsenter.OpPrivate, nsenter.OpRootBind}) {
		t.Fatalf("private on a shared /s: %+v", ops)
	}
	if ops[0].N[2] != nsenter.BitNoBind || ops[0].N[0] != unix.MS_PRIVATE || ops[0].S[4] != "private" ||
		ops[1].S != [6]string{"/s", "/s/rootfs"} || ops[2].S[0] != "/s/rootfs" {
		t.Errorf("private on a shared /s: %+v", ops)
	}
	withMountIDs(t, 2, 1)
	if ops := head(); len(ops) != 1 || ops[0].N[2] != 0 {
		t.Errorf("private on a private /b: %+v", ops)
	}
	c.Spec.Linux.RootfsPropagation = "rshared"
	if ops := head(); !slices.Equal(opCodes(ops), []uint32{nsenter.OpPrepare, nsenter.OpPrivate, nsenter.OpRootBind}) || ops[1].S[0] != "/b" {
		t.Errorf("rshared: %+v", ops)
	}
	withMountIDs(t, 9, 1)
	if _, err := PlanSetup(c); err == nil || err.Error() != `prepare rootfs "/s/rootfs": mount 9 holding "/s/rootfs" not found in /proc/self/mountinfo` {
		t.Errorf("a holding mount not in the table: %v", err)
	}
	c.Spec.Linux.RootfsPropagation = ""

	// An overlay: the lowers for the mount API, or mount(2)'s options.
	bundle := t.TempDir()
	lower := t.TempDir()
	c.Bundle = bundle
	c.Spec.Annotations = map[string]string{OverlayAnnotation: `["` + lower + `","/"]`}
	if _, err := PlanSetup(c); err == nil || !strings.Contains(err.Error(), "the bundle needs the directory") {
		t.Errorf("no upper directory: %v", err)
	}
	for _, d := range []string{OverlayUpper, OverlayWork} {
		if err := os.Mkdir(filepath.Join(bundle, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	ops = head()
	if !slices.Equal(opCodes(ops), []uint32{nsenter.OpPrepare, nsenter.OpOverlay, nsenter.OpRootBind}) || ops[0].N[2] != nsenter.BitNoBind {
		t.Fatalf("overlay: %+v", ops)
	}
	upper, work := filepath.Join(bundle, OverlayUpper), filepath.Join(bundle, OverlayWork)
	if o := ops[1]; o.N[0] != 2 || o.S != [6]string{"/s/rootfs", upper, work, "", "annotation " + OverlayAnnotation} ||
		len(o.V) != 1 || !slices.Equal(o.V[0], []string{lower, "/"}) {
		t.Errorf("overlay: %+v", o)
	}
	old := kernelHasLowerdirPlus
	kernelHasLowerdirPlus = func() bool { return false }
	defer func() { kernelHasLowerdirPlus = old }()
	if o := head()[1]; o.S[3] != "lowerdir="+lower+":/,upperdir="+upper+",workdir="+work {
		t.Errorf("overlay before Linux 6.8: %+v", o)
	}
	c.UserNS = true
	if _, err := PlanSetup(c); err == nil || !strings.Contains(err.Error(), "cannot be used with a user namespace") {
		t.Errorf("overlay in a user namespace: %v", err)
	}
	c.UserNS = false
	c.Bundle = ""
	if _, err := PlanSetup(c); err == nil || !strings.Contains(err.Error(), "no bundle directory") {
		t.Errorf("overlay without a bundle: %v", err)
	}
}

// TestPlanCopyUp: a tmpfs with tmpcopyup is mounted writable for the copy
// and made read-only after it when asked; other types ignore the option.
func TestPlanCopyUp(t *testing.T) {
	c := &Config{Rootfs: "/r", Spec: &specs.Spec{Linux: &specs.Linux{}, Mounts: []specs.Mount{
		{Destination: "/a", Type: "tmpfs", Options: []string{"tmpcopyup", "nosuid"}},
		{Destination: "/b", Type: "tmpfs", Options: []string{"tmpcopyup", "ro", "nodev"}},
		{Destination: "/c", Type: "tmpfs", Options: []string{"ro"}},
		{Destination: "/d", Type: "mqueue", Options: []string{"tmpcopyup"}},
	}}}
	ops, err := PlanSetup(c)
	if err != nil {
		t.Fatal(err)
	}
	byDest := map[string]PlanOp{}
	for _, op := range ops {
		if op.Code == nsenter.OpFresh {
			byDest[op.S[0]] = op
		}
	}
	for dest, want := range map[string][2]uint64{
		"/a": {unix.MS_NOSUID, nsenter.BitCopyUp},
		"/b": {unix.MS_NODEV, nsenter.BitCopyUp | nsenter.BitCopyUpRO},
		"/c": {unix.MS_RDONLY, 0},
		"/d": {0, 0},
	} {
		if op := byDest[dest]; op.N[0] != want[0] || op.N[2] != want[1] {
			t.Errorf("%s: flags %#x bits %#x, want %#x %#x", dest, op.N[0], op.N[2], want[0], want[1])
		}
	}
}

// TestPlanBeforePivotOps: the createContainer hooks go right after the
// hooks point, before the --no-pivot detaches and the pivot.
func TestPlanBeforePivotOps(t *testing.T) {
	withMountTable(t, goldenMounts)
	hook := PlanOp{Code: nsenter.OpHook, S: [6]string{"/hook"}, V: [][]string{{"/hook"}, nil}}
	c := &Config{Rootfs: "/b/rootfs", NoPivot: true, Spec: &specs.Spec{Linux: &specs.Linux{}}, BeforePivotOps: []PlanOp{hook, hook}}
	ops, err := PlanSetup(c)
	if err != nil {
		t.Fatal(err)
	}
	codes := opCodes(ops)
	i := slices.Index(codes, nsenter.OpHooks)
	if i < 0 || !slices.Equal(codes[i:i+4], []uint32{nsenter.OpHooks, nsenter.OpHook, nsenter.OpHook, nsenter.OpDetach}) {
		t.Errorf("ops %v: want the hooks point, the two hooks, then the detaches", codes)
	}
}

// TestPlanJoinedMountNS: with a joined mount namespace the mount facts
// (ids, table, cgroup filesystem) are read through the init's /proc/<pid>
// once it is known, and the plan is the one a new mount namespace gets:
// every rootfs step, in the same order, in the joined namespace.
func TestPlanJoinedMountNS(t *testing.T) {
	mounts, err := mountinfo.Parse(strings.NewReader(sharedTable))
	if err != nil {
		t.Fatal(err)
	}
	var read []string
	oldT, oldI, oldF := mountTable, mountIDs, cgroupFSType
	t.Cleanup(func() { mountTable, mountIDs, cgroupFSType = oldT, oldI, oldF })
	mountTable = func(proc string) ([]mountinfo.Mount, error) { read = append(read, "table "+proc); return mounts, nil }
	mountIDs = func(prefix, path string) (uint64, uint64, error) {
		read = append(read, "ids "+prefix+path)
		return 3, 1, nil
	}
	cgroupFSType = func(root string) (int64, error) {
		read = append(read, "statfs "+root)
		return unix.CGROUP2_SUPER_MAGIC, nil
	}
	spec := &specs.Spec{
		Linux:  &specs.Linux{RootfsPropagation: "private"},
		Mounts: []specs.Mount{{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup"}},
	}
	asked := 0
	joined := &Config{Rootfs: "/s/rootfs", Spec: spec, NoPivot: true, OwnCgroups: map[string]string{"": "/c1"},
		JoinedMountNS: true, InitPid: func() (int, error) { asked++; return 42, nil }}
	plan := func(c *Config) []PlanOp {
		t.Helper()
		ops, err := PlanSetup(c)
		if err == nil {
			ops, err = ResolveCgroups(c, ops)
		}
		if err != nil {
			t.Fatal(err)
		}
		return ops
	}
	got := plan(joined)
	want := []string{"ids /proc/42/root/s/rootfs", "table /proc/42", "table /proc/42", "statfs /proc/42/root"}
	if !slices.Equal(read, want) || asked == 0 {
		t.Errorf("joined: facts read %q (pid asked %d times), want %q", read, asked, want)
	}
	read = nil
	fresh := *joined
	fresh.JoinedMountNS = false
	if w := plan(&fresh); !reflect.DeepEqual(got, w) {
		t.Errorf("joined plan:\n%+v\nwant the new namespace's:\n%+v", got, w)
	}
	// The --no-pivot list is read in the init's own namespace, new or
	// joined: the init checks its mount ids.
	if want := []string{"ids /s/rootfs", "table ", "table /proc/42", "statfs "}; !slices.Equal(read, want) {
		t.Errorf("new namespace: facts read %q, want %q", read, want)
	}
	// The init's pid is not known (create failed meanwhile): no plan.
	joined.InitPid = func() (int, error) { return 0, errors.New("create failed") }
	if _, err := PlanSetup(joined); err == nil || err.Error() != `prepare rootfs "/s/rootfs": create failed` {
		t.Errorf("no pid: %v", err)
	}
}

// A joined mount namespace is read below /proc/<pid>/root: a symlink there
// resolves inside that root, as the init resolves it, never in the
// parent's (here a directory stands in for the init's root).
func TestMountIDsInRoot(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "real", "rootfs"), 0o755); err != nil {
		t.Fatal(err)
	}
	// An absolute link: taken from the parent's root it names a path the
	// host does not have, or one of the host's.
	if err := os.Symlink("/real", filepath.Join(root, "bundle")); err != nil {
		t.Fatal(err)
	}
	holding, rootID, err := mountIDs(root, "/bundle/rootfs")
	if err != nil {
		t.Fatalf("mountIDs below %s: %v", root, err)
	}
	want, _, err := mountIDOf(unix.AT_FDCWD, filepath.Join(root, "real", "rootfs"))
	if err != nil {
		t.Fatal(err)
	}
	wantRoot, _, err := mountIDOf(unix.AT_FDCWD, root)
	if err != nil {
		t.Fatal(err)
	}
	if holding != want || rootID != wantRoot {
		t.Errorf("mount ids below %s: %d, %d, want %d, %d", root, holding, rootID, want, wantRoot)
	}
	if err := os.MkdirAll(filepath.Join(root, "sys", "fs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/real", filepath.Join(root, cgroupRoot)); err != nil {
		t.Fatal(err)
	}
	var sfs unix.Statfs_t
	if err := unix.Statfs(root, &sfs); err != nil {
		t.Fatal(err)
	}
	if got, err := cgroupFSType(root); err != nil || got != sfs.Type {
		t.Errorf("cgroupFSType below %s: %#x, %v, want %#x", root, got, err, sfs.Type)
	}
}
