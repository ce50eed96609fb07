package doctor

import (
	"fmt"
	"io"
	"os"
	"os/user"
	"strconv"
	"strings"
)

// Statuses of a Check.
const (
	OK   = "ok"
	Warn = "warn"
	Fail = "fail"
)

// Check is one finding about the host.
type Check struct {
	Name   string `json:"name"`
	Status string `json:"status"` // ok, warn or fail
	Detail string `json:"detail"` // what was found
	Hint   string `json:"hint,omitempty"`
}

// DefaultRoot is berth's state directory when --root is not given.
const DefaultRoot = "/run/berth"

// Run checks the host for a runtime whose state lives under root.
func Run(root string) []Check {
	if root == "" {
		root = DefaultRoot
	}
	h := probeHost()
	defer h.close()
	l := lsmState{}
	l.names, l.source, l.err = activeLSMs()
	checks := []Check{
		h.kernelCheck(),
		privilegesCheck(),
	}
	checks = append(checks, h.cgroupChecks()...)
	checks = append(checks,
		systemdCheck(),
		h.userNamespaceCheck(),
		h.seccompCheck(),
		apparmorCheck(l),
		selinuxCheck(l),
		h.overlayCheck(),
		h.idmapCheck(),
		h.pidfdCheck(),
		h.clone3Check(),
		h.cloneIntoCgroupCheck(),
		h.openat2Check(),
		h.timeNamespaceCheck(),
		stateRootCheck(root),
		idmapHelpersCheck(),
		otherRuntimesCheck(root),
	)
	if os.Geteuid() != 0 {
		checks = append(checks, h.rootlessChecks(os.Geteuid(), userName(os.Geteuid()),
			readOrEmpty("/etc/subuid"), readOrEmpty("/etc/subgid"), os.Getenv("XDG_RUNTIME_DIR"))...)
	}
	return checks
}

// Failed reports whether any check failed.
func Failed(checks []Check) bool {
	for _, c := range checks {
		if c.Status == Fail {
			return true
		}
	}
	return false
}

// WriteText prints one line per check, with the hint of a warn or fail on
// the line below.
func WriteText(w io.Writer, checks []Check) error {
	width := 0
	for _, c := range checks {
		width = max(width, len(c.Name))
	}
	var b strings.Builder
	for _, c := range checks {
		fmt.Fprintf(&b, "%-4s  %-*s  %s\n", c.Status, width, c.Name, c.Detail)
		if c.Hint != "" && c.Status != OK {
			fmt.Fprintf(&b, "%-4s  %-*s  -> %s\n", "", width, "", c.Hint)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// userName is the login name of uid, or the number when it has none.
func userName(uid int) string {
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		return u.Username
	}
	return strconv.Itoa(uid)
}

func readOrEmpty(p string) string {
	data, _ := os.ReadFile(p)
	return string(data)
}
