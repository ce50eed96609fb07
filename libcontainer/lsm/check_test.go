package lsm

import (
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestCheckHost(t *testing.T) {
	on := func() bool { return true }
	off := func() bool { return false }
	const label = "system_u:system_r:container_t:s0:c1,c2"
	for _, tc := range []struct {
		name                      string
		profile, proc, mountLabel string
		appArmor, seLinux         func() bool
		want                      string // "" for no error
	}{
		{name: "nothing asked", appArmor: off, seLinux: off},
		{name: "apparmor on", profile: "berth-test", appArmor: on, seLinux: off},
		{name: "apparmor off", profile: "berth-test", appArmor: off, seLinux: on,
			want: `process.apparmorProfile "berth-test": AppArmor is not enabled on this host (/sys/module/apparmor/parameters/enabled is not Y)`},
		{name: "apparmor bad name", profile: "a\x00b", appArmor: on, seLinux: on,
			want: `process.apparmorProfile "a\x00b": contains the control character`},
		{name: "selinux on", proc: label, mountLabel: label, appArmor: off, seLinux: on},
		{name: "selinux off", proc: label, appArmor: on, seLinux: off,
			want: `process.selinuxLabel "` + label + `": SELinux is not enabled on this host (no selinuxfs mounted)`},
		{name: "mountLabel off", mountLabel: label, appArmor: on, seLinux: off,
			want: `linux.mountLabel "` + label + `": SELinux is not enabled on this host`},
		{name: "mountLabel bad", mountLabel: "nolabel", appArmor: on, seLinux: on,
			want: `linux.mountLabel "nolabel": want user:role:type[:level]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkHost(tc.profile, tc.proc, tc.mountLabel, tc.appArmor, tc.seLinux)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestCheckHostNothingAsked: with no LSM field nothing is probed, so the
// common path costs nothing and passes on any host.
func TestCheckHostNothingAsked(t *testing.T) {
	if err := CheckHost(&specs.Process{Args: []string{"sh"}}, ""); err != nil {
		t.Fatal(err)
	}
	if err := CheckHost(nil, ""); err != nil {
		t.Fatal(err)
	}
}
