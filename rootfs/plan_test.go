package rootfs

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"berth/internal/mountinfo"
	"berth/nsenter"
)

// goldenMounts is a host's mount table for the --no-pivot list: full proc
// and sysfs mounts, one of each inside the rootfs, a proc that is not the
// filesystem's root, a second sysfs (on /run), and a rootfs-like prefix
// that is not the rootfs.
const goldenMounts = `22 27 0:21 / /proc rw,relatime - proc proc rw
23 27 0:22 / /sys rw,relatime - sysfs sysfs rw
24 27 0:6 / /dev rw,relatime - devtmpfs devtmpfs rw,mode=755
27 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 22 0:40 / /proc/sys/fs/binfmt_misc rw,relatime - autofs systemd-1 rw
50 27 0:21 /sys /mnt/procsys ro,relatime - proc proc rw
49 27 0:44 / /run rw,nosuid,nodev - tmpfs tmpfs rw
51 49 0:22 / /run/sys\040copy rw,relatime - sysfs sysfs rw
52 27 254:0 /b/rootfs /b/rootfs rw,relatime - ext4 /dev/vda rw
53 52 0:41 / /b/rootfs/proc rw,relatime - proc proc rw
54 52 0:42 / /b/rootfs/sys ro,relatime - sysfs sysfs ro
55 27 0:43 / /b/rootfs2/proc rw,relatime - proc proc rw
`

