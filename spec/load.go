// Package spec loads, validates, writes and generates a bundle's config.json
// (the OCI runtime spec). Everything downstream of Load may rely on the
// rules Validate enforces; every error names the JSON field it is about.
//
// Relative mount destinations: the runtime spec deprecates them but says
// they mean "relative to /". Load rewrites them to absolute paths (and logs
// a warning), so old configs keep working; Validate itself requires absolute
// destinations, so no code below this package ever sees a relative one.
package spec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ConfigName is the spec file inside a bundle.
const ConfigName = "config.json"

// Load reads <bundle>/config.json, decodes it and validates it, including
// that the root filesystem exists (see RootfsPath).
func Load(bundle string) (*specs.Spec, error) {
	s, _, _, err := LoadRaw(bundle)
	return s, err
}

// LoadRaw is Load that also returns the file's bytes when they decode to
// exactly the spec returned (nil when Load had to normalize something): a
// caller that keeps the spec as JSON need not encode it again, which costs
// a fresh process ~1 ms of reflection. rootfs is RootfsPath's answer.
func LoadRaw(bundle string) (s *specs.Spec, raw []byte, rootfs string, err error) {
	data, err := os.ReadFile(filepath.Join(bundle, ConfigName))
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, nil, "", fmt.Errorf("bundle %q: %s: %w", bundle, ConfigName, err)
	}
	if s, err = decode(data); err != nil {
		return nil, nil, "", err
	}
	if absMountDestinations(s) {
		data = nil
	}
	if err := Validate(s); err != nil {
		return nil, nil, "", err
	}
	if rootfs, err = RootfsPath(bundle, s); err != nil {
		return nil, nil, "", err
	}
	return s, data, rootfs, nil
}

// RootfsPath returns the absolute, symlink-resolved root filesystem path; a
// relative root.path is relative to the bundle, not to the working
// directory. It fails unless the path is an existing directory.
func RootfsPath(bundle string, s *specs.Spec) (string, error) {
	if s == nil || s.Root == nil || s.Root.Path == "" {
		return "", fmt.Errorf("%s: root.path: must be set", ConfigName)
	}
	p := s.Root.Path
	if !filepath.IsAbs(p) {
		p = filepath.Join(bundle, p)
	}
	p, err := filepath.Abs(p)
	if err != nil {
		return "", fmt.Errorf("%s: root.path %q: %w", ConfigName, s.Root.Path, err)
	}
	resolved, err := filepath.EvalSymlinks(p)
	if err != nil {
		return "", fmt.Errorf("%s: root.path %q: %w", ConfigName, s.Root.Path, err)
	}
	fi, err := os.Stat(resolved)
	if err != nil {
		return "", fmt.Errorf("%s: root.path %q: %w", ConfigName, s.Root.Path, err)
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("%s: root.path %q: %s is not a directory", ConfigName, s.Root.Path, resolved)
	}
	return resolved, nil
}

func absMountDestinations(s *specs.Spec) (changed bool) {
	for i := range s.Mounts {
		d := s.Mounts[i].Destination
		if d == "" || filepath.IsAbs(d) {
			continue
		}
		s.Mounts[i].Destination = "/" + d
		changed = true
		slog.Warn("relative mount destination is deprecated; treating it as relative to /",
			"field", fmt.Sprintf("mounts[%d].destination", i), "destination", d, "now", s.Mounts[i].Destination)
	}
	return changed
}

// decode parses config.json, turning encoding/json's errors (byte offsets,
// Go type names, array indices dropped) into ones a person can act on.
func decode(data []byte) (*specs.Spec, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fmt.Errorf("%s: empty file", ConfigName)
	}
	var s specs.Spec
	err := DecodeJSON(data, &s)
	if err == nil {
		return &s, nil
	}
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		line, col := position(data, syn.Offset-1)
		return nil, fmt.Errorf("%s: invalid JSON at line %d, column %d: %w", ConfigName, line, col, err)
	case errors.As(err, &typ):
		field := fieldAt(data, typ.Offset)
		if field == "" {
			field = typ.Field
		}
		if field == "" {
			field = "(top level)"
		}
		return nil, fmt.Errorf("%s: %s: cannot use %s as %s", ConfigName, field, typ.Value, jsonKind(typ.Type))
	}
	return nil, fmt.Errorf("%s: %w", ConfigName, err)
}

// position converts a byte offset into a 1-based line and column (in
// characters, as editors count them).
func position(data []byte, off int64) (line, col int) {
	if off < 0 {
		off = 0
	}
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	before := data[:off]
	line = 1 + bytes.Count(before, []byte{'\n'})
	start := bytes.LastIndexByte(before, '\n') + 1
	return line, utf8.RuneCount(before[start:]) + 1
}

// jsonKind names a Go type the way the JSON in the file would spell it.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "value"
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "object"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	case reflect.Interface:
		return "value"
	}
	return t.Kind().String()
}

// fieldAt returns the path (process.args[0], linux.sysctl["x"]) of the
// value that ends at byte offset end, which is where encoding/json reports
// a type mismatch (for an object or array: just past its opening bracket).
// UnmarshalTypeError.Field drops array indices and map keys.
func fieldAt(data []byte, end int64) string {
	type frame struct {
		array   bool
		index   int
		key     string
		wantKey bool
	}
	var stack []*frame
	path := func() string {
		var b strings.Builder
		for i, f := range stack {
			switch {
			case f.array:
				b.WriteString("[" + strconv.Itoa(f.index) + "]")
			case i > 0 && !stack[i-1].array && mapFields[stack[i-1].key]:
				b.WriteString("[" + strconv.Quote(f.key) + "]")
			default:
				if b.Len() > 0 {
					b.WriteByte('.')
				}
				b.WriteString(f.key)
			}
		}
		return b.String()
	}
	next := func() {
		if len(stack) == 0 {
			return
		}
		if top := stack[len(stack)-1]; top.array {
			top.index++
		} else {
			top.wantKey = true
		}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	for {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		if s, ok := tok.(string); ok && len(stack) > 0 && stack[len(stack)-1].wantKey {
			stack[len(stack)-1].key = s
			stack[len(stack)-1].wantKey = false
			continue
		}
		switch tok {
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			next()
			continue
		}
		if dec.InputOffset() == end {
			return path()
		}
		if dec.InputOffset() > end {
			return ""
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{wantKey: true})
		case json.Delim('['):
			stack = append(stack, &frame{array: true})
		default:
			next()
		}
	}
}

// Map-valued spec fields whose keys are data, not field names, and so are
// written as ["key"].
var mapFields = map[string]bool{
	"annotations": true,
	"sysctl":      true,
	"timeOffsets": true,
	"netDevices":  true,
	"unified":     true,
	"rdma":        true,
}
