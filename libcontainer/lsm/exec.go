package lsm

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// ExecAttrs is what Prepare opened: this thread's exec attribute files and
// the values Apply writes to them just before execve. A nil *ExecAttrs
// (no LSM field set) does nothing.
type ExecAttrs struct {
	writes []attrWrite
}

type attrWrite struct {
	fd    int
	path  string // below the procfs root, for errors
	value string
	field string // the spec field and value, for errors
}

// ExecWrite is one exec attribute a process's LSM fields ask for, as
// decided here for both executors (Prepare and Apply in Go; the C exec
// record, nsenter/procfs.c): Value goes to this thread's attr/<Dir>/exec
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

// Prepare opens the attribute files process.apparmorProfile and
// process.selinuxLabel need (ExecWrites), on the calling (locked) thread,
// and runs their tests. It must run before the user switch and before a
// seccomp filter: Apply then only needs write(2) and close(2).
func Prepare(proc *specs.Process) (*ExecAttrs, error) {
	ws := ExecWrites(proc)
	if len(ws) == 0 {
		return nil, nil
	}
	p, err := OpenProc()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ws[0].Field, err)
	}
	defer p.Close()
	a := &ExecAttrs{}
	for _, w := range ws {
		if w.Test != "" {
			if err := p.test(w); err != nil {
				a.Close()
				return nil, fmt.Errorf("%s: %w", w.Field, err)
			}
		}
		fd, path, err := p.ThreadAttr(w.Dir, "exec")
		if err != nil {
			a.Close()
			return nil, fmt.Errorf("%s: %w", w.Field, err)
		}
		a.writes = append(a.writes, attrWrite{fd: fd, path: path, value: w.Value, field: w.Field})
	}
	return a, nil
}

// Apply writes the exec attributes; the kernel applies them at the next
// execve of this thread. Call it on the thread that ran Prepare, as the last
// step before execve.
func (a *ExecAttrs) Apply() error {
	if a == nil {
		return nil
	}
	defer a.Close()
	for _, w := range a.writes {
		if err := writeAttr(w.fd, w.value); err != nil {
			return fmt.Errorf("%s: write %q to /proc/%s: %w", w.field, w.value, w.path, err)
		}
	}
	return nil
}

// Close releases the files without writing.
func (a *ExecAttrs) Close() {
	if a == nil {
		return
	}
	for i := range a.writes {
		closeFd(a.writes[i].fd)
		a.writes[i].fd = -1
	}
}

// writeAttr writes value in one write(2): procfs refuses partial writes.
func writeAttr(fd int, value string) error {
	n, err := unix.Write(fd, []byte(value))
	if err != nil {
		return err
	}
	if n != len(value) {
		return fmt.Errorf("short write (%d of %d bytes)", n, len(value))
	}
	return nil
}

func closeFd(fd int) {
	if fd >= 0 {
		unix.Close(fd)
	}
}
