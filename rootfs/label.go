package rootfs

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// linux.mountLabel: the SELinux context every file of the container's own
// file systems gets. The caller (libcontainer/lsm.CheckHost) has refused the
// field already when SELinux is off: the kernel would refuse the option.

// noContextTypes are the fresh mounts that get no context= option: SELinux
// labels proc, sysfs and cgroup file systems itself (genfs) and refuses the
// option there, as runc knows; mqueue gets its label as an xattr instead
// (mqueueLabel), as runc does.
var noContextTypes = map[string]bool{
	"proc": true, "sysfs": true, "cgroup": true, "cgroup2": true, "mqueue": true,
}

func mountLabel(spec *specs.Spec) string {
	if spec == nil || spec.Linux == nil {
		return ""
	}
	return spec.Linux.MountLabel
}

// labelData adds context="<label>" to the data of a fresh mount of typ.
func labelData(typ, data, label string) string {
	if label == "" || noContextTypes[typ] {
		return data
	}
	opt := fmt.Sprintf("context=%q", label)
	if data == "" {
		return opt
	}
	return data + "," + opt
}

// mqueueLabel labels the root of a fresh mqueue mount (mnt, an O_PATH
// descriptor) with the mount label.
func mqueueLabel(typ string, mnt int, label string) error {
	if label == "" || typ != "mqueue" {
		return nil
	}
	if err := unix.Setxattr(procFd(mnt), "security.selinux", []byte(label), 0); err != nil {
		return fmt.Errorf("setxattr security.selinux %q (linux.mountLabel): %w", label, err)
	}
	return nil
}
