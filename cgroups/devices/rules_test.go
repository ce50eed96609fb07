package devices

import (
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func i64(v int64) *int64 { return &v }

func TestFromSpecValidates(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   specs.LinuxDeviceCgroup
		want string // error substring, "" for success
	}{
		{"deny all", specs.LinuxDeviceCgroup{Allow: false, Access: "rwm"}, ""},
		{"char", specs.LinuxDeviceCgroup{Allow: true, Type: "c", Major: i64(1), Minor: i64(3), Access: "rw"}, ""},
		{"empty access is rwm", specs.LinuxDeviceCgroup{Allow: true, Type: "b"}, ""},
		{"bad type", specs.LinuxDeviceCgroup{Type: "x"}, `devices[0].type: "x"`},
		{"bad access", specs.LinuxDeviceCgroup{Access: "rwx"}, `devices[0].access "rwx"`},
		{"a ignored", specs.LinuxDeviceCgroup{Allow: true, Type: "c", Access: "rwa"}, ""},
		{"only a", specs.LinuxDeviceCgroup{Allow: true, Type: "c", Access: "a"}, `devices[0].access "a": names none`},
		{"negative major", specs.LinuxDeviceCgroup{Major: i64(-2)}, "devices[0].major: -2"},
		{"huge minor", specs.LinuxDeviceCgroup{Minor: i64(1 << 20)}, "devices[0].minor: 1048576"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := FromSpec([]specs.LinuxDeviceCgroup{tc.in})
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestEffectiveOrder(t *testing.T) {
	rules, err := Effective([]specs.LinuxDeviceCgroup{{Allow: true, Type: "c", Major: i64(10), Minor: i64(200), Access: "rwm"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) != 2+len(Defaults) || rules[0] != DenyAll || rules[1].Major != 10 || rules[len(rules)-1] != Defaults[len(Defaults)-1] {
		t.Fatalf("effective list = %+v", rules)
	}
}

func TestAllowed(t *testing.T) {
	eff := func(r ...specs.LinuxDeviceCgroup) []Rule {
		rules, err := Effective(r)
		if err != nil {
			t.Fatal(err)
		}
		return rules
	}
	for _, tc := range []struct {
		name         string
		rules        []Rule
		t            Type
		major, minor int64
		want         Access
		ok           bool
	}{
		{"default null", eff(), Char, 1, 3, Read | Write, true},
		{"default pts", eff(), Char, 136, 7, Read | Write, true},
		{"not listed", eff(), Char, 1, 11, Read, false},
		{"block not listed", eff(), Block, 8, 0, Read, false},
		{"spec allows read only: read", eff(specs.LinuxDeviceCgroup{Allow: true, Type: "c", Major: i64(1), Minor: i64(11), Access: "r"}), Char, 1, 11, Read, true},
		{"spec allows read only: rw", eff(specs.LinuxDeviceCgroup{Allow: true, Type: "c", Major: i64(1), Minor: i64(11), Access: "r"}), Char, 1, 11, Read | Write, false},
		{"spec cannot deny a default", eff(specs.LinuxDeviceCgroup{Allow: false, Type: "c", Major: i64(1), Minor: i64(3), Access: "rwm"}), Char, 1, 3, Read, true},
		{"later deny of one bit", eff(
			specs.LinuxDeviceCgroup{Allow: true, Type: "b", Major: i64(8), Access: "rwm"},
			specs.LinuxDeviceCgroup{Allow: false, Type: "b", Major: i64(8), Minor: i64(1), Access: "w"},
		), Block, 8, 1, Read, true},
		{"later deny of one bit: write", eff(
			specs.LinuxDeviceCgroup{Allow: true, Type: "b", Major: i64(8), Access: "rwm"},
			specs.LinuxDeviceCgroup{Allow: false, Type: "b", Major: i64(8), Minor: i64(1), Access: "w"},
		), Block, 8, 1, Write, false},
		{"type a matches block", eff(specs.LinuxDeviceCgroup{Allow: true, Major: i64(8), Access: "r"}), Block, 8, 5, Read, true},
		{"privileged", eff(specs.LinuxDeviceCgroup{Allow: true, Access: "rwm"}), Block, 259, 0, Read | Write | Mknod, true},
		{"rwa is rw", eff(specs.LinuxDeviceCgroup{Allow: true, Type: "c", Major: i64(1), Minor: i64(11), Access: "rwa"}), Char, 1, 11, Read | Write, true},
		{"rwa is not m", eff(specs.LinuxDeviceCgroup{Allow: true, Type: "c", Major: i64(1), Minor: i64(11), Access: "rwa"}), Char, 1, 11, Mknod, false},
		{"mknod only", eff(specs.LinuxDeviceCgroup{Allow: true, Type: "c", Access: "m"}), Char, 4, 4, Mknod, true},
		{"mknod only: read", eff(specs.LinuxDeviceCgroup{Allow: true, Type: "c", Access: "m"}), Char, 4, 4, Read, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Allowed(tc.rules, tc.t, tc.major, tc.minor, tc.want); got != tc.ok {
				t.Fatalf("Allowed(%c %d:%d %s) = %v, want %v", tc.t, tc.major, tc.minor, tc.want, got, tc.ok)
			}
		})
	}
}

func TestAllowsAll(t *testing.T) {
	all := []Rule{DenyAll, {Allow: true, Type: All, Major: Wildcard, Minor: Wildcard, Access: RWM}}
	if !AllowsAll(append(slices.Clone(all), Defaults...)) {
		t.Fatal("privileged list should allow all")
	}
	if AllowsAll(append(slices.Clone(all), Rule{Allow: false, Type: Char, Major: 1, Minor: 1, Access: Read})) {
		t.Fatal("a deny after allow-all must keep the filter")
	}
	if AllowsAll(append([]Rule{DenyAll}, Defaults...)) {
		t.Fatal("the default list does not allow all")
	}
	if AllowsAll([]Rule{{Allow: true, Type: All, Major: Wildcard, Minor: Wildcard, Access: Read | Write}}) {
		t.Fatal("allow rw is not allow rwm")
	}
}

func TestV1Writes(t *testing.T) {
	rules, err := Effective([]specs.LinuxDeviceCgroup{
		{Allow: false, Access: "rwm"},
		{Allow: true, Type: "c", Major: i64(10), Minor: i64(200), Access: "rw"},
		{Allow: true, Major: i64(8), Access: "r"},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := V1Writes(rules)
	want := []V1Write{
		{"devices.deny", "a", "default deny-all"},
		{"devices.deny", "a", "linux.resources.devices[0]"},
		{"devices.allow", "c 10:200 rw", "linux.resources.devices[1]"},
		{"devices.allow", "c 8:* r", "linux.resources.devices[2]"},
		{"devices.allow", "b 8:* r", "linux.resources.devices[2]"},
		{"devices.allow", "c 1:3 rwm", "default allow-list (/dev/null)"},
	}
	if !slices.Equal(got[:len(want)], want) {
		t.Fatalf("writes =\n%v\nwant prefix\n%v", got, want)
	}
	if last := got[len(got)-1]; last.Value != "c 136:* rwm" {
		t.Fatalf("last write = %+v, want the pts rule", last)
	}
}

func TestV1List(t *testing.T) {
	rules, _ := Effective([]specs.LinuxDeviceCgroup{
		{Allow: true, Type: "c", Major: i64(1), Minor: i64(3), Access: "r"}, // merges with the default null
		{Allow: true, Type: "b", Major: i64(8), Minor: i64(0), Access: "rw"},
		{Allow: false, Type: "b", Major: i64(8), Minor: i64(0), Access: "w"},
	})
	lines, ok := V1List(rules)
	if !ok {
		t.Fatal("list should be predictable")
	}
	want := []string{"c 1:3 rwm", "b 8:0 r", "c 1:5 rwm", "c 1:7 rwm", "c 5:0 rwm", "c 1:8 rwm", "c 1:9 rwm", "c 5:1 rwm", "c 5:2 rwm", "c 136:* rwm"}
	if !SameV1List(lines, want) {
		t.Fatalf("list = %q, want %q", lines, want)
	}
	priv, _ := Effective([]specs.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}})
	if lines, ok := V1List(priv); !ok || !SameV1List(lines, []string{"a *:* rwm"}) {
		t.Fatalf("privileged list = %q %v", lines, ok)
	}
	deny, _ := Effective([]specs.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}, {Allow: false, Type: "c", Major: i64(1), Minor: i64(1), Access: "rwm"}})
	if _, ok := V1List(deny); ok {
		t.Fatal("allow-all with an exception cannot be read back from devices.list")
	}
}

// TestEffectiveDenyAll: under a deny-all spec (runc spec's default) the
// container may use the default devices and nothing else; a node that
// linux.devices creates, such as /dev/kmsg, needs a rule of its own.
func TestEffectiveDenyAll(t *testing.T) {
	denyAll := specs.LinuxDeviceCgroup{Allow: false, Access: "rwm"}
	for _, specRules := range [][]specs.LinuxDeviceCgroup{nil, {denyAll}} {
		rules, err := Effective(specRules)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range []struct {
			t            Type
			major, minor int64
		}{{Char, 1, 3}, {Char, 1, 5}, {Char, 1, 7}, {Char, 1, 8}, {Char, 1, 9}, {Char, 5, 0}, {Char, 5, 1}, {Char, 5, 2}, {Char, 136, 0}, {Char, 136, 4242}} {
			if !Allowed(rules, d.t, d.major, d.minor, RWM) {
				t.Errorf("spec %+v: default %c %d:%d not allowed rwm", specRules, d.t, d.major, d.minor)
			}
		}
		for _, d := range []struct {
			t            Type
			major, minor int64
		}{{Char, 1, 11}, {Char, 10, 229}, {Char, 10, 200}, {Char, 4, 0}, {Char, 137, 0}, {Block, 8, 0}, {Block, 1, 3}} {
			for _, bit := range []Access{Read, Write, Mknod} {
				if Allowed(rules, d.t, d.major, d.minor, bit) {
					t.Errorf("spec %+v: %c %d:%d %s allowed, want denied", specRules, d.t, d.major, d.minor, bit)
				}
			}
		}
	}
	rules, err := Effective([]specs.LinuxDeviceCgroup{denyAll, {Allow: true, Type: "c", Major: i64(1), Minor: i64(11), Access: "w"}})
	if err != nil {
		t.Fatal(err)
	}
	if !Allowed(rules, Char, 1, 11, Write) || Allowed(rules, Char, 1, 11, Read) {
		t.Errorf("an allow rule for c 1:11 w must grant write and only write")
	}
}
