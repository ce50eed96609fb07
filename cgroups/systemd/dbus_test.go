package systemd

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestUserBusAddress(t *testing.T) {
	dir := t.TempDir()
	withSock := t.TempDir()
	l, err := net.Listen("unix", filepath.Join(withSock, "bus"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	notSock := t.TempDir()
	if err := os.WriteFile(filepath.Join(notSock, "bus"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		env       map[string]string
		want, err string
	}{
		{"address wins", map[string]string{"DBUS_SESSION_BUS_ADDRESS": "unix:path=/x/bus", "XDG_RUNTIME_DIR": withSock}, "unix:path=/x/bus", ""},
		{"runtime dir socket", map[string]string{"XDG_RUNTIME_DIR": withSock}, "unix:path=" + withSock + "/bus", ""},
		{"nothing", nil, "", "DBUS_SESSION_BUS_ADDRESS and XDG_RUNTIME_DIR are unset"},
		{"relative runtime dir", map[string]string{"XDG_RUNTIME_DIR": "run/user"}, "", "DBUS_SESSION_BUS_ADDRESS and XDG_RUNTIME_DIR are unset"},
		{"no socket", map[string]string{"XDG_RUNTIME_DIR": dir}, "", dir + "/bus: no such file or directory"},
		{"not a socket", map[string]string{"XDG_RUNTIME_DIR": notSock}, "", notSock + "/bus is not a socket"},
	} {
		got, err := UserBusAddress(func(k string) string { return tc.env[k] })
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), "enable-linger") {
				t.Errorf("%s: %q, %v; want an error with %q", tc.name, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
}

func TestHostUID(t *testing.T) {
	for _, tc := range []struct {
		m       string
		uid     int
		want    int
		wantOK  bool
		comment string
	}{
		{"         0          0 4294967295\n", 1000, 1000, true, "host"},
		{"         0       1000          1\n         1     100000      65536\n", 0, 1000, true, "engine's root"},
		{"         0       1000          1\n         1     100000      65536\n", 5, 100004, true, "subordinate"},
		{"         0       1000          1\n", 1, 0, false, "unmapped"},
		{"garbage\n", 0, 0, false, "unreadable"},
	} {
		got, ok := HostUID(tc.m, tc.uid)
		if got != tc.want || ok != tc.wantOK {
			t.Errorf("%s: HostUID(%d) = %d, %v; want %d, %v", tc.comment, tc.uid, got, ok, tc.want, tc.wantOK)
		}
	}
}

func TestUnderManager(t *testing.T) {
	const um = "/user.slice/user-1000.slice/user@1000.service"
	for _, tc := range []struct{ root, path, want string }{
		{"", "/system.slice/berth-x.scope", "/system.slice/berth-x.scope"},
		{"/", "/system.slice/berth-x.scope", "/system.slice/berth-x.scope"},
		{um, "/user.slice/berth-x.scope", um + "/user.slice/berth-x.scope"},
		{um, "/", um},
	} {
		if got := UnderManager(tc.root, tc.path); got != tc.want {
			t.Errorf("UnderManager(%q, %q) = %q, want %q", tc.root, tc.path, got, tc.want)
		}
	}
}

func TestWithoutDevices(t *testing.T) {
	got := withoutDevices([]Prop{{"MemoryMax", uint64(1)}, {"DevicePolicy", "strict"}, {"DeviceAllow", nil}, {"TasksMax", uint64(2)}})
	if len(got) != 2 || got[0].Name != "MemoryMax" || got[1].Name != "TasksMax" {
		t.Errorf("withoutDevices: %v", got)
	}
}

func TestCheckNotAloneInScope(t *testing.T) {
	dir := t.TempDir()
	scope := filepath.Join(dir, "run-r1.scope")
	service := filepath.Join(dir, "x.service")
	for _, d := range []string{scope, service} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(d, procs string) {
		if err := os.WriteFile(d+"/cgroup.procs", []byte(procs), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(scope, "42\n")
	write(service, "42\n")
	if err := checkNotAloneInScope(scope, 42); err == nil || !strings.Contains(err.Error(), "only process of its cgroup "+scope) {
		t.Errorf("alone in a scope: %v", err)
	}
	if err := checkNotAloneInScope(service, 42); err != nil {
		t.Errorf("alone in a service (its main pid is tracked by pid): %v", err)
	}
	write(scope, "7\n42\n")
	if err := checkNotAloneInScope(scope, 42); err != nil {
		t.Errorf("with a shell in the scope: %v", err)
	}
}
