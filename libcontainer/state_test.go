package libcontainer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"berth/spec"
)

// TestStateDecodesAlike: state.json read by spec.DecodeJSON (the light
// decoder berth uses on its hot paths) gives what encoding/json gives.
func TestStateDecodesAlike(t *testing.T) {
	data := []byte(`{"config":{"ociVersion":"1.2.0","process":{"args":["sh"],"cwd":"/"},"linux":{"namespaces":[{"type":"pid"}],
		"seccomp":{"defaultAction":"SCMP_ACT_ALLOW"}},"hooks":{"poststop":[{"path":"/bin/true"}]},"annotations":{"a":"b"}},
		"id":"c1","bundle":"/b","rootfs":"/b/rootfs","pid":42,"pid_start":12345,"created":"2026-11-27T07:00:00.123456789Z",
		"owner":0,"status":"running","ns_paths":{"net":"/proc/1/ns/net"},"cgroup_paths":{"memory":"/sys/fs/cgroup/memory/c1"},
		"network":{"id":"c1","bridge":"br0","hostVeth":"v1","ifname":"eth0","address":"10.0.0.2/24","mtu":1500},
		"net_devices":[{"name":"dummy0"}]}`)
	var want, got State
	if err := json.Unmarshal(data, &want); err != nil {
		t.Fatal(err)
	}
	if err := spec.DecodeJSON(data, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(want, got) {
		t.Errorf("state decodes differently:\n%+v\n%+v", want, got)
	}
	for _, v := range []any{&specView{}, &execView{}} {
		w := reflect.New(reflect.TypeOf(v).Elem()).Interface()
		if err := json.Unmarshal(want.RawConfig, w); err != nil {
			t.Fatal(err)
		}
		if err := spec.DecodeJSON(want.RawConfig, v); err != nil || !reflect.DeepEqual(v, w) {
			t.Errorf("%T decodes differently (%v): %+v vs %+v", v, err, v, w)
		}
	}
}

func TestCheckStateRoot(t *testing.T) {
	dir := t.TempDir()
	euid := os.Geteuid()
	if err := checkStateRoot(dir, euid); err != nil {
		t.Errorf("own directory: %v", err)
	}
	if err := checkStateRoot(dir, euid+1); err == nil || !strings.Contains(err.Error(), "owner uid") {
		t.Errorf("another user's directory: %v", err)
	}
	for _, mode := range []os.FileMode{0o777, 0o770, 0o1777} {
		if err := os.Chmod(dir, mode); err != nil {
			t.Fatal(err)
		}
		if err := checkStateRoot(dir, euid); err == nil || !strings.Contains(err.Error(), "nobody else can write") {
			t.Errorf("mode %o: %v", mode, err)
		}
	}
	if err := os.Chmod(dir, 0o711); err != nil {
		t.Fatal(err)
	}
	if err := checkStateRoot(dir, euid); err != nil {
		t.Errorf("mode 0711: %v", err)
	}
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := checkStateRoot(file, euid); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("a file: %v", err)
	}
}
