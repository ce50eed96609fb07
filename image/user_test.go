package image

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestResolveUser(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	os.WriteFile(filepath.Join(root, "etc/passwd"), []byte(`# comment
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1::/:/sbin/nologin
app:x:1000:1000:App:/home/app:/bin/sh
+nis
broken:x:notanumber:1::/:
`), 0o644)
	os.WriteFile(filepath.Join(root, "etc/group"), []byte(`root:x:0:
daemon:x:1:
wheel:x:10:app,root
audio:x:29: app
app:x:1000:app
web:x:33:
`), 0o644)

	cases := []struct {
		in      string
		want    specs.User
		wantErr string
	}{
		{in: "", want: specs.User{}},
		{in: "0", want: specs.User{}},
		{in: "1000", want: specs.User{UID: 1000, GID: 1000}},
		{in: "4242", want: specs.User{UID: 4242, GID: 0}},
		{in: "1000:33", want: specs.User{UID: 1000, GID: 33}},
		{in: "4242:4343", want: specs.User{UID: 4242, GID: 4343}},
		{in: "app", want: specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{10, 29}}},
		{in: "daemon", want: specs.User{UID: 1, GID: 1}},
		{in: "app:web", want: specs.User{UID: 1000, GID: 33}},
		{in: "app:1", want: specs.User{UID: 1000, GID: 1}},
		{in: "1000:wheel", want: specs.User{UID: 1000, GID: 10}},
		{in: "nobody", wantErr: `no user "nobody" in the image's /etc/passwd`},
		{in: "app:nogroup", wantErr: `no group "nogroup" in the image's /etc/group`},
		{in: "broken", wantErr: `no user "broken"`},
		{in: ":1", wantErr: "want user"},
		{in: "app:", wantErr: "want user"},
	}
	for _, c := range cases {
		got, err := ResolveUser(root, c.in)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("ResolveUser(%q) = %+v, %v; want error with %q", c.in, got, err, c.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("ResolveUser(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}

	// /etc/passwd is read inside the rootfs: a symlink to the host's file
	// resolves to the rootfs's own path.
	evil := t.TempDir()
	os.MkdirAll(filepath.Join(evil, "etc"), 0o755)
	os.Symlink("/etc/passwd", filepath.Join(evil, "etc/passwd"))
	if _, err := ResolveUser(evil, "root"); err == nil {
		t.Error("ResolveUser followed etc/passwd -> /etc/passwd out of the rootfs")
	}
	// Numeric users need no files at all.
	if got, err := ResolveUser(t.TempDir(), "5:6"); err != nil || got.UID != 5 || got.GID != 6 {
		t.Errorf("numeric user without /etc: %+v, %v", got, err)
	}
}
