package doctor

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
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

// host holds what several checks share.
type host struct {
	release, machine string
	version          kernelVersion
	versionErr       error
	cgroup           cgroupMode
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
	h.cgroup = detectCgroupMode("/sys/fs/cgroup")
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
	case !h.version.atLeast(3, 10):
		c.Status, c.Detail = Fail, fmt.Sprintf("%s (%s): older than 3.10", h.release, h.machine)
		c.Hint = "run a kernel of 5.7 or later; OCI runtimes need at least 3.10"
	case !h.version.atLeast(5, 7):
		c.Status, c.Detail = Warn, fmt.Sprintf("%s (%s): older than 5.7", h.release, h.machine)
		c.Hint = "5.7 or later brings openat2, pidfd, clone3 with CLONE_INTO_CGROUP and time namespaces; berth falls back where it can"
	default:
		c.Status, c.Detail = OK, fmt.Sprintf("%s (%s)", h.release, h.machine)
	}
	return c
}

func privilegesCheck() Check {
	if os.Geteuid() == 0 {
		return Check{Name: "privileges", Status: OK, Detail: "running as root"}
	}
	return Check{Name: "privileges", Status: Warn,
		Detail: fmt.Sprintf("running as uid %d: only rootless containers (spec with a user namespace)", os.Geteuid()),
		Hint:   "use `berth spec --rootless`, or run as root for full containers"}
}

// userNamespaceProbe starts a short-lived child in a new user namespace
// (root maps container 0 to the unprivileged host id 65534) and keeps a
// descriptor of that namespace.
func userNamespaceProbe() (int, error) {
	bin, err := exec.LookPath("cat")
	if err != nil {
		return -1, fmt.Errorf("not probed: no cat in PATH to run in a new user namespace")
	}
	cmd := exec.Command(bin)
	uid, gid := 65534, 65534
	if os.Geteuid() != 0 {
		// An unprivileged user may map only itself.
		uid, gid = os.Geteuid(), os.Getegid()
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: uid, Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: gid, Size: 1}},
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return -1, err
	}
	if err := cmd.Start(); err != nil {
		return -1, fmt.Errorf("start a child with CLONE_NEWUSER: %w", err)
	}
	fd, err := unix.Open(fmt.Sprintf("/proc/%d/ns/user", cmd.Process.Pid), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	stdin.Close()
	cmd.Wait()
	if err != nil {
		return -1, fmt.Errorf("open the probe's /proc/PID/ns/user: %w", err)
	}
	return fd, nil
}

func (h *host) userNamespaceCheck() Check {
	c := Check{Name: "user namespaces"}
	var notes []string
	maxNS, err := readTrim("/proc/sys/user/max_user_namespaces")
	switch {
	case err != nil:
		c.Status, c.Detail = Fail, "no /proc/sys/user/max_user_namespaces: kernel without CONFIG_USER_NS"
		c.Hint = "use a kernel with user namespaces for rootless containers and uid mappings"
		return c
	case maxNS == "0":
		c.Status, c.Detail = Fail, "disabled: user.max_user_namespaces = 0"
		c.Hint = "sysctl -w user.max_user_namespaces=15000"
		return c
	}
	notes = append(notes, "max_user_namespaces="+maxNS)
	c.Status = OK
	if v, err := readTrim("/proc/sys/kernel/unprivileged_userns_clone"); err == nil {
		notes = append(notes, "unprivileged_userns_clone="+v)
		if v == "0" {
			c.Status = Warn
			c.Hint = "sysctl -w kernel.unprivileged_userns_clone=1 to let unprivileged users run rootless containers"
		}
	}
	if v, err := readTrim("/proc/sys/kernel/apparmor_restrict_unprivileged_userns"); err == nil {
		notes = append(notes, "apparmor_restrict_unprivileged_userns="+v)
		if v == "1" {
			c.Status = Warn
			c.Hint = "AppArmor restricts unprivileged user namespaces: give berth a profile with `userns,` or sysctl -w kernel.apparmor_restrict_unprivileged_userns=0"
		}
	}
	if h.usernsErr != nil {
		c.Status = Fail
		notes = append(notes, "probe: "+h.usernsErr.Error())
		if c.Hint == "" {
			c.Hint = "creating a user namespace failed: check sysctls, seccomp filters or the LSM policy around berth"
		}
	} else {
		notes = append(notes, "probe: created one")
	}
	c.Detail = strings.Join(notes, ", ")
	return c
}

func readTrim(p string) (string, error) {
	data, err := os.ReadFile(p)
	return strings.TrimSpace(string(data)), err
}
