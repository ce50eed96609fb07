package doctor

import (
	"bufio"
	"fmt"
	"os"
	"slices"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// seccompActions in the order the kernel documents them.
var seccompActions = []struct {
	name string
	val  uint32
}{
	{"kill_process", unix.SECCOMP_RET_KILL_PROCESS},
	{"kill_thread", unix.SECCOMP_RET_KILL_THREAD},
	{"trap", unix.SECCOMP_RET_TRAP},
	{"errno", unix.SECCOMP_RET_ERRNO},
	{"user_notif", unix.SECCOMP_RET_USER_NOTIF},
	{"trace", unix.SECCOMP_RET_TRACE},
	{"log", unix.SECCOMP_RET_LOG},
	{"allow", unix.SECCOMP_RET_ALLOW},
}

// seccompFlags are the filter flags a spec may ask for.
var seccompFlags = []struct {
	name string
	bits uintptr
}{
	{"tsync", unix.SECCOMP_FILTER_FLAG_TSYNC},
	{"log", unix.SECCOMP_FILTER_FLAG_LOG},
	{"spec_allow", unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW},
	{"new_listener", unix.SECCOMP_FILTER_FLAG_NEW_LISTENER},
	{"wait_killable_recv", unix.SECCOMP_FILTER_FLAG_NEW_LISTENER | unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV},
}

// statusField reads one "Name:\tvalue" line of /proc/self/status.
func statusField(text, name string) (string, bool) {
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+":"); ok {
			return strings.TrimSpace(v), true
		}
	}
	return "", false
}

// seccompCheck asks the kernel itself: SECCOMP_GET_ACTION_AVAIL for each
// action (EOPNOTSUPP: not in this kernel), and SECCOMP_SET_MODE_FILTER
// with each flag and a NULL program (the flags are checked before the
// program is read: EFAULT means known, EINVAL unknown; nothing is
// installed). Any other errno means seccomp() itself is refused, as a
// filter around berth may do.
func (h *host) seccompCheck() Check {
	c := Check{Name: "seccomp"}
	if h.seccompMode == "" {
		c.Status, c.Detail = Fail, "kernel without CONFIG_SECCOMP (no Seccomp: line in /proc/self/status)"
		c.Hint = "specs with linux.seccomp cannot run; use a kernel with seccomp filters"
		return c
	}
	var have, lack []string
	for _, a := range seccompActions {
		v := a.val
		_, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_GET_ACTION_AVAIL, 0, uintptr(unsafe.Pointer(&v)))
		switch errno {
		case 0:
			have = append(have, a.name)
		case unix.EOPNOTSUPP:
			lack = append(lack, a.name)
		default:
			c.Status = Fail
			c.Detail = "seccomp(SECCOMP_GET_ACTION_AVAIL): " + h.blocked(errno)
			c.Hint = "berth cannot load filters here: specs with linux.seccomp will fail; lift the filter or policy that blocks seccomp()"
			return c
		}
	}
	var flags []string
	for _, f := range seccompFlags {
		_, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, f.bits, 0)
		if errno == unix.EFAULT {
			flags = append(flags, f.name)
		}
	}
	c.Status, c.Detail = OK, "actions: "+strings.Join(have, " ")+"; flags: "+strings.Join(flags, " ")
	if len(lack) > 0 {
		c.Status = Warn
		c.Detail += "; missing actions: " + strings.Join(lack, " ")
		c.Hint = "rules using the missing actions fail to load (user_notif needs 5.0, log 4.14, kill_process 4.14)"
	}
	if h.seccompMode != "0" {
		// Filters are inherited: whatever berth installs only narrows them.
		c.Detail += "; berth itself runs under seccomp mode " + h.seccompMode
	}
	return c
}

// lsmNames are the LSM ids of <linux/lsm.h>.
var lsmNames = map[uint64]string{
	100: "capability", 101: "selinux", 102: "smack", 103: "tomoyo", 104: "apparmor",
	105: "yama", 106: "loadpin", 107: "safesetid", 108: "lockdown", 109: "bpf",
	110: "landlock", 111: "ima", 112: "evm", 113: "ipe",
}

