package rootfs

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
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
