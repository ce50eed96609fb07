package fs2

import (
	"fmt"
	"log/slog"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"berth/cgroups/devices"
	"berth/cgroups/ebpf"
)

// setDevices compiles the effective device list to an eBPF program and
// makes it the cgroup's only device program.
func (m *Manager) setDevices(specRules []specs.LinuxDeviceCgroup) error {
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
