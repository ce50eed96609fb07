package rootfs

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"berth/internal/mountinfo"
)

const cgroupRoot = "/sys/fs/cgroup"

// mountCgroup handles a "cgroup" mount. On a unified (v2) host it is a
// cgroup2 mount (a bind of the init's own cgroup when the kernel refuses,
// as in a user namespace without a cgroup namespace). On a v1 or hybrid host
// it is a tmpfs holding one directory per hierarchy, each showing the
// init's own cgroup: a fresh cgroup mount with a cgroup namespace, else a
// bind of the host directory.
func (s *setup) mountCgroup(mc *mountCtx) error {
	t, err := s.resolveDest(mc, createDir, 0o755)
	if err != nil {
		return err
	}
	defer t.close()
	if err := checkProcDest(t.path, "cgroup", -1); err != nil {
		return fmt.Errorf("%s.destination: %w", mc.field(), err)
	}
	var sfs unix.Statfs_t
	if err := unix.Statfs(cgroupRoot, &sfs); err != nil {
		return mc.stepErr("statfs "+cgroupRoot, err)
	}
	if sfs.Type == unix.CGROUP2_SUPER_MAGIC {
		return s.mountCgroup2(mc, t)
	}
	return s.mountCgroup1(mc, t)
}

func (s *setup) mountCgroup2(mc *mountCtx, t *target) error {
	src := mc.m.Source
	if src == "" || src == "cgroup" {
		src = "cgroup2"
	}
	err := unix.Mount(src, procFd(t.fd), "cgroup2", mc.opts.Flags, mc.opts.Data)
	if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EBUSY) {
		own, perr := s.c.ownCgroups()
		if perr != nil {
			return mc.mountErr(fmt.Errorf("%w (and %v)", err, perr))
		}
		host := cgroupRoot
		if p, ok := own[""]; ok {
			host = filepath.Join(cgroupRoot, p)
		}
		if ferr := s.bindHost(mc, t, host); ferr != nil {
			return mc.mountErr(fmt.Errorf("%w (falling back to a bind of %s: %v)", err, host, ferr))
		}
		return nil
	}
	if err != nil {
		return mc.mountErr(err)
	}
	mnt, err := s.reopenMount(t)
	if err != nil {
		return mc.stepErr("reopen", err)
	}
	defer unix.Close(mnt)
	return s.afterMount(mc, mnt)
}

// cgroupHierarchy is one cgroup hierarchy the host has under /sys/fs/cgroup.
type cgroupHierarchy struct {
	name     string   // directory name under /sys/fs/cgroup: "cpu,cpuacct", "systemd", "unified"
	fstype   string   // "cgroup" or "cgroup2"
	subsys   []string // controllers and name= of the hierarchy (its /proc/self/cgroup entry)
	hostPath string   // the host directory of the init's own cgroup in it
}

func (s *setup) mountCgroup1(mc *mountCtx, t *target) error {
	own, err := s.c.ownCgroups()
	if err != nil {
		return mc.stepErr("find cgroup hierarchies", err)
	}
	hs, err := cgroupV1Hierarchies(own)
	if err != nil {
		return mc.stepErr("find cgroup hierarchies", err)
	}
	flags := mc.opts.Flags &^ unix.MS_RDONLY
	if err := unix.Mount("tmpfs", procFd(t.fd), "tmpfs", flags, labelData("tmpfs", "mode=755", mountLabel(s.c.Spec))); err != nil {
		return mc.mountErr(err)
	}
	mnt, err := s.reopenMount(t)
	if err != nil {
		return mc.stepErr("reopen", err)
	}
	defer unix.Close(mnt)
	for _, h := range hs {
		if err := s.mountCgroupHierarchy(mc, mnt, h); err != nil {
			return mc.stepErr(fmt.Sprintf("cgroup hierarchy %q", h.name), err)
		}
		// "cpu,cpuacct" also answers to "cpu" and "cpuacct", as on the host.
		if strings.Contains(h.name, ",") {
			for _, alias := range strings.Split(h.name, ",") {
				err := unix.Symlinkat(h.name, mnt, alias)
				if err != nil && !errors.Is(err, unix.EEXIST) {
					return mc.stepErr(fmt.Sprintf("symlink %q", alias), err)
				}
			}
		}
	}
	if mc.opts.Flags&unix.MS_RDONLY != 0 {
		if err := remountBind(mnt, mc.opts.Flags, mc.opts.Cleared); err != nil {
			return mc.stepErr("remount read-only", err)
		}
	}
	return s.afterMount(mc, mnt)
}

