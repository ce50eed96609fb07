package rootfs

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Idmap is an idmapped bind mount: the source cloned (open_tree), made to
// show its files' owners through the mappings (mount_setattr with
// MOUNT_ATTR_IDMAP and a user namespace holding them), then moved into
// place. The first two steps need privilege over the source's filesystem,
// which only the runtime's own user namespace has: the parent makes the
// detached mount, the init moves it to its destination (OpIdmapFD before
// the OpBind with BitIdmap) and treats it as any other bind from there
// (read-only and the other flags, propagation).
type Idmap struct {
	Index  int    // in spec mounts
	Field  string // "spec mounts[i] (destination)", for messages
	Source string // the host path, as a bind's
	// Tree clones the submounts too (rbind); Recursive maps them too
	// (ridmap), where idmap maps only the mount itself.
	Tree, Recursive bool
	UID, GID        []specs.LinuxIDMapping
}

// Idmaps lists the idmapped mounts of the spec, in mount order. As the
// spec has it, a mount is idmapped when it has the idmap or ridmap option
// or mappings of its own; without mappings it takes the container's user
// namespace's. Only bind mounts can be idmapped.
func Idmaps(c *Config) ([]Idmap, error) {
	var out []Idmap
	for i, m := range c.Spec.Mounts {
		mc, err := newMountCtx(c, i, m)
		if err != nil {
			return nil, err
		}
		if !mc.opts.Idmap && len(m.UIDMappings) == 0 && len(m.GIDMappings) == 0 {
			continue
		}
		if mc.kind != mountBind {
			return nil, fmt.Errorf("%s (%s): an idmapped mount (idmap, ridmap, uidMappings) must be a bind mount", mc.field(), mc.dest)
		}
		im := Idmap{Index: i, Field: mc.field() + " (" + mc.dest + ")", Source: mc.src, Tree: mc.opts.Flags&unix.MS_REC != 0, Recursive: mc.opts.IdmapRecursive,
			UID: m.UIDMappings, GID: m.GIDMappings}
		if len(im.UID) == 0 && len(im.GID) == 0 {
			if l := c.Spec.Linux; l != nil {
				im.UID, im.GID = l.UIDMappings, l.GIDMappings
			}
			if len(im.UID) == 0 || len(im.GID) == 0 {
				return nil, fmt.Errorf("%s (%s): idmap without uidMappings and gidMappings needs the container's (linux.uidMappings, linux.gidMappings of a user namespace)", mc.field(), mc.dest)
			}
		}
		if len(im.UID) == 0 || len(im.GID) == 0 {
			return nil, fmt.Errorf("%s (%s): uidMappings and gidMappings must be given together", mc.field(), mc.dest)
		}
		out = append(out, im)
	}
	return out, nil
}

// idmapped reports whether a mount is to be idmapped (Idmaps has the rules).
func (mc *mountCtx) idmapped() bool {
	return mc.opts.Idmap || len(mc.m.UIDMappings) > 0 || len(mc.m.GIDMappings) > 0
}
