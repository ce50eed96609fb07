package subid

import (
	"reflect"
	"testing"
)

func TestRanges(t *testing.T) {
	data := "alice:100000:65536\nbob:165536:65536\n# comment\n1000:300000:10\nalice:400000:0\nalice:bad:5\nalice:500000:100\n"
	got := Ranges(data, "alice", 1000)
	want := []Range{{100000, 65536}, {300000, 10}, {500000, 100}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Ranges = %v, want %v", got, want)
	}
	if s := Format(got); s != "100000-165535, 300000-300009, 500000-500099" {
		t.Errorf("Format = %q", s)
	}
	if got := Ranges(data, "carol", 1002); got != nil {
		t.Errorf("Ranges(carol) = %v, want none", got)
	}
}
