package main

import "testing"

// TestMemSize: update's memory flags read sizes as runc's do.
func TestMemSize(t *testing.T) {
	for in, want := range map[string]int64{
		"-1": -1, "0": 0, "512": 512, "1k": 1024, "1M": 1 << 20, "1m": 1 << 20, "0.5M": 512 << 10,
		"2 MB": 2 << 20, "1MiB": 1 << 20, "1gb": 1 << 30, "3G": 3 << 30, "1t": 1 << 40, "1P": 1 << 50, "7b": 7,
	} {
		if got, err := memSize(in); err != nil || got != want {
			t.Errorf("memSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-5", "1x", "M", ".5M", "1.M", "1.5.3", " 1M", "1  M", "1Mx", "1e3", "9999999P"} {
		if got, err := memSize(in); err == nil {
			t.Errorf("memSize(%q) = %d, want an error", in, got)
		}
	}
}
