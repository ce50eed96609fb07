package doctor

import (
	"bufio"
	"os"
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

func seccompCheck() Check {
	c := Check{Name: "seccomp"}
	status, _ := os.ReadFile("/proc/self/status")
	mode, ok := statusField(string(status), "Seccomp")
	if !ok {
		c.Status, c.Detail = Fail, "kernel without CONFIG_SECCOMP (no Seccomp: line in /proc/self/status)"
		c.Hint = "specs with linux.seccomp cannot run; use a kernel with seccomp filters"
		return c
	}
	var have, lack []string
	for _, a := range seccompActions {
		v := a.val
		_, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_GET_ACTION_AVAIL, 0, uintptr(unsafe.Pointer(&v)))
		if errno == 0 {
			have = append(have, a.name)
		} else {
			lack = append(lack, a.name)
		}
	}
	c.Status, c.Detail = OK, "actions: "+strings.Join(have, " ")
	if len(lack) > 0 {
		c.Status = Warn
		c.Detail += "; missing: " + strings.Join(lack, " ")
		c.Hint = "rules using the missing actions fail to load (user_notif needs 5.0, log 4.14, kill_process 4.14)"
	}
	if mode != "0" {
		// Filters are inherited: whatever berth installs only narrows them.
		c.Detail += "; berth itself runs under seccomp mode " + mode
	}
	return c
}

func apparmorCheck() Check {
	c := Check{Name: "apparmor", Status: OK}
	v, err := readTrim("/sys/module/apparmor/parameters/enabled")
	if err != nil || v != "Y" {
		c.Detail = "not enabled: specs naming process.apparmorProfile cannot be honoured"
		return c
	}
	c.Detail = "enabled"
	if lsm, err := readTrim("/sys/kernel/security/lsm"); err == nil {
		c.Detail += " (active LSMs: " + lsm + ")"
	}
	return c
}

func selinuxCheck() Check {
	c := Check{Name: "selinux", Status: OK}
	v, err := readTrim("/sys/fs/selinux/enforce")
	switch {
	case err != nil:
		c.Detail = "not enabled: specs with a selinuxLabel or mountLabel cannot be honoured"
	case v == "1":
		c.Detail = "enabled, enforcing"
	default:
		c.Detail = "enabled, permissive"
	}
	return c
}
