package caps

import (
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestFromSpec(t *testing.T) {
	if LastCap() < 40 {
		t.Skipf("kernel knows capabilities up to %d; the table below assumes 40", LastCap())
	}
	for _, tc := range []struct {
		name     string
		in       *specs.LinuxCapabilities
		want     Sets
		warnings []string
		wantErr  string
	}{
		{name: "nil means no capabilities", in: nil, want: Sets{}},
		{name: "empty", in: &specs.LinuxCapabilities{}, want: Sets{}},
		{
			name: "runc default",
			in: &specs.LinuxCapabilities{
				Bounding:  []string{"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"},
				Effective: []string{"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"},
				Permitted: []string{"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"},
			},
			want: Sets{Bounding: 0x20000420, Effective: 0x20000420, Permitted: 0x20000420},
		},
		{
			name: "high half and duplicates",
			in: &specs.LinuxCapabilities{
				Bounding:    []string{"CAP_CHECKPOINT_RESTORE", "CAP_BPF", "CAP_BPF", "CAP_SETFCAP"},
				Permitted:   []string{"CAP_CHECKPOINT_RESTORE", "CAP_SETFCAP"},
				Effective:   []string{"CAP_CHECKPOINT_RESTORE"},
				Inheritable: []string{"CAP_CHECKPOINT_RESTORE"},
				Ambient:     []string{"CAP_CHECKPOINT_RESTORE"},
			},
			want: Sets{
				Bounding:    1<<40 | 1<<39 | 1<<31,
				Permitted:   1<<40 | 1<<31,
				Effective:   1 << 40,
				Inheritable: 1 << 40,
				Ambient:     1 << 40,
			},
		},
		{
			name: "unknown names are left out with a warning naming the field",
			in: &specs.LinuxCapabilities{
				Bounding:  []string{"CAP_KILL", "cap_net_raw"},
				Permitted: []string{"CAP_KILL", "CAP_FOO"},
				Effective: []string{"CAP_FOO"},
			},
			want: Sets{Bounding: 1 << 5, Permitted: 1 << 5},
			warnings: []string{
				`process.capabilities.bounding[1]: unknown capability "cap_net_raw" (did you mean "CAP_NET_RAW"?); ignored`,
				`process.capabilities.effective[0]: unknown capability "CAP_FOO"; ignored`,
				`process.capabilities.permitted[1]: unknown capability "CAP_FOO"; ignored`,
			},
		},
		{
			name:    "effective outside permitted",
			in:      &specs.LinuxCapabilities{Effective: []string{"CAP_KILL"}},
			wantErr: "process.capabilities.effective: CAP_KILL is not in the permitted set",
		},
		{
			name:    "inheritable outside bounding",
			in:      &specs.LinuxCapabilities{Bounding: []string{"CAP_KILL"}, Inheritable: []string{"CAP_NET_RAW"}},
			wantErr: "process.capabilities.inheritable: CAP_NET_RAW is not in the bounding set",
		},
		{
			name: "ambient not raisable is dropped with a warning",
			in: &specs.LinuxCapabilities{
				Bounding:    []string{"CAP_KILL", "CAP_NET_RAW"},
				Permitted:   []string{"CAP_KILL", "CAP_NET_RAW"},
				Inheritable: []string{"CAP_KILL"},
				Ambient:     []string{"CAP_KILL", "CAP_NET_RAW", "CAP_CHOWN"},
			},
			want: Sets{Bounding: 1<<5 | 1<<13, Permitted: 1<<5 | 1<<13, Inheritable: 1 << 5, Ambient: 1 << 5},
			warnings: []string{
				"process.capabilities.ambient: CAP_CHOWN is not in both the permitted and inheritable sets, so it cannot be raised; ignored",
				"process.capabilities.ambient: CAP_NET_RAW is not in both the permitted and inheritable sets, so it cannot be raised; ignored",
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, warnings, err := FromSpec(tc.in)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if *got != tc.want {
				t.Errorf("sets = %+v, want %+v", *got, tc.want)
			}
			if !reflect.DeepEqual(warnings, tc.warnings) {
				t.Errorf("warnings = %q, want %q", warnings, tc.warnings)
			}
		})
	}
}

func TestFromSpecDropsCapsTheKernelLacks(t *testing.T) {
	old := lastCap
	defer func() { lastCap = old }()
	lastCap = func() int { return 37 } // pretend: a 5.4 kernel, no PERFMON/BPF/CHECKPOINT_RESTORE

	got, warnings, err := FromSpec(&specs.LinuxCapabilities{
		Bounding:  []string{"CAP_KILL", "CAP_BPF", "CAP_PERFMON"},
		Permitted: []string{"CAP_BPF"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := (Sets{Bounding: 1 << 5}); *got != want {
		t.Errorf("sets = %+v, want %+v", *got, want)
	}
	if len(warnings) != 3 {
		t.Fatalf("warnings = %q, want 3", warnings)
	}
	if !strings.Contains(warnings[0], "process.capabilities.bounding[1]: CAP_BPF is not supported by the running kernel (last capability 37)") {
		t.Errorf("warning = %q", warnings[0])
	}
}
