package spec

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// bundle makes a bundle directory with a rootfs and the given config.json.
func bundle(t *testing.T, config string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "rootfs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func defaultJSON(t *testing.T) string {
	t.Helper()
	b, err := json.MarshalIndent(Default(false), "", "\t")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestLoadDefault(t *testing.T) {
	dir := bundle(t, defaultJSON(t))
	s, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if s.Hostname != "berth" || s.Process.Args[0] != "sh" || len(s.Mounts) != 7 {
		t.Errorf("loaded spec differs from the default: %+v", s)
	}
}

func TestLoadMissing(t *testing.T) {
	dir := t.TempDir()
	_, err := Load(filepath.Join(dir, "x"))
	want := `bundle "` + filepath.Join(dir, "x") + `": config.json: no such file or directory`
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("error does not match fs.ErrNotExist")
	}
}

func TestLoadDecodeErrors(t *testing.T) {
	for _, tc := range []struct {
		name, json, want string
	}{
		{"empty", "  \n", "config.json: empty file"},
		{"syntax", "{\n  \"ociVersion\": \"1.0.0\",\n  \"process\": {\n    \"args\": [\"a\",\n    }\n}\n",
			"config.json: invalid JSON at line 5, column 5: invalid character '}' looking for beginning of value"},
		{"syntax after multibyte", "{\"hostname\": \"héllo\" \"x\"}",
			"config.json: invalid JSON at line 1, column 22: invalid character '\"' after object key:value pair"},
		{"truncated", "{\n\"process\": {\n", "config.json: invalid JSON at line 2, column 13: unexpected end of JSON input"},
		{"trailing data", "{} {}", "config.json: invalid JSON at line 1, column 4: invalid character '{' after top-level value"},
		{"args element", `{"process": {"args": ["sh", 5]}}`, "config.json: process.args[1]: cannot use number as string"},
		{"args object", `{"process": {"args": {"a": 1}}}`, "config.json: process.args: cannot use object as array"},
		{"process string", `{"process": "sh"}`, "config.json: process: cannot use string as object"},
		{"uid negative", `{"process": {"user": {"uid": -1}}}`, "config.json: process.user.uid: cannot use number -1 as uint32"},
		{"mount destination", `{"mounts": [{"destination": "/a"}, {"destination": "/b", "options": ["ro", true]}]}`,
			"config.json: mounts[1].options[1]: cannot use bool as string"},
		{"namespace type", `{"linux": {"namespaces": [{"type": "pid"}, {"type": 5}]}}`,
			"config.json: linux.namespaces[1].type: cannot use number as string"},
		{"sysctl value", `{"linux": {"sysctl": {"net.ipv4.ip_forward": "1", "kernel.shmmax": 5}}}`,
			`config.json: linux.sysctl["kernel.shmmax"]: cannot use number as string`},
		{"annotation", `{"annotations": {"org.example": ["x"]}}`,
			`config.json: annotations["org.example"]: cannot use array as string`},
		{"hook timeout", `{"hooks": {"poststop": [{"path": "/x", "timeout": "5s"}]}}`,
			"config.json: hooks.poststop[0].timeout: cannot use string as int"},
		{"nested arrays", `{"linux": {"seccomp": {"syscalls": [{"names": ["a"]}, {"names": ["b", "c", ["d"]]}]}}}`,
			"config.json: linux.seccomp.syscalls[1].names[2]: cannot use array as string"},
		{"top level", `["x"]`, "config.json: (top level): cannot use array as object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(bundle(t, tc.json))
			if err == nil || err.Error() != tc.want {
				t.Fatalf("err = %v\n want %s", err, tc.want)
			}
		})
	}
}

func TestLoadValidates(t *testing.T) {
	s := Default(false)
	s.Process.Args = nil
	b, _ := json.Marshal(s)
	_, err := Load(bundle(t, string(b)))
	if err == nil || err.Error() != "config.json: process.args: must not be empty" {
		t.Fatalf("err = %v", err)
	}
}

func TestLoadRelativeMountDestination(t *testing.T) {
	s := Default(false)
	s.Mounts[0].Destination = "proc"
	b, _ := json.Marshal(s)
	got, err := Load(bundle(t, string(b)))
	if err != nil {
		t.Fatal(err)
	}
	if got.Mounts[0].Destination != "/proc" {
		t.Errorf("destination = %q, want /proc", got.Mounts[0].Destination)
	}
}

func TestRootfsPath(t *testing.T) {
	dir := bundle(t, defaultJSON(t))
	real, err := filepath.EvalSymlinks(filepath.Join(dir, "rootfs"))
	if err != nil {
		t.Fatal(err)
	}
	s := Default(false)

	// Relative to the bundle, whatever the working directory.
	t.Chdir(t.TempDir())
	if got, err := RootfsPath(dir, s); err != nil || got != real {
		t.Errorf("RootfsPath = %q, %v; want %q", got, err, real)
	}

	// Relative bundle path, symlinked rootfs.
	if err := os.Symlink(real, filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	t.Chdir(filepath.Dir(dir))
	s.Root.Path = "link"
	if got, err := RootfsPath(filepath.Base(dir), s); err != nil || got != real {
		t.Errorf("RootfsPath via symlink = %q, %v; want %q", got, err, real)
	}

	s.Root.Path = real
	if got, err := RootfsPath("/nonexistent", s); err != nil || got != real {
		t.Errorf("absolute RootfsPath = %q, %v; want %q", got, err, real)
	}

	s.Root.Path = "missing"
	if _, err := RootfsPath(dir, s); err == nil || !errors.Is(err, fs.ErrNotExist) ||
		!strings.HasPrefix(err.Error(), `config.json: root.path "missing": `) {
		t.Errorf("missing rootfs: err = %v", err)
	}

	s.Root.Path = "config.json"
	if _, err := RootfsPath(dir, s); err == nil || !strings.Contains(err.Error(), `root.path "config.json": `) ||
		!strings.HasSuffix(err.Error(), "is not a directory") {
		t.Errorf("file rootfs: err = %v", err)
	}
}

func TestLoadMissingRootfs(t *testing.T) {
	dir := bundle(t, defaultJSON(t))
	if err := os.Remove(filepath.Join(dir, "rootfs")); err != nil {
		t.Fatal(err)
	}
	_, err := Load(dir)
	if err == nil || !strings.HasPrefix(err.Error(), `config.json: root.path "rootfs": `) {
		t.Fatalf("err = %v", err)
	}
}

func TestPosition(t *testing.T) {
	data := []byte("ab\ncdé\nf")
	for _, tc := range []struct {
		off       int64
		line, col int
	}{
		{0, 1, 1}, {2, 1, 3}, {3, 2, 1}, {7, 2, 4}, {8, 3, 1}, {9, 3, 2}, {100, 3, 2}, {-5, 1, 1},
	} {
		if l, c := position(data, tc.off); l != tc.line || c != tc.col {
			t.Errorf("position(%d) = %d:%d, want %d:%d", tc.off, l, c, tc.line, tc.col)
		}
	}
}
