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
