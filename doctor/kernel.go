package doctor

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"berth/internal/mountinfo"
)

// kernelVersion is the numeric head of a kernel release string.
type kernelVersion struct{ major, minor, patch int }

func (k kernelVersion) String() string { return fmt.Sprintf("%d.%d.%d", k.major, k.minor, k.patch) }

func (k kernelVersion) atLeast(major, minor int) bool {
	return k.major > major || k.major == major && k.minor >= minor
}

// parseKernelVersion reads "6.18.44-fc-v657", "5.4.0-150-generic",
// "4.19.0+" or "6.1": the leading digits of the first three dot-separated
// parts.
func parseKernelVersion(release string) (kernelVersion, error) {
	parts := strings.SplitN(release, ".", 3)
	var v [3]int
	for i, p := range parts {
		end := 0
		for end < len(p) && p[end] >= '0' && p[end] <= '9' {
			end++
		}
		if end == 0 {
			if i < 2 {
				return kernelVersion{}, fmt.Errorf("kernel release %q: no version number", release)
			}
			break
		}
		n, err := strconv.Atoi(p[:end])
		if err != nil {
			return kernelVersion{}, fmt.Errorf("kernel release %q: %w", release, err)
		}
		v[i] = n
		if end < len(p) {
			break
		}
	}
	if len(parts) < 2 {
		return kernelVersion{}, fmt.Errorf("kernel release %q: want major.minor", release)
	}
	return kernelVersion{v[0], v[1], v[2]}, nil
}

// host holds what several checks share, probed once.
type host struct {
	release, machine string
	version          kernelVersion
	versionErr       error
	mounts           []mountinfo.Mount
	cg               cgroupInfo
	// seccompMode is the Seccomp: field of /proc/self/status ("0" none,
	// "2" filter); "" when the kernel has no seccomp.
	seccompMode string
	// usernsFd is a user namespace with a one-id mapping, made by the
	// user namespace probe for the idmapped-mount probe; -1 if none.
	usernsFd  int
	usernsErr error
}

func probeHost() *host {
	h := &host{usernsFd: -1}
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		h.versionErr = fmt.Errorf("uname: %w", err)
	} else {
		h.release = unix.ByteSliceToString(u.Release[:])
		h.machine = unix.ByteSliceToString(u.Machine[:])
		h.version, h.versionErr = parseKernelVersion(h.release)
	}
	h.mounts, _ = readMounts()
	h.cg = probeCgroups(cgroupBase, h.mounts)
	status, _ := os.ReadFile("/proc/self/status")
	h.seccompMode, _ = statusField(string(status), "Seccomp")
	h.usernsFd, h.usernsErr = userNamespaceProbe()
	return h
}

func (h *host) close() {
	if h.usernsFd >= 0 {
		unix.Close(h.usernsFd)
		h.usernsFd = -1
	}
}

func (h *host) kernelCheck() Check {
	c := Check{Name: "kernel"}
	switch {
	case h.versionErr != nil:
		c.Status, c.Detail = Warn, h.versionErr.Error()
		c.Hint = "the checks below probe the kernel directly; trust them over the version"
	case !h.version.atLeast(3, 10):
		c.Status, c.Detail = Fail, fmt.Sprintf("uname says %s (%s): older than 3.10", h.release, h.machine)
		c.Hint = "run a kernel of 5.7 or later; OCI runtimes need at least 3.10 (a process under personality UNAME26 sees a fake 2.6 release)"
	case !h.version.atLeast(5, 7):
		c.Status, c.Detail = Warn, fmt.Sprintf("%s (%s): older than 5.7", h.release, h.machine)
		c.Hint = "5.7 or later brings openat2, pidfd, clone3 with CLONE_INTO_CGROUP and time namespaces; berth falls back where it can"
	default:
		c.Status, c.Detail = OK, fmt.Sprintf("%s (%s)", h.release, h.machine)
	}
	return c
}

// capSysAdmin is CAP_SYS_ADMIN's bit in the CapEff mask.
const capSysAdmin = 21

// privilegesCheck tells what berth may do as the caller: root in the
// initial user namespace with CAP_SYS_ADMIN makes any container; anything
// less makes rootless ones at best.
func privilegesCheck() Check {
	c := Check{Name: "privileges"}
	status, _ := os.ReadFile("/proc/self/status")
	capEff, _ := statusField(string(status), "CapEff")
	caps, capErr := strconv.ParseUint(capEff, 16, 64)
	uidMap, _ := readTrim("/proc/self/uid_map")
	initialNS := strings.Join(strings.Fields(uidMap), " ") == "0 0 4294967295"
	uid := os.Geteuid()
	switch {
	case uid != 0:
		c.Status = Warn
		c.Detail = fmt.Sprintf("running as uid %d: only rootless containers (spec with a user namespace)", uid)
		c.Hint = "use `berth spec --rootless`, or run as root for full containers"
	case capErr == nil && caps&(1<<capSysAdmin) == 0:
		c.Status = Warn
		c.Detail = fmt.Sprintf("uid 0 without CAP_SYS_ADMIN (CapEff %s): mounts and namespaces will be refused", capEff)
		c.Hint = "run berth with full capabilities (outside a container, or in a privileged one)"
	case !initialNS:
		c.Status = Warn
		c.Detail = fmt.Sprintf("uid 0 inside a user namespace (uid_map %q): host devices, some mounts and sysctls are out of reach", strings.Join(strings.Fields(uidMap), " "))
		c.Hint = "run berth in the initial user namespace for full containers; in here only what the namespace owns can be set up"
	default:
		c.Status, c.Detail = OK, "running as root (CAP_SYS_ADMIN, initial user namespace)"
	}
	return c
}

func readTrim(p string) (string, error) {
	data, err := os.ReadFile(p)
	return strings.TrimSpace(string(data)), err
}
