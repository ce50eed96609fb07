package lsm

import (
	"strings"
	"testing"
)

func TestParseAppArmorEnabled(t *testing.T) {
	for in, want := range map[string]bool{"Y\n": true, "Y": true, "N\n": false, "": false, "y\n": false} {
		if got := parseAppArmorEnabled(in); got != want {
			t.Errorf("parseAppArmorEnabled(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestValidateProfile(t *testing.T) {
	for name, want := range map[string]string{
		"docker-default":          "",
		"unconfined":              "",
		"/usr/bin/foo":            "",
		":ns:profile//&other":     "",
		"":                        "must not be empty",
		"a\nexec unconfined":      "control character",
		"a\x00":                   "control character",
		" a":                      "white space",
		strings.Repeat("p", 4001): "longer than 4000 bytes",
	} {
		err := ValidateProfile(name)
		if want == "" && err != nil || want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
			t.Errorf("ValidateProfile(%.20q) = %v, want %q", name, err, want)
		}
	}
}