// withMountTable makes the rootfs package read text as the mount table
// until the test ends.
func withMountTable(t *testing.T, text string) {
	t.Helper()
	mounts, err := mountinfo.Parse(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	old := mountTable
	mountTable = func(proc string) ([]mountinfo.Mount, error) {
		if proc != "" {
			t.Errorf("mount table of %q read, want this mount namespace's", proc)
		}
		return mounts, nil
	}
	t.Cleanup(func() { mountTable = old })
}

// TestPlanSetup: the plan has the rootfs's steps in runc's order, with the
// options parsed, relative bind sources joined with the bundle, the
// checks flagged, /dev left alone when it is a bind mount, the hooks
// point before pivot_root, and with --no-pivot the host's full proc and
// sysfs mounts outside the rootfs taken away right before the move.
func TestPlanSetup(t *testing.T) {
	withMountTable(t, goldenMounts)
	c := &Config{
		Rootfs: "/b/rootfs", Bundle: "/b", NoPivot: true,
		Spec: &specs.Spec{
			Mounts: []specs.Mount{
				{Destination: "proc", Type: "proc", Source: "proc"},
				{Destination: "/data", Type: "bind", Source: "data", Options: []string{"rbind", "ro", "rprivate"}},
				{Destination: "/data", Type: "bind", Source: "data", Options: []string{"remount", "bind", "nosuid"}},
				{Destination: "/t", Type: "tmpfs", Options: []string{"rro", "size=1m"}},
			},
			Linux: &specs.Linux{RootfsPropagation: "rprivate", Devices: []specs.LinuxDevice{{Path: "/dev/fuse", Type: "c", Major: 10, Minor: 229}}},
		},
	}
	ops, err := PlanSetup(c)
	if err != nil {
		t.Fatal(err)
	}
	var codes []uint32
	for _, op := range ops {
		if op.Code != nsenter.OpMark {
			codes = append(codes, op.Code)
		}
	}
	want := []uint32{nsenter.OpPrepare, nsenter.OpFresh, nsenter.OpBind, nsenter.OpRemount, nsenter.OpFresh}
	for range defaultDevices {
		want = append(want, nsenter.OpDevice)
	}
	want = append(want, nsenter.OpDevice, nsenter.OpDevLinks, nsenter.OpHooks,
		nsenter.OpDetach, nsenter.OpDetach, nsenter.OpDetach, nsenter.OpDetach, nsenter.OpPivot, nsenter.OpRootPropagation)
	if !slices.Equal(codes, want) {
		t.Fatalf("ops %v, want %v", codes, want)
	}
	// Deepest first, each with its mount id and its parent's.
	detached := func(ops []PlanOp) []string {
		var out []string
		for _, op := range ops {
			if op.Code == nsenter.OpDetach {
				out = append(out, fmt.Sprintf("%d %s %s %d %s %d", op.N[0], op.S[0], op.S[1], op.N[1], op.S[2], op.N[2]))
			}
		}
		return out
	}
	if got, want := detached(ops), []string{"51 /run/sys copy sysfs 49 /run 0", "22 /proc proc 27 / 0", "23 /sys sysfs 27 / 0", "55 /b/rootfs2/proc proc 27 / 0"}; !slices.Equal(got, want) {
		t.Errorf("--no-pivot detaches %q, want %q", got, want)
	}
	// In a user namespace the copies are locked: covered, not unmounted;
	// in a joined mount namespace of one, covered where the unmount is
	// refused.
	c.UserNS = true
	if ops, err = PlanSetup(c); err != nil {
		t.Fatal(err)
	}
	if got := detached(ops); len(got) != 4 || got[1] != "22 /proc proc 27 / "+fmt.Sprint(nsenter.BitCover) {
		t.Errorf("user namespace: %q", got)
	}
	c.JoinedMountNS = true
	mountTableWas := mountTable
	mountTable = func(string) ([]mountinfo.Mount, error) { return mountTableWas("") }
	if ops, err = PlanSetup(c); err != nil {
		t.Fatal(err)
	}
	if got := detached(ops); len(got) != 4 || got[1] != "22 /proc proc 27 / "+fmt.Sprint(nsenter.BitCoverOnEINVAL) {
		t.Errorf("joined mount namespace, user namespace: %q", got)
	}
	mountTable = mountTableWas
	c.UserNS, c.JoinedMountNS = false, false
	ops, _ = PlanSetup(c)
	proc, bind, remount, tmpfs := ops[2], ops[3], ops[4], ops[5]
	if remount.Code != nsenter.OpRemount || remount.N[2]&nsenter.BitRemount == 0 {
		t.Errorf("a bind remount keeps the locked flags (remount_bind): %+v", remount)
	}
	if proc.S[0] != "/proc" || proc.N[2]&nsenter.BitPlainDir == 0 || proc.S[4] != "spec mounts[0]" {
		t.Errorf("proc: %+v", proc)
	}
	if bind.S[2] != "/b/data" || bind.S[5] != "data" || bind.N[0]&unix.MS_REC == 0 || bind.N[2]&nsenter.BitRemount == 0 ||
		len(bind.Prop) != 1 || bind.Prop[0] != unix.MS_PRIVATE|unix.MS_REC {
		t.Errorf("bind: %+v", bind)
	}
	if tmpfs.S[3] != "size=1m" || tmpfs.N[2]&nsenter.BitAttr == 0 || tmpfs.N[3]&unix.MOUNT_ATTR_RDONLY == 0 || tmpfs.S[5] != "tmpfs" {
		t.Errorf("tmpfs: %+v", tmpfs)
	}
	if p := ops[len(ops)-3]; p.Code != nsenter.OpPivot || p.N[2]&nsenter.BitNoPivot == 0 || p.S[0] != "/b/rootfs" {
		t.Errorf("pivot: %+v", p)
	}

	c.NoPivot = false
	if ops, _ = PlanSetup(c); slices.ContainsFunc(ops, func(op PlanOp) bool { return op.Code == nsenter.OpDetach }) {
		t.Errorf("pivot_root detaches host mounts one by one")
	}
	c.Rootfs = "/"
	c.NoPivot = true
	if ops, _ = PlanSetup(c); slices.ContainsFunc(ops, func(op PlanOp) bool { return op.Code == nsenter.OpDetach }) {
		t.Errorf("a rootfs of / has host mounts outside it")
	}
	c.Rootfs = "/b/rootfs"

	c.Spec.Mounts = append(c.Spec.Mounts, specs.Mount{Destination: "/dev", Type: "bind", Source: "/dev", Options: []string{"rbind"}})
	if ops, _ = PlanSetup(c); slices.ContainsFunc(ops, func(op PlanOp) bool { return op.Code == nsenter.OpDevice }) {
		t.Errorf("a bind-mounted /dev still gets device nodes")
	}
	c.Spec.Mounts = []specs.Mount{{Destination: "/x", Type: "tmpfs", Options: []string{"bogus-opt=1", "nosuchflag"}}}
	if _, err := PlanSetup(c); err != nil {
		t.Errorf("unknown options go to data: %v", err)
	}
	c.Spec.Mounts = []specs.Mount{{Destination: "/x", Type: "bind"}}
	if _, err := PlanSetup(c); err == nil || err.Error() != "spec mounts[0].source: empty for a bind mount" {
		t.Errorf("bind without source: %v", err)
	}
}

// TestPlanMountLabel: linux.mountLabel goes into the data of every fresh
// mount that takes a context= option, of the tmpfs that masks a directory
// and of the v1 cgroup tmpfs; proc, sysfs
// and mqueue keep their data, and an mqueue gets the label as an xattr
// (BitMqueueLabel, after the OpMountLabel that carries it).
func TestPlanMountLabel(t *testing.T) {
	const l = "system_u:object_r:container_file_t:s0:c1,c2"
	ctx := `context="` + l + `"`
	spec := func(label string) *specs.Spec {
		return &specs.Spec{
			Mounts: []specs.Mount{
				{Destination: "/proc", Type: "proc", Source: "proc"},
				{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "mode=755"}},
				{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"newinstance", "ptmxmode=0666"}},
				{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid"}},
				{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"ro"}},
				{Destination: "/data", Type: "bind", Source: "/tmp", Options: []string{"rbind"}},
				{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup"},
			},
			Linux: &specs.Linux{MountLabel: label, MaskedPaths: []string{"/proc/acpi"}},
		}
	}
	c := &Config{Rootfs: "/b/rootfs", Bundle: "/b", Spec: spec(l), OwnCgroupsFrom: func() (map[string]string, error) { return map[string]string{}, nil }}
	ops, err := PlanSetup(c)
	if err != nil {
		t.Fatal(err)
	}
	if ops, err = ResolveCgroups(c, ops); err != nil {
		t.Fatal(err)
	}
	if ops[0].Code != nsenter.OpPrepare || ops[2].Code != nsenter.OpMountLabel || ops[2].S[0] != l {
		t.Fatalf("want OpMountLabel %q right after the prepare step: %+v", l, ops[:3])
	}
	data := map[string]string{}
	var bits = map[string]uint64{}
	for _, op := range ops {
		switch op.Code {
		case nsenter.OpFresh, nsenter.OpCgroup1:
			data[op.S[0]] = op.S[3]
			bits[op.S[0]] = op.N[2]
		case nsenter.OpBind:
			if op.S[3] != "" {
				t.Errorf("bind mount with data %q", op.S[3])
			}
		}
	}
	for dest, want := range map[string]string{
		"/proc": "", "/dev": "mode=755," + ctx, "/dev/pts": "newinstance,ptmxmode=0666," + ctx,
		"/dev/mqueue": "", "/sys": "",
	} {
		if data[dest] != want {
			t.Errorf("%s: data %q, want %q", dest, data[dest], want)
		}
	}
	if bits["/dev/mqueue"]&nsenter.BitMqueueLabel == 0 || bits["/dev"]&nsenter.BitMqueueLabel != 0 {
		t.Errorf("BitMqueueLabel: mqueue %#x, tmpfs %#x", bits["/dev/mqueue"], bits["/dev"])
	}
	// A v1 host mounts a tmpfs for the hierarchies (v2: cgroup2 takes no context=).
	t.Logf("cgroup mount data: %q", data["/sys/fs/cgroup"])
	if d, ok := data["/sys/fs/cgroup"]; ok && d != "mode=755,"+ctx {
		t.Errorf("cgroup v1 tmpfs: data %q", d)
	}
	if fin := PlanFinalize(c); len(fin) != 1 || fin[0].Code != nsenter.OpMask || fin[0].S[3] != ctx {
		t.Errorf("masked directory tmpfs: %+v", fin)
	}

	// Without a label: the data as the spec gives it, no label op or bit.
	c.Spec = spec("")
	ops, _ = PlanSetup(c)
	ops, _ = ResolveCgroups(c, ops)
	for _, op := range ops {
		if op.Code == nsenter.OpMountLabel || op.N[2]&nsenter.BitMqueueLabel != 0 && op.Code == nsenter.OpFresh ||
			strings.Contains(op.S[3], "context=") {
			t.Errorf("no mountLabel: %+v", op)
		}
		if op.Code == nsenter.OpCgroup1 && op.S[3] != "mode=755" {
			t.Errorf("cgroup v1 tmpfs without a label: data %q", op.S[3])
		}
	}
	if fin := PlanFinalize(c); fin[0].S[3] != "" {
		t.Errorf("masked directory tmpfs without a label: %+v", fin)
	}
}