func (s *setup) mountCgroupHierarchy(mc *mountCtx, mnt int, h cgroupHierarchy) error {
	sub, err := resolveInRoot(mnt, h.name, createDir, 0o755)
	if err != nil {
		return err
	}
	defer sub.close()
	flags := mc.opts.Flags &^ (unix.MS_REMOUNT | unix.MS_BIND | unix.MS_REC)
	if s.c.CgroupNS {
		// In its own cgroup namespace the init sees its cgroup as the root
		// of a fresh mount, which is what it should see.
		data := strings.Join(h.subsys, ",")
		if h.fstype == "cgroup2" {
			data = ""
		}
		err := unix.Mount("cgroup", procFd(sub.fd), h.fstype, flags, data)
		if err == nil || h.hostPath == "" {
			return err
		}
	}
	if h.hostPath == "" {
		return fmt.Errorf("the init's cgroup is not visible in the host's %s mount", h.name)
	}
	srcFd, err := unix.Open(h.hostPath, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(srcFd)
	if err := unix.Mount(procFd(srcFd), procFd(sub.fd), "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return err
	}
	bound, err := s.reopenMount(sub)
	if err != nil {
		return err
	}
	defer unix.Close(bound)
	return remountBind(bound, flags, mc.opts.Cleared)
}

// ownCgroups maps each hierarchy's controller list ("" for the unified
// one) to the init's cgroup path in it, from its /proc/<pid>/cgroup file.
func ownCgroups(file string) (map[string]string, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	own := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		own[parts[1]] = parts[2]
	}
	return own, sc.Err()
}

// ownCgroups is OwnCgroups, or the init's own reading when not given.
func (c *Config) ownCgroups() (map[string]string, error) {
	if c.OwnCgroups != nil {
		return c.OwnCgroups, nil
	}
	if c.OwnCgroupsFrom != nil {
		return c.OwnCgroupsFrom()
	}
	return ownCgroups("/proc/self/cgroup")
}

// OwnCgroupsOf reads /proc/<pid>/cgroup (for Config.OwnCgroups).
func OwnCgroupsOf(pid int) (map[string]string, error) {
	return ownCgroups("/proc/" + strconv.Itoa(pid) + "/cgroup")
}

// cgroupV1Hierarchies lists the hierarchies mounted directly under
// /sys/fs/cgroup (including a hybrid host's cgroup2 "unified") with the
// host directory of the init's cgroup (own, from ownCgroups) in each.
func cgroupV1Hierarchies(own map[string]string) ([]cgroupHierarchy, error) {
	mounts, err := mountinfo.Read()
	if err != nil {
		return nil, err
	}
	return hierarchiesIn(own, mounts), nil
}

// hierarchiesIn is cgroupV1Hierarchies on a mount table already read.
func hierarchiesIn(own map[string]string, mounts []mountinfo.Mount) []cgroupHierarchy {
	var out []cgroupHierarchy
	seen := map[string]bool{}
	for ctrls, cgPath := range own {
		var subsys []string
		fstype := "cgroup2"
		if ctrls != "" {
			subsys = strings.Split(ctrls, ",")
			fstype = "cgroup"
		}
		for _, m := range mounts {
			if m.FSType != fstype || path.Dir(m.Mountpoint) != cgroupRoot {
				continue
			}
			if fstype == "cgroup" && !containsAll(strings.Split(m.SuperOptions, ","), subsys) {
				continue
			}
			name := path.Base(m.Mountpoint)
			if seen[name] {
				break
			}
			seen[name] = true
			h := cgroupHierarchy{name: name, fstype: fstype, subsys: subsys}
			// In a cgroup namespace the host's mount may not show the
			// init's cgroup (its root reads "/.."); only a fresh mount
			// can then show it, and hostPath stays empty.
			rel, ok := strings.CutPrefix(cgPath, m.Root)
			if ok && (m.Root == "/" || rel == "" || strings.HasPrefix(rel, "/")) {
				h.hostPath = filepath.Join(m.Mountpoint, rel)
			}
			out = append(out, h)
			break
		}
	}
	slices.SortFunc(out, func(a, b cgroupHierarchy) int { return strings.Compare(a.name, b.name) })
	return out
}

func containsAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}
