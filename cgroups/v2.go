package cgroups

import (
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"berth/cgroups/devices"
	"berth/cgroups/ebpf"
)

// v2Manager drives one cgroup of the unified hierarchy.
type v2Manager struct {
	mount string // the cgroup2 mountpoint
	path  string // the cgroup path below it ("/berth/id")
	dir   string // mount + path
	// controllers Create enables in the ancestors; v2Controllers unless
	// a test must not write to cgroups it did not create.
	controllers []string
	created     bool
}

// newV2 places cgPath in the cgroup2 mount of h. A relative path goes
// under the parent of berth's own cgroup: berth's own usually holds
// processes, and a cgroup with processes cannot delegate controllers to
// children (the "no internal processes" rule).
func newV2(mount, mountRoot, cgPath string, relative bool, own map[string]string) (*v2Manager, error) {
	p := cgPath
	if relative {
		base := inMount(own[""], mountRoot)
		if base != "/" {
			base = base[:strings.LastIndex(base, "/")]
		}
		var err error
		if p, err = under(base, cgPath); err != nil {
			return nil, err
		}
	}
	return &v2Manager{mount: mount, path: p, dir: mount + p}, nil
}

// Create makes the cgroup and, in each ancestor, enables the controllers
// berth uses (v2Controllers) that the ancestor offers but does not yet
// pass down. Ancestors that already pass them (the usual case under
// systemd) are only read.
func (m *v2Manager) Create() error {
	if m.created {
		return nil
	}
	if err := mkdirCgroup(m.dir); err != nil {
		return err
	}
	want := v2Controllers
	if m.controllers != nil {
		want = m.controllers
	}
	if err := m.enable(want, false); err != nil {
		slog.Debug("enable cgroup controllers", "dir", m.dir, "err", err)
	}
	m.created = true
	return nil
}

// enable writes "+ctrl" to cgroup.subtree_control from the mount down to
// the cgroup's parent, for each wanted controller the level offers and
// does not delegate yet. A controller a level lacks is skipped below it.
// With strict, failures are errors.
func (m *v2Manager) enable(want []string, strict bool) error {
	var errs []string
	parts := strings.Split(strings.Trim(m.path, "/"), "/")
	cur := m.mount
	for _, part := range parts {
		avail, err := readTrimmed(cur, "cgroup.controllers")
		if err != nil {
			return err
		}
		on, err := readTrimmed(cur, "cgroup.subtree_control")
		if err != nil {
			return err
		}
		a, o := fields(avail), fields(on)
		var add, next []string
		for _, c := range want {
			if !a[c] {
				continue
			}
			next = append(next, c)
			if !o[c] {
				add = append(add, "+"+c)
			}
		}
		if len(add) > 0 {
			if err := writeFile(cur, "cgroup.subtree_control", strings.Join(add, " "), ""); err != nil {
				// One at a time, to enable what can be.
				for _, c := range add {
					if err := writeFile(cur, "cgroup.subtree_control", c, ""); err != nil {
						errs = append(errs, err.Error())
					}
				}
			}
		}
		want = next
		cur += "/" + part
	}
	if strict && len(errs) > 0 {
		return fmt.Errorf("enable controllers: %s", strings.Join(errs, "; "))
	}
	return nil
}

// Apply moves pid into the cgroup, unless it was born there.
func (m *v2Manager) Apply(pid int) error {
	if err := m.Create(); err != nil {
		return err
	}
	if b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup"); err == nil {
		if cur, ok := procCgroups(string(b))[""]; ok && cur == m.path {
			return nil
		}
	}
	t0 := time.Now()
	if err := writeFile(m.dir, "cgroup.procs", strconv.Itoa(pid), ""); err != nil {
		return err
	}
	slog.Debug("join cgroup", "dir", m.dir, "elapsed", time.Since(t0).Round(time.Microsecond).String())
	return nil
}

// Set enables the controllers r needs, checks the cgroup has them, loads
// the device filter and writes the limits.
func (m *v2Manager) Set(r *specs.LinuxResources) error {
	if err := m.Create(); err != nil {
		return err
	}
	if err := m.requireControllers(r); err != nil {
		return err
	}
	pl, err := planV2(r, m.dir, fsProber{})
	if err != nil {
		return err
	}
	var specRules []specs.LinuxDeviceCgroup
	if r != nil {
		specRules = r.Devices
	}
	if err := m.setDevices(specRules); err != nil {
		return err
	}
	return pl.run()
}