// TestPlanUserNS: in a user namespace the plan names mountFresh's
// fallbacks (sysfs and mqueue: a bind of the host's instance, in an
// OP_HOSTBIND right after the mount it stands in for, which asks for it) and
// createDevice's bind mode (every node a bind of the host's); other
// filesystems have none. Without a user namespace there is none of these.
func TestPlanUserNS(t *testing.T) {
	spec := &specs.Spec{
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "ro"}},
			{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"rnodev"}},
			{Destination: "/run", Type: "tmpfs", Source: "tmpfs"},
		},
		Linux: &specs.Linux{Devices: []specs.LinuxDevice{{Path: "/dev/fuse", Type: "c", Major: 10, Minor: 229}}},
	}
	type step struct {
		code uint32
		dest string
		bits uint64 // n[2], n[5] for a device
	}
	plan := func(userNS bool) []step {
		ops, err := PlanSetup(&Config{Spec: spec, Rootfs: "/b/rootfs", UserNS: userNS})
		if err != nil {
			t.Fatal(err)
		}
		var out []step
		for _, op := range ops {
			switch op.Code {
			case nsenter.OpFresh, nsenter.OpHostBind:
				out = append(out, step{op.Code, op.S[0], op.N[2]})
			case nsenter.OpDevice:
				out = append(out, step{op.Code, op.S[0], op.N[5]})
			}
		}
		return out
	}
	var devs []step
	for _, d := range defaultDevices {
		devs = append(devs, step{nsenter.OpDevice, d.path, nsenter.BitDevBind})
	}
	devs = append(devs, step{nsenter.OpDevice, "/dev/fuse", nsenter.BitDevBind})
	want := append([]step{
		{nsenter.OpFresh, "/proc", nsenter.BitPlainDir},
		{nsenter.OpFresh, "/sys", nsenter.BitPlainDir | nsenter.BitHostBind},
		{nsenter.OpHostBind, "/sys", 0},
		{nsenter.OpFresh, "/dev/mqueue", nsenter.BitAttr | nsenter.BitHostBind},
		{nsenter.OpHostBind, "/dev/mqueue", 0},
		{nsenter.OpFresh, "/run", 0},
	}, devs...)
	if got := plan(true); !slices.Equal(got, want) {
		t.Errorf("user namespace:\n got %+v\nwant %+v", got, want)
	}
	for i := range devs {
		devs[i].bits = 0
	}
	want = append([]step{
		{nsenter.OpFresh, "/proc", nsenter.BitPlainDir},
		{nsenter.OpFresh, "/sys", nsenter.BitPlainDir},
		{nsenter.OpFresh, "/dev/mqueue", nsenter.BitAttr},
		{nsenter.OpFresh, "/run", 0},
	}, devs...)
	if got := plan(false); !slices.Equal(got, want) {
		t.Errorf("no user namespace:\n got %+v\nwant %+v", got, want)
	}
}

