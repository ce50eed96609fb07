package lsm

import (
	"reflect"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestExecWrites: what the executor writes for the LSM fields, decided
// here: AppArmor's exec attribute first, tested with "permprofile" so a
// missing profile fails create, then SELinux's in attr/exec (no directory
// of its own), with the messages' texts; nothing when neither is set.
func TestExecWrites(t *testing.T) {
	if ws := ExecWrites(&specs.Process{}); ws != nil {
		t.Errorf("no LSM field: %+v", ws)
	}
	if ws := ExecWrites(nil); ws != nil {
		t.Errorf("no process: %+v", ws)
	}
	got := ExecWrites(&specs.Process{ApparmorProfile: "berth-test", SelinuxLabel: "system_u:system_r:container_t:s0"})
	want := []ExecWrite{
		{Dir: "apparmor", Value: "exec berth-test", Quoted: `"exec berth-test"`,
			Test: "permprofile berth-test", TestQuoted: `"permprofile"`, Missing: "no such profile is loaded",
			Field: `process.apparmorProfile "berth-test"`},
		{Value: "system_u:system_r:container_t:s0", Quoted: `"system_u:system_r:container_t:s0"`,
			Field: `process.selinuxLabel "system_u:system_r:container_t:s0"`},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}
