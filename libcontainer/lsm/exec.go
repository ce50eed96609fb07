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

// Prepare opens the attribute files process.apparmorProfile and
// process.selinuxLabel need, on the calling (locked) thread, and checks that
// an AppArmor profile is loaded. It must run before the user switch and
// before a seccomp filter: Apply then only needs write(2) and close(2).
func Prepare(proc *specs.Process) (*ExecAttrs, error) {
	if proc == nil || proc.ApparmorProfile == "" && proc.SelinuxLabel == "" {
		return nil, nil
	}
	p, err := OpenProc()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fieldOf(proc), err)
	}
	defer p.Close()
	a := &ExecAttrs{}
	if prof := proc.ApparmorProfile; prof != "" {
		field := fmt.Sprintf("process.apparmorProfile %q", prof)
		if err := p.testProfile(prof); err != nil {
			a.Close()
			return nil, fmt.Errorf("%s: %w", field, err)
		}
		fd, path, err := p.ThreadAttr("apparmor", "exec")
		if err != nil {
			a.Close()
			return nil, fmt.Errorf("%s: %w", field, err)
		}
		a.writes = append(a.writes, attrWrite{fd: fd, path: path, value: "exec " + prof, field: field})
	}
	if label := proc.SelinuxLabel; label != "" {
		field := fmt.Sprintf("process.selinuxLabel %q", label)
		// SELinux has no directory of its own under attr/.
		fd, path, err := p.ThreadAttr("", "exec")
		if err != nil {
			a.Close()
			return nil, fmt.Errorf("%s: %w", field, err)
		}
		a.writes = append(a.writes, attrWrite{fd: fd, path: path, value: label, field: field})
	}
	return a, nil
}

func fieldOf(proc *specs.Process) string {
	if proc.ApparmorProfile != "" {
		return fmt.Sprintf("process.apparmorProfile %q", proc.ApparmorProfile)
	}
	return fmt.Sprintf("process.selinuxLabel %q", proc.SelinuxLabel)
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