// TestPlanCgroupFallbacks: what a "cgroup" mount falls back to is named by
// the plan: on a unified host the init's own cgroup directory (bound where
// the kernel refuses a fresh cgroup2, as in a user namespace without a
// cgroup namespace); on a v1 host each hierarchy's host directory of the
// init's cgroup, tried after a fresh mount only with a cgroup namespace,
// and none where the host's mount does not show it.
func TestPlanCgroupFallbacks(t *testing.T) {
	old := cgroupFSType
	t.Cleanup(func() { cgroupFSType = old })
	spec := &specs.Spec{Mounts: []specs.Mount{{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"ro", "nosuid"}}}}
	resolve := func(c *Config) []PlanOp {
		t.Helper()
		ops, err := PlanSetup(c)
		if err == nil {
			ops, err = ResolveCgroups(c, ops)
		}
		if err != nil {
			t.Fatal(err)
		}
		var out []PlanOp
		for _, op := range ops {
			switch op.Code {
			case nsenter.OpCgroup1, nsenter.OpCgroupHierarchy, nsenter.OpCgroupDone, nsenter.OpCgroup2:
				out = append(out, op)
			}
		}
		return out
	}

	cgroupFSType = func(string) (int64, error) { return unix.CGROUP2_SUPER_MAGIC, nil }
	ops := resolve(&Config{Spec: spec, Rootfs: "/b/rootfs", UserNS: true, OwnCgroups: map[string]string{"": "/berth/c1"}})
	if len(ops) != 1 || ops[0].Code != nsenter.OpCgroup2 || ops[0].S[1] != "/sys/fs/cgroup/berth/c1" || ops[0].S[2] != "" ||
		ops[0].N[0] != unix.MS_RDONLY|unix.MS_NOSUID {
		t.Errorf("cgroup2: %+v", ops)
	}

	withMountTable(t, `30 22 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec - tmpfs tmpfs ro,mode=755
31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw
32 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime - cgroup cgroup rw,cpu,cpuacct
33 30 0:29 /c1 /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime - cgroup cgroup rw,memory
`)
	cgroupFSType = func(string) (int64, error) { return unix.TMPFS_MAGIC, nil }
	own := map[string]string{"": "/berth/c1", "cpu,cpuacct": "/berth/c1", "memory": "/other"}
	for _, cgroupNS := range []bool{false, true} {
		ops = resolve(&Config{Spec: spec, Rootfs: "/b/rootfs", UserNS: true, CgroupNS: cgroupNS, OwnCgroups: own})
		var got [][4]string
		for _, op := range ops[1 : len(ops)-1] {
			got = append(got, [4]string{op.S[1], op.S[2], op.S[3], strconv.FormatUint(op.N[2], 10)})
		}
		ns := uint64(0)
		if cgroupNS {
			ns = nsenter.BitCgroupNS
		}
		want := [][4]string{
			{"cpu,cpuacct", "/sys/fs/cgroup/cpu,cpuacct/berth/c1", "cpu,cpuacct", strconv.FormatUint(ns, 10)},
			{"memory", "", "memory", strconv.FormatUint(ns, 10)},
			{"unified", "/sys/fs/cgroup/unified/berth/c1", "", strconv.FormatUint(ns|nsenter.BitCgroup2, 10)},
		}
		if ops[0].Code != nsenter.OpCgroup1 || ops[len(ops)-1].Code != nsenter.OpCgroupDone || !slices.Equal(got, want) {
			t.Errorf("cgroup v1, cgroup namespace %v:\n got %q\nwant %q", cgroupNS, got, want)
		}
	}
}

