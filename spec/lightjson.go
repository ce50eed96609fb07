package spec

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// A decoder for config.json that builds only what the file holds.
//
// encoding/json, on the first decode of a struct type in a process, also
// builds the encoders of every type reachable from it: decoding "{}" into a
// specs.Spec costs a fresh berth process ~0.9 ms here, every create pays
// it, and the whole of a create is ~10 ms. This decoder walks the document
// itself and hands encoding/json only leaves (strings, numbers, lists and
// maps of them), which need no struct machinery. It reads what
// encoding/json reads (tags, case-insensitive keys, last duplicate wins,
// null leaves a value alone); anything else it does not know, and every
// error, sends the caller back to encoding/json, whose result and messages
// are the reference (FuzzLightDecode holds the two to the same result).

var errLightUnsupported = errors.New("light decoder: not handled")

// DecodeJSON is json.Unmarshal into v (a pointer to a struct) without
// the cost of building encoders for v's whole type: the light decoder,
// and encoding/json for what it leaves (errors included).
func DecodeJSON(data []byte, v any) error {
	if lightDecode(data, v) == nil {
		return nil
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer && !rv.IsNil() {
		rv.Elem().SetZero()
	}
	return json.Unmarshal(data, v)
}

// lightDecode decodes data into v (a pointer to a struct).
func lightDecode(data []byte, v any) error {
	if !json.Valid(data) {
		return errLightUnsupported
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return errLightUnsupported
	}
	return decodeLight(trimSpace(data), rv.Elem())
}

var (
	unmarshalerType     = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// selfDecoding: a type that decodes itself (time.Time, json.RawMessage) is
// encoding/json's to decode.
func selfDecoding(t reflect.Type) bool {
	p := reflect.PointerTo(t)
	return p.Implements(unmarshalerType) || p.Implements(textUnmarshalerType)
}

// needsWalk reports whether t holds a struct somewhere (arrays of structs
// are left to encoding/json whole, which would bring its cost back).
func needsWalk(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Struct:
		return true
	case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Map:
		return needsWalk(t.Elem())
	}
	return false
}

func decodeLight(raw []byte, v reflect.Value) error {
	t := v.Type()
	if selfDecoding(t) {
		return json.Unmarshal(raw, v.Addr().Interface())
	}
	if string(raw) == "null" {
		switch t.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface:
			v.SetZero()
		}
		return nil
	}
	// The common leaves are read here; what does not fit the plain form
	// (escapes, floats, overflow, a wrong type) goes to encoding/json,
	// which decodes it or says what is wrong.
	switch t.Kind() {
	case reflect.String:
		if s, ok := plainString(raw); ok {
			v.SetString(s)
			return nil
		}
	case reflect.Bool:
		if string(raw) == "true" || string(raw) == "false" {
			v.SetBool(raw[0] == 't')
			return nil
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if n, err := strconv.ParseInt(string(raw), 10, t.Bits()); err == nil {
			v.SetInt(n)
			return nil
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if n, err := strconv.ParseUint(string(raw), 10, t.Bits()); err == nil {
			v.SetUint(n)
			return nil
		}
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(t.Elem()))
		}
		return decodeLight(raw, v.Elem())
	case reflect.Struct:
		return decodeStruct(raw, v)
	case reflect.Slice:
		if raw[0] == '[' && t.Elem().Kind() != reflect.Uint8 {
			elems := splitArray(raw)
			s := reflect.MakeSlice(t, len(elems), len(elems))
			for i, e := range elems {
				if err := decodeLight(e, s.Index(i)); err != nil {
					return err
				}
			}
			v.Set(s)
			return nil
		}
	case reflect.Map:
		if raw[0] == '{' && t.Key().Kind() == reflect.String && !selfDecoding(t.Key()) {
			if v.IsNil() {
				v.Set(reflect.MakeMap(t))
			}
			return eachMember(raw, func(key string, val []byte) error {
				e := reflect.New(t.Elem()).Elem()
				if err := decodeLight(val, e); err != nil {
					return err
				}
				v.SetMapIndex(reflect.ValueOf(key).Convert(t.Key()), e)
				return nil
			})
		}
	}
	if needsWalk(t) {
		// A struct in a shape encoding/json would reject or that is not
		// handled here (an array of structs): the caller starts over.
		return errLightUnsupported
	}
	return json.Unmarshal(raw, v.Addr().Interface())
}

// plainString returns the contents of a JSON string without escapes, in
// valid UTF-8: then its bytes are the string.
func plainString(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	body := raw[1 : len(raw)-1]
	if bytes.IndexByte(body, '\\') >= 0 || !utf8.Valid(body) {
		return "", false
	}
	return string(body), true
}