func (m *v2Manager) requireControllers(r *specs.LinuxResources) error {
	need := neededV2(r)
	if len(need) == 0 {
		return nil
	}
	want := sortedKeys(need)
	enableErr := m.enable(want, true)
	have, err := readTrimmed(m.dir, "cgroup.controllers")
	if err != nil {
		return err
	}
	h := fields(have)
	for _, c := range want {
		if !h[c] {
			msg := fmt.Sprintf("%s: the %s controller is not available in %s (cgroup.controllers: %q)", need[c], c, m.dir, have)
			if enableErr != nil {
				msg += ": " + enableErr.Error()
			}
			return fmt.Errorf("%s", msg)
		}
	}
	return nil
}

// setDevices compiles the effective device list to an eBPF program and
// makes it the cgroup's only device program.
func (m *v2Manager) setDevices(specRules []specs.LinuxDeviceCgroup) error {
	rules, err := devices.Effective(specRules)
	if err != nil {
		return err
	}
	prog, _ := ebpf.DeviceFilter(rules)
	f, err := ebpf.OpenCgroup(m.dir)
	if err != nil {
		return fmt.Errorf("linux.resources.devices: %w", err)
	}
	defer f.Close()
	t0 := time.Now()
	if err := ebpf.ReplaceDeviceFilter(int(f.Fd()), prog); err != nil {
		return fmt.Errorf("linux.resources.devices: device filter for %s: %w", m.dir, err)
	}
	slog.Debug("device filter", "dir", m.dir, "instructions", len(prog), "elapsed", time.Since(t0).Round(time.Microsecond).String())
	return nil
}

// Freeze writes cgroup.freeze and waits for cgroup.events to say
// "frozen 1" (every process stopped). After freezeTimeout it thaws and
// fails.
func (m *v2Manager) Freeze() error {
	if err := writeFile(m.dir, "cgroup.freeze", "1", ""); err != nil {
		if isNotExist(err) && exists(m.dir) {
			return fmt.Errorf("freeze %s: this kernel has no cgroup v2 freezer (Linux 5.2+): %w", m.dir, err)
		}
		return err
	}
	if err := m.waitFrozen(true); err != nil {
		m.Thaw()
		return err
	}
	return nil
}

func (m *v2Manager) Thaw() error {
	if err := writeFile(m.dir, "cgroup.freeze", "0", ""); err != nil {
		return err
	}
	return m.waitFrozen(false)
}

func (m *v2Manager) waitFrozen(want bool) error {
	deadline := time.Now().Add(freezeTimeout)
	var b backoff
	for {
		frozen, err := m.eventsFrozen()
		if err != nil {
			return err
		}
		if frozen == want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s/cgroup.events: frozen is still %v after %v", m.dir, frozen, freezeTimeout)
		}
		b.wait()
	}
}

func (m *v2Manager) eventsFrozen() (bool, error) {
	kv, err := readKV(m.dir, "cgroup.events")
	if err != nil {
		return false, err
	}
	return kv["frozen"] == 1, nil
}

func (m *v2Manager) FreezerState() (FreezerState, error) {
	want, err := readTrimmed(m.dir, "cgroup.freeze")
	if err != nil {
		if isNotExist(err) {
			return Thawed, nil
		}
		return "", err
	}
	if want != "1" {
		return Thawed, nil
	}
	frozen, err := m.eventsFrozen()
	if err != nil {
		return "", err
	}
	if frozen {
		return Frozen, nil
	}
	return Freezing, nil
}

func (m *v2Manager) Pids() ([]int, error) { return pidsUnder(m.dir) }

func (m *v2Manager) Signal(sig unix.Signal) error { return signalAll(m, sig) }

// Kill SIGKILLs every process, with cgroup.kill where the kernel has it
// (Linux 5.14+): one write, no race with forks, frozen or not.
func (m *v2Manager) Kill() error {
	if !exists(m.dir) {
		return nil
	}
	err := writeFile(m.dir, "cgroup.kill", "1", "")
	if err == nil || !isNotExist(err) {
		return err
	}
	return signalAll(m, unix.SIGKILL)
}

func (m *v2Manager) Destroy() error {
	if err := removeCgroup(m.dir, time.Now().Add(destroyTimeout)); err != nil {
		return err
	}
	m.created = false
	return nil
}

func (m *v2Manager) Exists() bool { return exists(m.dir) }

func (m *v2Manager) Unified() bool { return true }

func (m *v2Manager) Path() string { return m.path }

func (m *v2Manager) Paths() map[string]string { return map[string]string{unifiedKey: m.dir} }
