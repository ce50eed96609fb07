package doctor

import (
	"fmt"
	"os"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// userNamespaceProbe starts a short-lived child in a new user namespace
// (root maps container 0 to the unprivileged host id 65534; anyone else
// maps only itself, all an unprivileged user may do) and keeps a
// descriptor of that namespace for the idmapped-mount probe.
func userNamespaceProbe() (int, error) {
	uid, gid := 65534, 65534
	if os.Geteuid() != 0 {
		uid, gid = os.Geteuid(), os.Getegid()
	}
	fd := -1
	err := spawnProbe(&syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: uid, Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: gid, Size: 1}},
	}, func(pid int) error {
		var err error
		fd, err = unix.Open(fmt.Sprintf("/proc/%d/ns/user", pid), unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("open the probe's /proc/%d/ns/user: %w", pid, err)
		}
		return nil
	})
	if err != nil {
		return -1, err
	}
	return fd, nil
}

// userNamespaceCheck reports the sysctls that govern user namespaces and
// whether the kernel really made one for this caller. The limits under
// /proc/sys/user are per user namespace: a parent namespace's 0 forbids
// every namespace below it, so the probe, not the number, decides.
func (h *host) userNamespaceCheck() Check {
	c := Check{Name: "user namespaces", Status: OK}
	var notes []string
	maxNS, maxErr := readTrim("/proc/sys/user/max_user_namespaces")
	if maxErr != nil {
		notes = append(notes, "no /proc/sys/user/max_user_namespaces")
	} else {
		notes = append(notes, "max_user_namespaces="+maxNS)
	}
	unpriv, err := readTrim("/proc/sys/kernel/unprivileged_userns_clone")
	if v := unpriv; err == nil {
		notes = append(notes, "unprivileged_userns_clone="+v)
		if v == "0" {
			c.Status = Warn
			c.Hint = "sysctl -w kernel.unprivileged_userns_clone=1 to let unprivileged users run rootless containers"
		}
	}
	aaRestrict, err := readTrim("/proc/sys/kernel/apparmor_restrict_unprivileged_userns")
	if v := aaRestrict; err == nil {
		notes = append(notes, "apparmor_restrict_unprivileged_userns="+v)
		if v == "1" {
			c.Status = Warn
			c.Hint = "AppArmor restricts unprivileged user namespaces: give berth a profile with `userns,` or sysctl -w kernel.apparmor_restrict_unprivileged_userns=0"
		}
	}
	who := "as root"
	if os.Geteuid() != 0 {
		who = fmt.Sprintf("as uid %d", os.Geteuid())
	}
	if h.usernsErr == nil {
		notes = append(notes, "probe "+who+": clone(CLONE_NEWUSER) made one")
		c.Detail = strings.Join(notes, ", ")
		return c
	}
	c.Status = Fail
	notes = append(notes, "probe "+who+": clone(CLONE_NEWUSER) failed: "+h.blocked(h.usernsErr))
	errno, _ := errnoOf(h.usernsErr)
	switch {
	case maxNS == "0":
		c.Hint = "user.max_user_namespaces is 0 here: sysctl -w user.max_user_namespaces=15000 (in the namespace that set it)"
	case errno == unix.ENOSPC:
		c.Hint = "a user namespace limit is reached in this or a parent user namespace: raise user.max_user_namespaces there"
	case os.Geteuid() != 0 && unpriv == "0":
		c.Hint = "kernel.unprivileged_userns_clone is 0: only root may create user namespaces; sysctl -w kernel.unprivileged_userns_clone=1"
	case os.Geteuid() != 0 && aaRestrict == "1":
		c.Hint = "AppArmor restricts unprivileged user namespaces: give berth a profile with `userns,` or sysctl -w kernel.apparmor_restrict_unprivileged_userns=0"
	case maxErr != nil && errno == unix.EINVAL:
		c.Hint = "use a kernel with CONFIG_USER_NS for rootless containers and uid mappings"
	default:
		c.Hint = "creating a user namespace failed: check sysctls, seccomp filters or the LSM policy around berth"
	}
	c.Detail = strings.Join(notes, ", ")
	return c
}
