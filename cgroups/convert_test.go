package cgroups

import (
	"strings"
	"testing"
)

func TestSharesToWeight(t *testing.T) {
	for _, tc := range []struct{ shares, weight uint64 }{
		{0, 0}, {2, 1}, {262144, 10000}, {1024, 39}, {512, 20}, {100, 4}, {131073, 5000},
	} {
		if got := SharesToWeight(tc.shares); got != tc.weight {
			t.Errorf("SharesToWeight(%d) = %d, want %d", tc.shares, got, tc.weight)
		}
	}
}

func TestBlkioWeightToIOWeight(t *testing.T) {
	for _, tc := range []struct{ w, io uint64 }{
		{0, 0}, {10, 1}, {1000, 10000}, {500, 4950}, {100, 910},
	} {
		if got := BlkioWeightToIOWeight(tc.w); got != tc.io {
			t.Errorf("BlkioWeightToIOWeight(%d) = %d, want %d", tc.w, got, tc.io)
		}
	}
}

func TestSwapToV2(t *testing.T) {
	for _, tc := range []struct {
		limit, swap int64
		want, err   string
	}{
		{100, 300, "200", ""},
		{100, 100, "0", ""},
		{100, -1, "max", ""},
		{-1, -1, "max", ""},
		{0, -1, "max", ""},
		{0, 100, "", "needs memory.limit"},
		{-1, 100, "", "unlimited memory.limit"},
		{200, 100, "", "below memory.limit 200"},
		{100, -5, "", "neither -1 nor a size"},
	} {
		got, err := SwapToV2(tc.limit, tc.swap)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("SwapToV2(%d, %d) error = %v, want %q", tc.limit, tc.swap, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("SwapToV2(%d, %d) = %q, %v; want %q", tc.limit, tc.swap, got, err, tc.want)
		}
	}
}

func TestValidPageSize(t *testing.T) {
	for s, ok := range map[string]bool{"2MB": true, "1GB": true, "64KB": true, "16GB": true, "2M": false, "MB": false, "2mb": false, "../x": false, "1.5GB": false} {
		if validPageSize(s) != ok {
			t.Errorf("validPageSize(%q) = %v", s, !ok)
		}
	}
}