// TestPlanOverlayUserNS: an overlay rootfs with a user namespace is refused
// by the plan, naming the lowers' trusted.* xattrs.
func TestPlanOverlayUserNS(t *testing.T) {
	lower := t.TempDir()
	c := &Config{
		Rootfs: "/b/rootfs", Bundle: "/b", UserNS: true,
		Spec: &specs.Spec{Annotations: map[string]string{OverlayAnnotation: `["` + lower + `"]`}},
	}
	_, err := PlanSetup(c)
	_, _, _, _, goErr := c.overlayDirs()
	if err == nil || goErr == nil || err.Error() != goErr.Error() || !strings.Contains(err.Error(), "user namespace") {
		t.Errorf("plan: %v; overlayDirs: %v", err, goErr)
	}
}

// A read-only /dev tmpfs is mounted writable and remounted read-only after
// the device nodes and links: read-only at once, nothing could be made in it.
func TestPlanDevReadonly(t *testing.T) {
	withMountTable(t, goldenMounts)
	c := &Config{Rootfs: "/b/rootfs", Bundle: "/b", Spec: &specs.Spec{
		Mounts: []specs.Mount{{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "ro", "mode=755"}}},
		Linux:  &specs.Linux{},
	}}
	ops, err := PlanSetup(c)
	if err != nil {
		t.Fatal(err)
	}
	links, remount := -1, -1
	for k, op := range ops {
		switch {
		case op.Code == nsenter.OpFresh && op.S[0] == "/dev":
			if op.N[0]&unix.MS_RDONLY != 0 {
				t.Errorf("/dev mounted read-only at once: flags %#x", op.N[0])
			}
		case op.Code == nsenter.OpDevLinks:
			links = k
		case op.Code == nsenter.OpRemount && op.S[0] == "/dev":
			remount = k
			if want := uint64(unix.MS_REMOUNT | unix.MS_RDONLY | unix.MS_NOSUID); op.N[0] != want || op.S[3] != "mode=755" {
				t.Errorf("remount flags %#x data %q, want %#x mode=755", op.N[0], op.S[3], want)
			}
		}
	}
	if links < 0 || remount < links {
		t.Errorf("the read-only remount (op %d) must follow the /dev links (op %d)", remount, links)
	}
}

// TestNoPivotHostFS: the host's full proc and sysfs mounts, deepest first
// (a proc inside the host's /sys is handled before /sys, so its mount
// point still leads to it), and none that a mount on top of its root
// hides (its mount point names the mount on top).
func TestNoPivotHostFS(t *testing.T) {
	mounts, err := mountinfo.Parse(strings.NewReader(`1 0 254:0 / / rw - ext4 /dev/vda rw
2 1 0:21 / /proc rw - proc proc rw
3 1 0:22 / /sys rw - sysfs sysfs rw
4 3 0:23 / /sys/x rw - tmpfs tmpfs rw
5 4 0:21 / /sys/x/proc rw - proc proc rw
6 1 0:24 / /hidden rw - proc proc rw
7 6 0:25 / /hidden rw - tmpfs tmpfs rw
`))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, h := range noPivotHostFS(mounts, "/b/rootfs") {
		got = append(got, fmt.Sprintf("%d %s %d %s", h.id, h.mountpoint, h.parentID, h.parent))
	}
	if want := []string{"5 /sys/x/proc 4 /sys/x", "2 /proc 1 /", "3 /sys 1 /"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}
