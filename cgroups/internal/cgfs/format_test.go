package cgfs

import "testing"

func TestFormats(t *testing.T) {
	if MaxOr(-1) != "max" || MaxOr(0) != "0" || MaxOr(42) != "42" {
		t.Error("MaxOr")
	}
	if Devnum(8, 16) != "8:16" || BoolNum(true) != "1" || BoolNum(false) != "0" {
		t.Error("Devnum, BoolNum")
	}
	if v, err := ParseUint("max", ""); err != nil || v != ^uint64(0) {
		t.Errorf("ParseUint(max) = %d, %v", v, err)
	}
	if v, err := ParseUint("-1", ""); err != nil || v != ^uint64(0) {
		t.Errorf("ParseUint(-1) = %d, %v", v, err)
	}
	if _, err := ParseUint("x", "f"); err == nil {
		t.Error("ParseUint(x) accepted")
	}
}
