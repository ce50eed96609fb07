package lsm

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ExecWrite is one exec attribute a process's LSM fields ask for, decided
// here for the C executor (the exec record; nsenter/procfs.c writes it):
// Value goes to this thread's attr/<Dir>/exec
// (attr/exec when Dir is "" or the kernel has no attr/<Dir>) just before
// execve. Test, when set, is written to attr/<Dir>/current when the file is
// opened, so that what the kernel would refuse at execve fails create. The
// rest is the text of the messages.
type ExecWrite struct {
	Dir, Value, Test string
	Field            string // the spec field and its value
	Quoted           string // Value, quoted
	TestQuoted       string // Test's command word, quoted
	Missing          string // what ENOENT from the test means
}

// ExecWrites lists the exec attributes of proc: AppArmor's first (tested
// with "permprofile", which changes nothing, so that a profile that is not
// loaded fails create and not start), then SELinux's (which has no
// directory of its own under attr/). Nil when proc asks for none.
func ExecWrites(proc *specs.Process) []ExecWrite {
	if proc == nil {
		return nil
	}
	var ws []ExecWrite
	if prof := proc.ApparmorProfile; prof != "" {
		v := "exec " + prof
		ws = append(ws, ExecWrite{
			Dir: "apparmor", Value: v, Quoted: fmt.Sprintf("%q", v),
			Test: "permprofile " + prof, TestQuoted: `"permprofile"`, Missing: "no such profile is loaded",
			Field: fmt.Sprintf("process.apparmorProfile %q", prof),
		})
	}
	if label := proc.SelinuxLabel; label != "" {
		ws = append(ws, ExecWrite{Value: label, Quoted: fmt.Sprintf("%q", label), Field: fmt.Sprintf("process.selinuxLabel %q", label)})
	}
	return ws
}
