package tests

import (
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestSeccomp loads a real filter: mkdir gets the configured errno, other
// syscalls pass, with and without no_new_privs (the two load points).
func TestSeccomp(t *testing.T) {
	r := newRuntime(t)
	errno := uint(18) // EXDEV: an errno mkdir never returns by itself here
	for _, nnp := range []bool{true, false} {
		b := newShBundle(t, "mkdir /tmp/x 2>&1; echo rc=$?; echo alive")
		b.spec.Root.Readonly = false
		b.spec.Process.NoNewPrivileges = nnp
		b.spec.Linux.Seccomp = &specs.LinuxSeccomp{
			DefaultAction: specs.ActAllow,
			Architectures: []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32},
			Syscalls: []specs.LinuxSyscall{
				{Names: []string{"mkdir", "mkdirat", "no_such_syscall_berth"}, Action: specs.ActErrno, ErrnoRet: &errno},
			},
		}
		out := r.mustRunContainer(b)
		if !strings.Contains(out, "Invalid cross-device link") || !strings.Contains(out, "rc=1") || !strings.Contains(out, "alive") {
			t.Errorf("noNewPrivileges=%v: mkdir under seccomp printed %q, want EXDEV and the shell alive", nnp, out)
		}
	}
}
