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

// FuzzLightDecode: whatever the light decoder accepts, encoding/json
// accepts too and decodes to the same spec. Seeds: FuzzLoad's corpus, the
// default specs, and the shapes the walker must get right (duplicates,
// case-insensitive keys, escapes, nulls, empty lists, maps of structs).
func FuzzLightDecode(f *testing.F) {
	for _, rootless := range []bool{false, true} {
		def, err := json.Marshal(Default(rootless))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(def)
	}
	files, _ := filepath.Glob("testdata/fuzz/FuzzLoad/*")
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		// The corpus file format: a header line, then []byte("...").
		if _, rest, ok := strings.Cut(string(data), "[]byte("); ok {
			var s string
			if err := json.Unmarshal([]byte(strings.TrimSuffix(strings.TrimSpace(rest), ")")), &s); err == nil {
				f.Add([]byte(s))
			}
		}
	}
	for _, seed := range []string{
		`{"process": {"args": ["a"]}, "process": {"cwd": "/"}}`,
		`{"Process": {"ARGS": ["a"], "user": {"uid": 1}}, "LINUX": {"namespaces": null}}`,
		`{"pro\u0063ess": {"args": ["\u0041", "b\"c"]}, "hostname": "h\\"}`,
		`{"mounts": [], "linux": {"maskedPaths": [], "timeOffsets": {"boottime": {"secs": 5}, "m\u00e9": {"nanosecs": 1}}}}`,
		`{"linux": {"resources": {"devices": [{"allow": false, "access": "rwm"}], "memory": {"limit": 1}, "unified": {"a": "b"}}}}`,
		`{"linux": {"resources": null, "seccomp": {"syscalls": [{"names": ["x"], "args": [{"index": 1, "value": 2, "op": "SCMP_CMP_EQ"}]}]}}}`,
		`{"process": null, "root": {"path": "r", "readonly": true}, "annotations": {"k": "v"}}`,
		`{"process": {"args": "sh"}}`,
		`{"process": [1]}`,
		`{"linux": {"uidMappings": [{"containerID": -1}]}}`,
		` { "ociVersion" : "1.0" , "hooks" : { "prestart" : [ { "path" : "/x" , "timeout" : 3 } ] } } `,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var want, got specs.Spec
		jerr := json.Unmarshal(data, &want)
		if err := lightDecode(data, &got); err != nil {
			return // the caller falls back to encoding/json
		}
		if jerr != nil {
			t.Fatalf("light decoder accepted what encoding/json refuses (%v): %q", jerr, data)
		}
		if !reflect.DeepEqual(want, got) {
			w, _ := json.Marshal(want)
			g, _ := json.Marshal(got)
			t.Fatalf("decoded differently:\n json:  %s\n light: %s\n input: %q", w, g, data)
		}
	})
}

// TestLightDecodeCoversSpec: the light decoder walks every struct of the
// spec itself (none is handed to encoding/json whole, which would bring
// back its cost), and the default spec decodes alike both ways.
func TestLightDecodeCoversSpec(t *testing.T) {
	seen := map[reflect.Type]bool{}
	var walk func(reflect.Type)
	walk = func(t2 reflect.Type) {
		if seen[t2] {
			return
		}
		seen[t2] = true
		switch t2.Kind() {
		case reflect.Struct:
			if _, err := fieldsOf(t2); err != nil {
				t.Errorf("%v: %v", t2, err)
			}
			for i := range t2.NumField() {
				walk(t2.Field(i).Type)
			}
		case reflect.Pointer, reflect.Slice, reflect.Map:
			walk(t2.Elem())
		case reflect.Array:
			if needsWalk(t2) {
				t.Errorf("%v: an array of structs is left to encoding/json", t2)
			}
		}
	}
	walk(reflect.TypeFor[specs.Spec]())
	data, err := json.Marshal(Default(false))
	if err != nil {
		t.Fatal(err)
	}
	var got specs.Spec
	if err := lightDecode(data, &got); err != nil {
		t.Fatalf("default spec: %v", err)
	}
	if !reflect.DeepEqual(&got, Default(false)) {
		t.Errorf("default spec decodes differently")
	}
}
