package libcontainer

import (
	"slices"
	"testing"
)

func TestNormalizeEnv(t *testing.T) {
	for _, tc := range []struct {
		in, want []string
	}{
		{nil, []string{}},
		{[]string{"A=1", "B=2"}, []string{"A=1", "B=2"}},
		// First place, last value (runc's init gives the same).
		{[]string{"A=1", "HOME=", "PATH=/bin", "B=2", "A=3", "C=x=y", "B="}, []string{"A=3", "HOME=", "PATH=/bin", "B=", "C=x=y"}},
		{[]string{"HOME=/x", "HOME="}, []string{"HOME="}},
		{[]string{"HOME=", "HOME=/x"}, []string{"HOME=/x"}},
		// A variable and a longer one sharing its prefix are two variables.
		{[]string{"A=1", "AB=2", "A=3"}, []string{"A=3", "AB=2"}},
	} {
		if got := normalizeEnv(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("normalizeEnv(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