// activeLSMs asks the kernel which LSMs are active: lsm_list_modules
// (6.8+) needs no filesystem; older kernels answer in securityfs.
func activeLSMs() (names []string, source string, err error) {
	ids := make([]uint64, 32)
	size := uint32(len(ids) * 8)
	n, _, errno := unix.Syscall(unix.SYS_LSM_LIST_MODULES, uintptr(unsafe.Pointer(&ids[0])), uintptr(unsafe.Pointer(&size)), 0)
	if errno == 0 {
		for _, id := range ids[:n] {
			name, ok := lsmNames[id]
			if !ok {
				name = fmt.Sprintf("lsm#%d", id)
			}
			names = append(names, name)
		}
		return names, "lsm_list_modules", nil
	}
	list, ferr := readTrim("/sys/kernel/security/lsm")
	if ferr != nil {
		return nil, "", fmt.Errorf("lsm_list_modules: %s; /sys/kernel/security/lsm: %s", errnoText(errno), errnoText(ferr))
	}
	return strings.Split(list, ","), "/sys/kernel/security/lsm", nil
}

const securityfs = "/sys/kernel/security"

func securityfsMounted() bool {
	var st unix.Statfs_t
	return unix.Statfs(securityfs, &st) == nil && st.Type == unix.SECURITYFS_MAGIC
}

// lsmState is what both LSM checks share.
type lsmState struct {
	names  []string
	source string
	err    error
}

func (l lsmState) active(name string) bool { return slices.Contains(l.names, name) }

func (l lsmState) describe() string {
	if l.err != nil {
		return "active LSMs unknown (" + l.err.Error() + ")"
	}
	return "active LSMs: " + strings.Join(l.names, ",") + " via " + l.source
}

// apparmorCheck: berth applies process.apparmorProfile by writing the
// exec attribute of its init thread; the profile must already be loaded,
// which takes securityfs.
func apparmorCheck(l lsmState) Check {
	c := Check{Name: "apparmor"}
	param, _ := readTrim("/sys/module/apparmor/parameters/enabled")
	active := l.active("apparmor") || l.err != nil && param == "Y"
	if !active {
		c.Status = OK
		c.Detail = "not active (" + l.describe() + "): specs naming process.apparmorProfile are refused"
		if l.err != nil {
			c.Status = Warn
			c.Hint = "mount securityfs (mount -t securityfs securityfs " + securityfs + ") so the active LSMs can be read"
		}
		return c
	}
	self, err := readTrim("/proc/self/attr/apparmor/current")
	if err != nil {
		self = "unknown: " + errnoText(err)
	}
	if param != "Y" {
		c.Status = Warn
		c.Detail = fmt.Sprintf("active (%s), but /sys/module/apparmor/parameters/enabled is %q: berth treats AppArmor as off and refuses process.apparmorProfile", l.describe(), param)
		c.Hint = "boot with apparmor=1 security=apparmor"
		return c
	}
	if !securityfsMounted() {
		c.Status = Warn
		c.Detail = fmt.Sprintf("active, berth runs as %q (%s), but %s is not securityfs: no profile can be loaded or listed", self, l.describe(), securityfs)
		c.Hint = "mount -t securityfs securityfs " + securityfs + ", then load the profiles containers name (apparmor_parser)"
		return c
	}
	profiles := "profiles unreadable"
	if data, err := os.ReadFile(securityfs + "/apparmor/profiles"); err == nil {
		profiles = fmt.Sprintf("%d profiles loaded", strings.Count(string(data), "\n"))
	}
	c.Status = OK
	c.Detail = fmt.Sprintf("active, berth runs as %q, %s (%s): process.apparmorProfile is applied at exec", self, profiles, l.describe())
	return c
}

// selinuxCheck: berth applies labels when selinuxfs is mounted (that is
// how it decides SELinux is on).
func selinuxCheck(l lsmState) Check {
	c := Check{Name: "selinux"}
	enforce, enforceErr := readTrim("/sys/fs/selinux/enforce")
	active := l.active("selinux") || l.err != nil && enforceErr == nil
	if !active {
		c.Status = OK
		c.Detail = "not active (" + l.describe() + "): specs with a selinuxLabel or mountLabel are refused"
		if l.err != nil {
			c.Status = Warn
			c.Hint = "mount securityfs (mount -t securityfs securityfs " + securityfs + ") so the active LSMs can be read"
		}
		return c
	}
	switch {
	case enforceErr != nil:
		c.Status = Warn
		c.Detail = "active (" + l.describe() + "), but selinuxfs is not mounted at /sys/fs/selinux: berth treats SELinux as off and refuses labels"
		c.Hint = "mount -t selinuxfs selinuxfs /sys/fs/selinux"
	case enforce == "1":
		c.Status, c.Detail = OK, "active and enforcing: selinuxLabel and mountLabel are applied"
	default:
		c.Status, c.Detail = OK, "active, permissive: labels are applied but not enforced"
	}
	return c
}
