package intelrdt

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// fakeResctrl makes a directory shaped like a resctrl root: info/ with
// the given resources, the default group's files, and existing groups
// (name -> schemata).
func fakeResctrl(t *testing.T, resources []string, groups map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for _, r := range resources {
		if err := os.MkdirAll(filepath.Join(root, "info", r), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.MkdirAll(filepath.Join(root, "info"), 0o755)
	groups[""] = "    L3:0=fffff\n    MB:0=100\n"
	for name, schemata := range groups {
		dir := filepath.Join(root, name)
		os.MkdirAll(filepath.Join(dir, "mon_groups"), 0o755)
		for file, data := range map[string]string{"schemata": schemata, "tasks": ""} {
			if err := os.WriteFile(filepath.Join(dir, file), []byte(data), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return root
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestPrepareApplyRemove(t *testing.T) {
	root := fakeResctrl(t, []string{"L3", "MB", "L3_MON"}, map[string]string{"gold": "L3:0=ff\nMB:0=50\n"})

	// Schemata without closID: a group of the container's own.
	p, err := Prepare(root, "c1", &specs.LinuxIntelRdt{L3CacheSchema: "L3:0=f0", MemBwSchema: "MB:0=70", Schemata: []string{" L3:1=0f "}, EnableMonitoring: true})
	if err != nil {
		t.Fatal(err)
	}
	want := &Plan{Root: root, Group: filepath.Join(root, "c1"), Create: true, Own: true, Schemata: []string{"L3:0=f0", "MB:0=70", "L3:1=0f"}, Mon: filepath.Join(root, "c1", "mon_groups", "c1")}
	if !reflect.DeepEqual(p, want) {
		t.Fatalf("plan %+v, want %+v", p, want)
	}
	// The kernel fills a new group with its files; the fake's are made
	// here, and Apply told the group exists.
	kernelFiles := func(dir string) {
		os.MkdirAll(filepath.Join(dir, "mon_groups"), 0o755)
		os.WriteFile(filepath.Join(dir, "schemata"), nil, 0o644)
		os.WriteFile(filepath.Join(dir, "tasks"), nil, 0o644)
	}
	p2 := *p
	p2.Create = false
	kernelFiles(p.Group)
	os.MkdirAll(p.Mon, 0o755)
	os.WriteFile(filepath.Join(p.Mon, "tasks"), nil, 0o644)
	if err := p2.Apply(4242); err != nil {
		t.Fatal(err)
	}
	if got := read(t, filepath.Join(p.Group, "schemata")); got != "L3:0=f0\nMB:0=70\nL3:1=0f\n" {
		t.Errorf("schemata written %q", got)
	}
	if got := read(t, filepath.Join(p.Group, "tasks")); got != "4242" {
		t.Errorf("tasks %q", got)
	}
	if got := read(t, filepath.Join(p.Mon, "tasks")); got != "4242" {
		t.Errorf("monitoring tasks %q", got)
	}
	// Remove takes the monitoring group, and the group it made (on a real
	// resctrl rmdir takes the kernel's files with it).
	os.Remove(filepath.Join(p.Mon, "tasks"))
	for _, f := range []string{"schemata", "tasks"} {
		os.Remove(filepath.Join(p.Group, f))
	}
	os.Remove(filepath.Join(p.Group, "mon_groups", "c1"))
	if err := os.Remove(filepath.Join(p.Group, "mon_groups")); err != nil {
		t.Fatal(err)
	}
	if err := p.Remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p.Group); !os.IsNotExist(err) {
		t.Errorf("group left: %v", err)
	}

	// closID of an existing group with its schemata: joined, nothing
	// written, not removed.
	p, err = Prepare(root, "c2", &specs.LinuxIntelRdt{ClosID: "gold", L3CacheSchema: "L3:0=ff"})
	if err != nil {
		t.Fatal(err)
	}
	if want := (&Plan{Root: root, Group: filepath.Join(root, "gold")}); !reflect.DeepEqual(p, want) {
		t.Errorf("joined: %+v, want %+v", p, want)
	}
	if err := p.Apply(7); err != nil || read(t, filepath.Join(root, "gold", "tasks")) != "7" {
		t.Errorf("joined apply: %v", err)
	}
	// update --l3-cache-schema on it, checked like create's.
	if err := p.Update("--l3-cache-schema", "L3:0=3f"); err != nil || !strings.HasSuffix(read(t, filepath.Join(root, "gold", "schemata")), "L3:0=3f\n") {
		t.Errorf("update: %v", err)
	}
	if err := p.Update("--mem-bw-schema", "SMBA:0=5"); err == nil || !strings.HasPrefix(err.Error(), `--mem-bw-schema "SMBA:0=5": this host's resctrl has no SMBA`) {
		t.Errorf("update of a missing resource: %v", err)
	}
	if err := p.Remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "gold")); err != nil {
		t.Errorf("a joined group was removed: %v", err)
	}
	// closID of a missing group: made.
	if p, err = Prepare(root, "c3", &specs.LinuxIntelRdt{ClosID: "silver", MemBwSchema: "MB:0=20"}); err != nil || !p.Create || p.Group != filepath.Join(root, "silver") {
		t.Errorf("new closID: %+v %v", p, err)
	}
}

func TestPrepareErrors(t *testing.T) {
	root := fakeResctrl(t, []string{"L3"}, map[string]string{"gold": "L3:0=ff\n"})
	for _, tc := range []struct {
		rdt  specs.LinuxIntelRdt
		want string
	}{
		{specs.LinuxIntelRdt{MemBwSchema: "MB:0=70"}, `linux.intelRdt.memBwSchema "MB:0=70": this host's resctrl has no MB resource (info/MB)`},
		{specs.LinuxIntelRdt{Schemata: []string{"L3:0=f", "SMBA:0=1"}}, `linux.intelRdt.schemata[1] "SMBA:0=1": this host's resctrl has no SMBA resource`},
		{specs.LinuxIntelRdt{L3CacheSchema: "garbage"}, `linux.intelRdt.l3CacheSchema "garbage": not a schemata line`},
		{specs.LinuxIntelRdt{ClosID: "gold", L3CacheSchema: "L3:0=f"}, `linux.intelRdt: the existing group "gold" (closID) has no schemata line "L3:0=f"`},
		{specs.LinuxIntelRdt{ClosID: "../x"}, `linux.intelRdt.closID "../x": not a resctrl group name`},
		{specs.LinuxIntelRdt{ClosID: "info"}, `linux.intelRdt.closID "info": not a resctrl group name`},
		{specs.LinuxIntelRdt{EnableMonitoring: true}, "linux.intelRdt.enableMonitoring: this host's resctrl has no monitoring"},
	} {
		if _, err := Prepare(root, "c", &tc.rdt); err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.rdt, err, tc.want)
		}
	}
	if _, err := Prepare(t.TempDir(), "c", &specs.LinuxIntelRdt{}); err == nil || !strings.Contains(err.Error(), "is not a resctrl root") {
		t.Errorf("not a root: %v", err)
	}
}

func TestRoot(t *testing.T) {
	dir := t.TempDir()
	mi := filepath.Join(dir, "mountinfo")
	os.WriteFile(mi, []byte("22 1 0:21 / /proc rw - proc proc rw\n"+
		"40 22 0:35 / /sys/fs/res\\040ctrl rw,relatime shared:20 - resctrl resctrl rw,mba_MBps\n"), 0o644)
	if got, err := Root(mi); err != nil || got != "/sys/fs/res ctrl" {
		t.Errorf("Root = %q, %v", got, err)
	}
	os.WriteFile(mi, []byte("22 1 0:21 / /proc rw - proc proc rw\n"), 0o644)
	if _, err := Root(mi); err == nil || !strings.HasPrefix(err.Error(), "linux.intelRdt: resctrl is not mounted") {
		t.Errorf("no resctrl: %v", err)
	}
}

// TestPrepareSpecRules: runtime-spec's rules on closID. "/" is the
// default CLOS; a closID group missing is made only when schemata are
// asked (an error otherwise), and is never removed at delete, made or
// not; without closID the group is always the container's own, named by
// its id, and removed at delete.
func TestPrepareSpecRules(t *testing.T) {
	root := fakeResctrl(t, []string{"L3", "L3_MON"}, map[string]string{})

	p, err := Prepare(root, "c1", &specs.LinuxIntelRdt{ClosID: "/"})
	if err != nil || p.Group != root || p.Create || p.Own {
		t.Errorf(`closID "/": %+v %v, want the default group`, p, err)
	}
	if p, err = Prepare(root, "c1", &specs.LinuxIntelRdt{ClosID: "/", L3CacheSchema: "L3:0=fffff"}); err != nil || p.Group != root || p.Schemata != nil {
		t.Errorf(`closID "/" with the default group's schemata: %+v %v`, p, err)
	}

	if _, err := Prepare(root, "c1", &specs.LinuxIntelRdt{ClosID: "bronze"}); err == nil || !strings.HasPrefix(err.Error(), `linux.intelRdt.closID "bronze": no such group`) {
		t.Errorf("closID of a missing group without schemata: %v", err)
	}

	p, err = Prepare(root, "c1", &specs.LinuxIntelRdt{ClosID: "silver", L3CacheSchema: "L3:0=f"})
	if err != nil || !p.Create || p.Own {
		t.Fatalf("closID of a missing group with schemata: %+v %v, want made, not owned", p, err)
	}
	os.Mkdir(p.Group, 0o755) // as Apply makes it
	if err := p.Remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p.Group); err != nil {
		t.Errorf("the closID group made at create was removed at delete: %v", err)
	}

	p, err = Prepare(root, "c2", &specs.LinuxIntelRdt{EnableMonitoring: true})
	want := &Plan{Root: root, Group: filepath.Join(root, "c2"), Create: true, Own: true, Mon: filepath.Join(root, "c2", "mon_groups", "c2")}
	if err != nil || !reflect.DeepEqual(p, want) {
		t.Errorf("no closID, no schemata: %+v %v, want %+v", p, err, want)
	}
}

// TestHasLine: an existing group's schemata, as the kernel shows them
// (every domain, a cache mask zero-padded to the mask's width, a
// bandwidth space-padded), hold a line asked when each domain it names
// has the value asked.
func TestHasLine(t *testing.T) {
	kernel := "    L3:0=000ff;1=7ff00\n    MB:0= 70;1=100\n"
	for line, want := range map[string]bool{
		"L3:0=ff":          true,
		"L3:1=7ff00":       true,
		"L3:0=0ff;1=7ff00": true,
		"L3: 0=FF":         true,
		"MB:0=70":          true,
		"MB:1=100;0=70":    true,
		"L3:0=fff":         false,
		"L3:2=ff":          false,
		"MB:0=7":           false,
		"L2:0=ff":          false,
		"L3CODE:0=ff":      false,
	} {
		if got := hasLine(kernel, line); got != want {
			t.Errorf("hasLine(%q) = %v, want %v", line, got, want)
		}
	}
}
