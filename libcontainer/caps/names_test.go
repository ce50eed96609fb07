package caps

import (
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// The kernel header constants in x/sys are an independent source for the
// hand-written table.
var kernelCaps = map[int]string{
	unix.CAP_CHOWN:              "CAP_CHOWN",
	unix.CAP_DAC_OVERRIDE:       "CAP_DAC_OVERRIDE",
	unix.CAP_DAC_READ_SEARCH:    "CAP_DAC_READ_SEARCH",
	unix.CAP_FOWNER:             "CAP_FOWNER",
	unix.CAP_FSETID:             "CAP_FSETID",
	unix.CAP_KILL:               "CAP_KILL",
	unix.CAP_SETGID:             "CAP_SETGID",
	unix.CAP_SETUID:             "CAP_SETUID",
	unix.CAP_SETPCAP:            "CAP_SETPCAP",
	unix.CAP_LINUX_IMMUTABLE:    "CAP_LINUX_IMMUTABLE",
	unix.CAP_NET_BIND_SERVICE:   "CAP_NET_BIND_SERVICE",
	unix.CAP_NET_BROADCAST:      "CAP_NET_BROADCAST",
	unix.CAP_NET_ADMIN:          "CAP_NET_ADMIN",
	unix.CAP_NET_RAW:            "CAP_NET_RAW",
	unix.CAP_IPC_LOCK:           "CAP_IPC_LOCK",
	unix.CAP_IPC_OWNER:          "CAP_IPC_OWNER",
	unix.CAP_SYS_MODULE:         "CAP_SYS_MODULE",
	unix.CAP_SYS_RAWIO:          "CAP_SYS_RAWIO",
	unix.CAP_SYS_CHROOT:         "CAP_SYS_CHROOT",
	unix.CAP_SYS_PTRACE:         "CAP_SYS_PTRACE",
	unix.CAP_SYS_PACCT:          "CAP_SYS_PACCT",
	unix.CAP_SYS_ADMIN:          "CAP_SYS_ADMIN",
	unix.CAP_SYS_BOOT:           "CAP_SYS_BOOT",
	unix.CAP_SYS_NICE:           "CAP_SYS_NICE",
	unix.CAP_SYS_RESOURCE:       "CAP_SYS_RESOURCE",
	unix.CAP_SYS_TIME:           "CAP_SYS_TIME",
	unix.CAP_SYS_TTY_CONFIG:     "CAP_SYS_TTY_CONFIG",
	unix.CAP_MKNOD:              "CAP_MKNOD",
	unix.CAP_LEASE:              "CAP_LEASE",
	unix.CAP_AUDIT_WRITE:        "CAP_AUDIT_WRITE",
	unix.CAP_AUDIT_CONTROL:      "CAP_AUDIT_CONTROL",
	unix.CAP_SETFCAP:            "CAP_SETFCAP",
	unix.CAP_MAC_OVERRIDE:       "CAP_MAC_OVERRIDE",
	unix.CAP_MAC_ADMIN:          "CAP_MAC_ADMIN",
	unix.CAP_SYSLOG:             "CAP_SYSLOG",
	unix.CAP_WAKE_ALARM:         "CAP_WAKE_ALARM",
	unix.CAP_BLOCK_SUSPEND:      "CAP_BLOCK_SUSPEND",
	unix.CAP_AUDIT_READ:         "CAP_AUDIT_READ",
	unix.CAP_PERFMON:            "CAP_PERFMON",
	unix.CAP_BPF:                "CAP_BPF",
	unix.CAP_CHECKPOINT_RESTORE: "CAP_CHECKPOINT_RESTORE",
}

func TestTableMatchesKernelHeaders(t *testing.T) {
	if MaxKnown != unix.CAP_LAST_CAP {
		t.Errorf("MaxKnown = %d, kernel headers say CAP_LAST_CAP = %d", MaxKnown, unix.CAP_LAST_CAP)
	}
	if len(kernelCaps) != MaxKnown+1 {
		t.Fatalf("test table has %d entries, want %d", len(kernelCaps), MaxKnown+1)
	}
	for n, name := range kernelCaps {
		if got := Name(n); got != name {
			t.Errorf("Name(%d) = %q, want %q", n, got, name)
		}
		got, err := Parse(name)
		if err != nil || got != n {
			t.Errorf("Parse(%q) = %d, %v; want %d", name, got, err, n)
		}
	}
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    int
		wantErr string
	}{
		{in: "CAP_CHOWN", want: 0},
		{in: "CAP_SYS_ADMIN", want: 21},
		{in: "CAP_CHECKPOINT_RESTORE", want: 40},
		{in: "CAP_UNKNOWN", wantErr: `unknown capability "CAP_UNKNOWN"`},
		{in: "", wantErr: `unknown capability ""`},
		{in: "sys_admin", wantErr: `unknown capability "sys_admin" (did you mean "CAP_SYS_ADMIN"?)`},
		{in: "NET_RAW", wantErr: `(did you mean "CAP_NET_RAW"?)`},
		{in: "cap_kill", wantErr: `(did you mean "CAP_KILL"?)`},
		{in: " CAP_KILL", wantErr: `unknown capability " CAP_KILL"`},
	} {
		got, err := Parse(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Parse(%q) = %d, %v; want error containing %q", tc.in, got, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Parse(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
}

func TestNameUnknownNumber(t *testing.T) {
	if got := Name(63); got != "CAP_63" {
		t.Errorf("Name(63) = %q", got)
	}
	if got := Name(-1); got != "CAP_-1" {
		t.Errorf("Name(-1) = %q", got)
	}
}