type lightField struct {
	name  string
	index []int
}

var lightFields sync.Map // reflect.Type -> []lightField, or error

// fieldsOf lists the JSON names of t's fields as encoding/json sees them,
// those of untagged embedded structs promoted; ",string", embedded
// pointers and names given twice are left to encoding/json.
func fieldsOf(t reflect.Type) ([]lightField, error) {
	if f, ok := lightFields.Load(t); ok {
		if err, bad := f.(error); bad {
			return nil, err
		}
		return f.([]lightField), nil
	}
	out, err := collectFields(t, nil)
	seen := map[string]bool{}
	for _, f := range out {
		if seen[f.name] {
			err = errLightUnsupported
		}
		seen[f.name] = true
	}
	if err != nil {
		lightFields.Store(t, err)
		return nil, err
	}
	lightFields.Store(t, out)
	return out, nil
}

func collectFields(t reflect.Type, prefix []int) ([]lightField, error) {
	var out []lightField
	for i := range t.NumField() {
		sf := t.Field(i)
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		index := append(append([]int{}, prefix...), i)
		if sf.Anonymous && name == "" {
			if sf.Type.Kind() != reflect.Struct {
				return nil, errLightUnsupported
			}
			inner, err := collectFields(sf.Type, index)
			if err != nil {
				return nil, err
			}
			out = append(out, inner...)
			continue
		}
		if !sf.IsExported() {
			continue
		}
		if strings.Contains(","+opts+",", ",string,") {
			return nil, errLightUnsupported
		}
		if name == "" {
			name = sf.Name
		}
		out = append(out, lightField{name, index})
	}
	return out, nil
}

func decodeStruct(raw []byte, v reflect.Value) error {
	if raw[0] != '{' {
		return errLightUnsupported
	}
	fields, err := fieldsOf(v.Type())
	if err != nil {
		return err
	}
	return eachMember(raw, func(key string, val []byte) error {
		var idx []int
		for _, f := range fields {
			if f.name == key {
				idx = f.index
				break
			}
		}
		if idx == nil {
			for _, f := range fields {
				if strings.EqualFold(f.name, key) {
					idx = f.index
					break
				}
			}
		}
		if idx == nil {
			return nil // unknown keys are ignored, as encoding/json does
		}
		return decodeLight(val, v.FieldByIndex(idx))
	})
}

// The scanners below run on JSON json.Valid has accepted.

func trimSpace(b []byte) []byte {
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// valueEnd returns the index just past the value starting at b[i].
func valueEnd(b []byte, i int) int {
	switch b[i] {
	case '"':
		for i++; ; i++ {
			switch b[i] {
			case '\\':
				i++
			case '"':
				return i + 1
			}
		}
	case '{', '[':
		depth := 0
		for ; ; i++ {
			switch b[i] {
			case '"':
				i = valueEnd(b, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
	}
	for i < len(b) && !isSpace(b[i]) && b[i] != ',' && b[i] != '}' && b[i] != ']' {
		i++
	}
	return i
}

// plainKey: no escapes and ASCII only, so the bytes are the key as
// encoding/json would read it (it unescapes and mends invalid UTF-8).
func plainKey(k string) bool {
	for i := 0; i < len(k); i++ {
		if k[i] == '\\' || k[i] >= 0x80 {
			return false
		}
	}
	return true
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// splitArray returns the elements of a JSON array.
func splitArray(b []byte) [][]byte {
	var out [][]byte
	i := skipSpace(b, 1)
	for b[i] != ']' {
		end := valueEnd(b, i)
		out = append(out, b[i:end])
		i = skipSpace(b, end)
		if b[i] == ',' {
			i = skipSpace(b, i+1)
		}
	}
	return out
}

// eachMember calls fn for each member of a JSON object, in order.
func eachMember(b []byte, fn func(key string, val []byte) error) error {
	i := skipSpace(b, 1)
	for b[i] != '}' {
		kend := valueEnd(b, i)
		key := string(b[i+1 : kend-1])
		if !plainKey(key) {
			if err := json.Unmarshal(b[i:kend], &key); err != nil {
				return err
			}
		}
		i = skipSpace(b, kend)
		i = skipSpace(b, i+1) // ':'
		vend := valueEnd(b, i)
		if err := fn(key, b[i:vend]); err != nil {
			return err
		}
		i = skipSpace(b, vend)
		if b[i] == ',' {
			i = skipSpace(b, i+1)
		}
	}
	return nil
}
