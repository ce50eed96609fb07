package lsm

import (
	"strings"
	"testing"

	"berth/internal/mountinfo"
)

func TestHasSelinuxfs(t *testing.T) {
	const base = "22 1 0:21 / /proc rw,nosuid - proc proc rw\n" +
		"23 1 0:22 / /sys rw - sysfs sysfs rw\n"
	if hasSelinuxfs(parse(t, base)) {
		t.Error("found selinuxfs in a table without one")
	}
	with := base + "40 23 0:30 / /sys/fs/selinux rw,relatime - selinuxfs selinuxfs rw\n"
	if !hasSelinuxfs(parse(t, with)) {
		t.Error("missed the selinuxfs mount")
	}
	// Optional fields before the separator must not confuse the parser.
	tagged := "41 23 0:31 / /selinux rw shared:5 master:1 - selinuxfs none rw\n"
	if !hasSelinuxfs(parse(t, tagged)) {
		t.Error("missed a selinuxfs mount with optional fields")
	}
	// A mount point named selinuxfs is not the filesystem type.
	decoy := "42 1 0:32 / /selinuxfs rw - tmpfs selinuxfs rw\n"
	if hasSelinuxfs(parse(t, decoy)) {
		t.Error("took a tmpfs named selinuxfs for selinuxfs")
	}
}

func TestValidateLabel(t *testing.T) {
	for label, want := range map[string]string{
		"system_u:system_r:container_t:s0":             "",
		"system_u:system_r:container_t:s0:c1,c2":       "",
		"system_u:system_r:container_t":                "",
		"system_u:system_r:container_t:s0-s0:c0.c1023": "",
		"":                     "must not be empty",
		"container_t":          "got 1 field(s)",
		"u:r":                  "got 2 field(s)",
		"u::t":                 "field 2 is empty",
		`u:r:t:s0",context="x`: "double quotes",
		"u:r:t s0":             "spaces",
		"u:r:t\n":              "control character",
	} {
		err := ValidateLabel(label)
		if want == "" && err != nil || want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
			t.Errorf("ValidateLabel(%q) = %v, want %q", label, err, want)
		}
	}
}

func parse(t *testing.T, table string) []mountinfo.Mount {
	t.Helper()
	ms, err := mountinfo.Parse(strings.NewReader(table))
	if err != nil {
		t.Fatal(err)
	}
	return ms
}
