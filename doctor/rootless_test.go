package doctor

import (
	"os"
	"strings"
	"testing"
)

func TestSubidCheck(t *testing.T) {
	c := subidCheck(1000, "me", "me:100000:65536\n", "other:1:2\n1000:200000:10\n")
	if c.Status != OK || c.Detail != "/etc/subuid: 100000-165535; /etc/subgid: 200000-200009" {
		t.Errorf("both files give ranges: %+v", c)
	}
	c = subidCheck(1000, "me", "", "me:100000:65536\n")
	if c.Status != Warn || !strings.Contains(c.Detail, "/etc/subuid: none for me") || !strings.Contains(c.Hint, "usermod --add-subuids") {
		t.Errorf("no subuid range: %+v", c)
	}
}

func TestXdgCheck(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if c := xdgCheck(os.Geteuid(), dir); c.Status != OK {
		t.Errorf("own 0700 dir: %+v", c)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if c := xdgCheck(os.Geteuid(), dir); c.Status != Warn || !strings.Contains(c.Hint, "0700") {
		t.Errorf("0755 dir: %+v", c)
	}
	if c := xdgCheck(os.Geteuid(), dir+"/none"); c.Status != Warn || !strings.Contains(c.Detail, "ENOENT") {
		t.Errorf("missing dir: %+v", c)
	}
	if c := xdgCheck(os.Geteuid()+4242, dir); c.Status != Warn {
		t.Errorf("dir of another uid: %+v", c)
	}
}
