package rootfs

import (
	"fmt"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// MountOptions is the parsed form of an OCI mount's "options" list.
type MountOptions struct {
	// Flags are the MS_* flags for mount(2) (never propagation flags).
	Flags uintptr
	// Cleared are the MS_* flags the options explicitly turned off (rw,
	// suid, dev, ...). A bind remount must not re-add them when it copies
	// locked flags from the source mount.
	Cleared uintptr
	// Propagation holds MS_SHARED, MS_SLAVE, ... (each possibly |MS_REC),
	// applied in order by separate mount(2) calls after the mount exists.
	Propagation []uintptr
	// RecAttr holds the recursive options (rro, rnosuid, ...) for
	// mount_setattr(2) with AT_RECURSIVE; nil when there are none.
	RecAttr *unix.MountAttr
	// Data is every option mount(2) does not know as a flag, comma-joined,
	// in the order given (e.g. "mode=755,size=65536k").
	Data string
	// Bind is set for "bind" and "rbind"; Flags then holds MS_BIND[|MS_REC].
	Bind bool
	// TmpCopyUp asks to copy the directory's old contents into a new tmpfs.
	TmpCopyUp bool
	// Idmap is set for "idmap" and "ridmap": an idmapped bind mount;
	// IdmapRecursive for "ridmap", which maps the submounts too.
	Idmap, IdmapRecursive bool
}

type flagOpt struct {
	clear bool
	flag  uintptr
}

// mountFlagOptions are the options that map to MS_* flags (mount(8) names).
var mountFlagOptions = map[string]flagOpt{
	"defaults":      {false, 0},
	"ro":            {false, unix.MS_RDONLY},
	"rw":            {true, unix.MS_RDONLY},
	"suid":          {true, unix.MS_NOSUID},
	"nosuid":        {false, unix.MS_NOSUID},
	"dev":           {true, unix.MS_NODEV},
	"nodev":         {false, unix.MS_NODEV},
	"exec":          {true, unix.MS_NOEXEC},
	"noexec":        {false, unix.MS_NOEXEC},
	"sync":          {false, unix.MS_SYNCHRONOUS},
	"async":         {true, unix.MS_SYNCHRONOUS},
	"dirsync":       {false, unix.MS_DIRSYNC},
	"remount":       {false, unix.MS_REMOUNT},
	"mand":          {false, unix.MS_MANDLOCK},
	"nomand":        {true, unix.MS_MANDLOCK},
	"atime":         {true, unix.MS_NOATIME},
	"noatime":       {false, unix.MS_NOATIME},
	"diratime":      {true, unix.MS_NODIRATIME},
	"nodiratime":    {false, unix.MS_NODIRATIME},
	"relatime":      {false, unix.MS_RELATIME},
	"norelatime":    {true, unix.MS_RELATIME},
	"strictatime":   {false, unix.MS_STRICTATIME},
	"nostrictatime": {true, unix.MS_STRICTATIME},
	"lazytime":      {false, unix.MS_LAZYTIME},
	"nolazytime":    {true, unix.MS_LAZYTIME},
	"iversion":      {false, unix.MS_I_VERSION},
	"noiversion":    {true, unix.MS_I_VERSION},
	"silent":        {false, unix.MS_SILENT},
	"loud":          {true, unix.MS_SILENT},
	"nosymfollow":   {false, unix.MS_NOSYMFOLLOW},
	"symfollow":     {true, unix.MS_NOSYMFOLLOW},
}

var propagationOptions = map[string]uintptr{
	"private":     unix.MS_PRIVATE,
	"rprivate":    unix.MS_PRIVATE | unix.MS_REC,
	"shared":      unix.MS_SHARED,
	"rshared":     unix.MS_SHARED | unix.MS_REC,
	"slave":       unix.MS_SLAVE,
	"rslave":      unix.MS_SLAVE | unix.MS_REC,
	"unbindable":  unix.MS_UNBINDABLE,
	"runbindable": unix.MS_UNBINDABLE | unix.MS_REC,
}

type recOpt struct {
	clear bool
	attr  uint64
	// atime options replace the whole MOUNT_ATTR__ATIME field.
	atime bool
}

var recursiveOptions = map[string]recOpt{
	"rro":            {false, unix.MOUNT_ATTR_RDONLY, false},
	"rrw":            {true, unix.MOUNT_ATTR_RDONLY, false},
	"rnosuid":        {false, unix.MOUNT_ATTR_NOSUID, false},
	"rsuid":          {true, unix.MOUNT_ATTR_NOSUID, false},
	"rnodev":         {false, unix.MOUNT_ATTR_NODEV, false},
	"rdev":           {true, unix.MOUNT_ATTR_NODEV, false},
	"rnoexec":        {false, unix.MOUNT_ATTR_NOEXEC, false},
	"rexec":          {true, unix.MOUNT_ATTR_NOEXEC, false},
	"rnodiratime":    {false, unix.MOUNT_ATTR_NODIRATIME, false},
	"rdiratime":      {true, unix.MOUNT_ATTR_NODIRATIME, false},
	"rnosymfollow":   {false, unix.MOUNT_ATTR_NOSYMFOLLOW, false},
	"rsymfollow":     {true, unix.MOUNT_ATTR_NOSYMFOLLOW, false},
	"rnoatime":       {false, unix.MOUNT_ATTR_NOATIME, true},
	"ratime":         {false, unix.MOUNT_ATTR_RELATIME, true},
	"rrelatime":      {false, unix.MOUNT_ATTR_RELATIME, true},
	"rnorelatime":    {false, unix.MOUNT_ATTR_STRICTATIME, true},
	"rstrictatime":   {false, unix.MOUNT_ATTR_STRICTATIME, true},
	"rnostrictatime": {false, unix.MOUNT_ATTR_RELATIME, true},
}

// ParseMountOptions turns an OCI mount's options into mount(2) flags,
// propagation changes, recursive attributes and the data string. Later
// options override earlier ones ("ro,rw" is rw), as with mount(8).
func ParseMountOptions(options []string) (MountOptions, error) {
	var mo MountOptions
	var data []string
	for _, o := range options {
		switch o {
		case "bind":
			mo.Bind = true
			mo.Flags |= unix.MS_BIND
			continue
		case "rbind":
			mo.Bind = true
			mo.Flags |= unix.MS_BIND | unix.MS_REC
			continue
		case "tmpcopyup":
			mo.TmpCopyUp = true
			continue
		case "idmap", "ridmap":
			mo.Idmap = true
			mo.IdmapRecursive = o == "ridmap"
			continue
		}
		if f, ok := mountFlagOptions[o]; ok {
			if f.clear {
				mo.Flags &^= f.flag
				mo.Cleared |= f.flag
			} else {
				mo.Flags |= f.flag
				mo.Cleared &^= f.flag
			}
			continue
		}
		if p, ok := propagationOptions[o]; ok {
			mo.Propagation = append(mo.Propagation, p)
			continue
		}
		if r, ok := recursiveOptions[o]; ok {
			if mo.RecAttr == nil {
				mo.RecAttr = &unix.MountAttr{}
			}
			switch {
			case r.atime:
				mo.RecAttr.Attr_clr |= unix.MOUNT_ATTR__ATIME
				mo.RecAttr.Attr_set = mo.RecAttr.Attr_set&^unix.MOUNT_ATTR__ATIME | r.attr
			case r.clear:
				mo.RecAttr.Attr_clr |= r.attr
				mo.RecAttr.Attr_set &^= r.attr
			default:
				mo.RecAttr.Attr_set |= r.attr
				mo.RecAttr.Attr_clr &^= r.attr
			}
			continue
		}
		if o == "" {
			continue
		}
		data = append(data, o)
	}
	// "rbind,ro": mount(2) makes only the top of the tree read-only, and the
	// mounts below it (a host /sys's /sys/fs/cgroup, CVE-2023-25809) stay
	// writable. Read-only is meant for the whole tree, as with "rro" (and
	// as Docker asks for its ro volumes), unless the options clear it.
	if mo.Bind && mo.Flags&unix.MS_REC != 0 && mo.Flags&unix.MS_RDONLY != 0 &&
		(mo.RecAttr == nil || mo.RecAttr.Attr_clr&unix.MOUNT_ATTR_RDONLY == 0) {
		if mo.RecAttr == nil {
			mo.RecAttr = &unix.MountAttr{}
		}
		mo.RecAttr.Attr_set |= unix.MOUNT_ATTR_RDONLY
	}
	mo.Data = strings.Join(data, ",")
	return mo, nil
}

// rootPropagation maps linux.rootfsPropagation to mount flags. The default
// (empty) is rslave: host mounts keep reaching the container, nothing the
// container mounts reaches the host.
func rootPropagation(s string) (uintptr, error) {
	if s == "" {
		return unix.MS_SLAVE | unix.MS_REC, nil
	}
	if p, ok := propagationOptions[s]; ok {
		return p, nil
	}
	return 0, fmt.Errorf("linux.rootfsPropagation: unknown value %q", s)
}

// lockableFlags are the per-mount flags a bind remount must restate, because
// MS_REMOUNT replaces them all; the kernel refuses (EPERM) to clear the
// ones a less privileged user namespace inherited locked.
const lockableFlags = unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC |
	unix.MS_NOATIME | unix.MS_NODIRATIME | unix.MS_RELATIME | unix.MS_NOSYMFOLLOW

// KnownMountOptions lists every mount option berth understands, for
// `berth features`.
func KnownMountOptions() []string {
	var out []string
	for k := range mountFlagOptions {
		out = append(out, k)
	}
	for k := range propagationOptions {
		out = append(out, k)
	}
	for k := range recursiveOptions {
		out = append(out, k)
	}
	out = append(out, "bind", "rbind", "tmpcopyup", "idmap", "ridmap")
	slices.Sort(out)
	return slices.Compact(out)
}
