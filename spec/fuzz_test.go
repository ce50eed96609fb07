package spec

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// topLevelFields are the JSON names of config.json's top-level members: an
// error about a syntactically valid file must start with a path rooted in
// one of them (or "(top level)" when the document itself has the wrong type).
func topLevelFields() map[string]bool {
	m := map[string]bool{"(top level)": true}
	t := reflect.TypeOf(specs.Spec{})
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			// encoding/json matches keys case-insensitively and the
			// error quotes the key as the file spells it.
			m[strings.ToLower(name)] = true
		}
	}
	return m
}

// errorField returns the first field-path segment of a Load error
// ("config.json: process.args[1]: ..." -> "process"), or "" if the message
// does not have that shape.
func errorField(msg string) string {
	rest, ok := strings.CutPrefix(msg, ConfigName+": ")
	if !ok {
		return ""
	}
	if strings.HasPrefix(rest, "(top level)") {
		return "(top level)"
	}
	end := strings.IndexAny(rest, ".[: /")
	if end < 0 {
		return ""
	}
	return rest[:end]
}

// FuzzLoad feeds arbitrary bytes to Load as a bundle's config.json: Load must
// return a spec or an error and never panic; a spec it returns must pass
// Validate again; an error about well-formed JSON must name the field.
func FuzzLoad(f *testing.F) {
	def, err := json.Marshal(Default(false))
	if err != nil {
		f.Fatal(err)
	}
	rootless, err := json.Marshal(Default(true))
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{
		string(def),
		string(rootless),
		"",
		"null",
		"[]",
		`"x"`,
		"{} {}",
		`{"process": {"args": ["sh", 5]}}`,
		`{"linux": {"sysctl": {"kernel.shmmax": 5}}}`,
		`{"ociVersion": "1.0.2", "root": {"path": "rootfs"}, "process": {"args": ["sh"], "cwd": "/"}, "linux": {}}`,
		`{"ociVersion": "1.0.2", "root": {"path": "rootfs"}, "process": {"args": ["sh"], "cwd": "/"},
		  "mounts": [{"destination": "proc", "type": "proc"}],
		  "linux": {"namespaces": [{"type": "user"}, {"type": "time"}], "timeOffsets": {"monotonic": {"secs": 1}},
		            "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}]}}`,
		`{"ociVersion": "1.0.2", "root": {"path": "rootfs"}, "process": {"args": ["sh"], "cwd": "/",
		  "capabilities": {"bounding": ["CAP_CHOWN", "CAP_NOPE"]}}, "linux": {}}`,
		`{"ociVersion": "1.0.2", "root": {"path": "rootfs"}, "process": {"args": ["sh"], "cwd": "/"},
		  "linux": {"seccomp": {"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"],
		  "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 7, "value": 1, "op": "SCMP_CMP_EQ"}]}]}}}`,
	} {
		f.Add([]byte(seed))
	}
	// Default specs with one field broken each, so mutation starts deep
	// inside Validate rather than at the JSON syntax.
	adj, umask := 2000, uint32(0o7777)
	for _, mutate := range []func(*specs.Spec){
		func(s *specs.Spec) { s.Process.Rlimits = append(s.Process.Rlimits, s.Process.Rlimits...) },
		func(s *specs.Spec) { s.Process.OOMScoreAdj = &adj; s.Process.User.Umask = &umask },
		func(s *specs.Spec) { s.Process.Env = append(s.Process.Env, "=x") },
		func(s *specs.Spec) {
			s.Hooks = &specs.Hooks{Poststop: []specs.Hook{{Path: "rel", Env: []string{"A"}}}}
		},
		func(s *specs.Spec) {
			s.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/x", Type: "c"}, {Path: "/dev/x", Type: "q"}}
		},
		func(s *specs.Spec) {
			s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 4294967000, Size: 1000}}
		},
		func(s *specs.Spec) {
			s.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": "1", "kernel.hostname": "x", "vm.swappiness": "1"}
		},
		func(s *specs.Spec) {
			s.Linux.RootfsPropagation = "rshared"
			s.Linux.MaskedPaths = append(s.Linux.MaskedPaths, "rel")
		},
		func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: "time", Path: "/proc/self/ns/time"})
			s.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"boottime": {Secs: 1, Nanosecs: 2e9}}
		},
		func(s *specs.Spec) {
			s.Linux.Resources = &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Type: "c", Access: "rwx"}}}
		},
		func(s *specs.Spec) {
			s.Linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{
				{Names: []string{"nosuchcall"}, Action: specs.ActAllow,
					Args: []specs.LinuxSeccompArg{{Index: 9, Op: "SCMP_CMP_BOGUS"}}}}}
		},
	} {
		s := Default(false)
		mutate(s)
		b, err := json.Marshal(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	top := topLevelFields()
	// One bundle per fuzzing process: a fresh directory per input would
	// cost more than Load itself.
	dir, err := os.MkdirTemp("", "berth-fuzzload-")
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Mkdir(filepath.Join(dir, "rootfs"), 0o755); err != nil {
		f.Fatal(err)
	}
	config := filepath.Join(dir, ConfigName)

	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(config, data, 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := Load(dir)
		if err == nil {
			if s == nil {
				t.Fatal("Load returned neither a spec nor an error")
			}
			if err := Validate(s); err != nil {
				t.Fatalf("Load accepted a spec that Validate rejects: %v", err)
			}
			return
		}
		if s != nil {
			t.Fatalf("Load returned a spec with error %v", err)
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, ConfigName+": ") {
			t.Fatalf("error does not name %s: %q", ConfigName, msg)
		}
		if !json.Valid(data) {
			return
		}
		if field := errorField(msg); !top[strings.ToLower(field)] {
			t.Fatalf("error about valid JSON names no config.json field (got %q): %q", field, msg)
		}
	})
}
