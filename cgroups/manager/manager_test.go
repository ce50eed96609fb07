package manager

import (
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"berth/cgroups/host"
	"berth/cgroups/internal/cgtest"
)

func TestMain(m *testing.M) { cgtest.Main(m) }

func TestLoadRefusesNonCgroupPaths(t *testing.T) {
	for _, saved := range []map[string]string{
		nil,
		{"unified": "relative/x"},
		{"memory": "/sys/fs/cgroup/memory/../../../etc"},
		{"unified": "/tmp/x"},
	} {
		if _, err := Load(saved); err == nil {
			t.Errorf("Load(%v) accepted", saved)
		}
	}
}

func TestSignalGone(t *testing.T) {
	cgtest.NeedRoot(t)
	m, err := New(Options{CgroupsPath: cgtest.Path(), ID: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if m.Exists() {
		t.Fatal("exists before Create")
	}
	if pids, err := m.Pids(); err != nil || len(pids) != 0 {
		t.Fatalf("Pids of a missing cgroup = %v, %v", pids, err)
	}
	if err := m.Kill(); err != nil {
		t.Fatalf("Kill of a missing cgroup: %v", err)
	}
	if err := m.Destroy(); err != nil {
		t.Fatalf("Destroy of a missing cgroup: %v", err)
	}
	if err := m.Signal(unix.SIGTERM); err != nil {
		t.Fatalf("Signal of a missing cgroup: %v", err)
	}
}

func TestChoose(t *testing.T) {
	v2 := &host.Layout{Unified: true, V2Mount: "/sys/fs/cgroup", V2Root: "/"}
	hybrid := &host.Layout{V2Mount: "/sys/fs/cgroup/unified", V2Root: "/", V1: []host.Hierarchy{{Mountpoint: "/sys/fs/cgroup/memory", Root: "/", Controllers: []string{"memory"}}}}
	v2only := &host.Layout{V2Mount: "/sys/fs/cgroup/unified", V2Root: "/"}
	for _, tc := range []struct {
		name    string
		systemd bool
		h       *host.Layout
		want    Driver
		err     string
	}{
		{"v2", false, v2, FS2, ""},
		{"hybrid", false, hybrid, FS1, ""},
		{"cgroup2 elsewhere, no v1", false, v2only, "", "no cgroup v1 hierarchy is mounted"},
		{"systemd on v2", true, v2, Systemd, ""},
		{"systemd on v1", true, hybrid, Systemd, ""},
	} {
		got, err := Choose(tc.systemd, tc.h)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: error %v, want %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
	// Hosts without systemd as PID 1 on cgroup v2 (this test's hosts:
	// the systemd VM guest runs tests/systemd_test.go) refuse it.
	if _, err := New(Options{Systemd: true, ID: "x"}); err == nil || !strings.Contains(err.Error(), "--systemd-cgroup") {
		t.Errorf("New with Systemd: %v", err)
	}
}
