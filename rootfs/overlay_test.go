package rootfs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOverlayLowers(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := OverlayLowers(map[string]string{"other": "x"}); ok || err != nil {
		t.Errorf("no annotation: ok %v err %v", ok, err)
	}
	lowers, ok, err := OverlayLowers(map[string]string{OverlayAnnotation: `["` + dir + `","/"]`})
	if !ok || err != nil || len(lowers) != 2 || lowers[0] != dir {
		t.Errorf("good annotation: %q %v %v", lowers, ok, err)
	}
	for _, bad := range []string{`x`, `[]`, `["rel/dir"]`, `["` + dir + `/../x"]`, `["` + dir + `/missing"]`, `["` + file + `"]`} {
		_, ok, err := OverlayLowers(map[string]string{OverlayAnnotation: bad})
		if !ok || err == nil || !strings.Contains(err.Error(), "annotation "+OverlayAnnotation) {
			t.Errorf("annotation %s: ok %v err %v, want an error naming the annotation", bad, ok, err)
		}
	}
}
