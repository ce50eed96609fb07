package doctor

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	cghost "berth/cgroups/host"
	"berth/cgroups/systemd"
)

// engineConfig is an engine's config file that names its cgroup driver.
type engineConfig struct {
	engine string
	path   string
	parse  func(data []byte) (driver string, ok bool)
}

var engineConfigs = []engineConfig{
	{"containerd", "/etc/containerd/config.toml", containerdDriver},
	{"dockerd", "/etc/docker/daemon.json", dockerdDriver},
	{"podman", "/etc/containers/containers.conf", podmanDriver},
	{"podman", "/usr/share/containers/containers.conf", podmanDriver},
}

// tomlValue finds the first line "key = value" of a TOML file and returns
// value unquoted (no regular expression: package-level ones would be
// compiled in every berth process).
func tomlValue(data []byte, key string) (string, bool) {
	for _, line := range strings.Split(string(data), "\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok || strings.TrimSpace(k) != key {
			continue
		}
		v = strings.TrimSpace(v)
		if i := strings.Index(v, " #"); i >= 0 {
			v = strings.TrimSpace(v[:i])
		}
		return strings.Trim(v, `"'`), true
	}
	return "", false
}

// containerdDriver reads the runc options' SystemdCgroup of a
// config.toml: the CRI runtimes' (false, cgroupfs, when unset).
func containerdDriver(data []byte) (string, bool) {
	v, ok := tomlValue(data, "SystemdCgroup")
	if !ok {
		return "cgroupfs (SystemdCgroup unset)", true
	}
	if v == "true" {
		return "systemd", true
	}
	return "cgroupfs", true
}

// dockerdDriver reads exec-opts native.cgroupdriver of a daemon.json;
// unset, dockerd picks systemd on a cgroup v2 host run by systemd.
func dockerdDriver(data []byte) (string, bool) {
	var cfg struct {
		ExecOpts []string `json:"exec-opts"`
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		return "", false
	}
	for _, o := range cfg.ExecOpts {
		if v, ok := strings.CutPrefix(strings.ReplaceAll(o, " ", ""), "native.cgroupdriver="); ok {
			return v, true
		}
	}
	return "default (systemd on a cgroup v2 systemd host, else cgroupfs)", true
}

// podmanDriver reads [engine] cgroup_manager of a containers.conf; a file
// that does not set it says nothing (podman's default is systemd).
func podmanDriver(data []byte) (string, bool) {
	return tomlValue(data, "cgroup_manager")
}

// engineDrivers lists "engine: driver" for each engine whose config file
// read names one; read returns a file's contents.
func engineDrivers(read func(string) ([]byte, error)) (list []string, systemdWanted bool) {
	seen := map[string]bool{}
	for _, e := range engineConfigs {
		if seen[e.engine] {
			continue
		}
		data, err := read(e.path)
		if err != nil {
			continue
		}
		d, ok := e.parse(bytes.TrimSpace(data))
		if !ok {
			continue
		}
		seen[e.engine] = true
		list = append(list, e.engine+" "+d+" ("+e.path+")")
		systemdWanted = systemdWanted || d == "systemd"
	}
	return list, systemdWanted
}

// systemdCheck says whether --systemd-cgroup can work here: systemd as
// PID 1, its bus answering, its version, and which cgroup driver the
// engines' config files ask for (an engine in systemd mode passes
// --systemd-cgroup to the runtime).
func systemdCheck() Check {
	c := Check{Name: "systemd", Status: OK}
	engines, wanted := engineDrivers(os.ReadFile)
	eng := ""
	if len(engines) > 0 {
		eng = "; engines: " + strings.Join(engines, ", ")
	}
	comm, _ := os.ReadFile("/proc/1/comm")
	pid1 := strings.TrimSpace(string(comm))
	if !systemd.Available() {
		c.Detail = fmt.Sprintf("PID 1 is %s, not systemd: --systemd-cgroup cannot be used%s", pid1, eng)
		if wanted {
			c.Status = Warn
			c.Hint = "an engine is configured with the systemd cgroup driver, which needs systemd as PID 1: configure cgroupfs"
		}
		return c
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	v, err := systemd.Version(ctx)
	if err != nil {
		c.Status = Warn
		c.Detail = fmt.Sprintf("systemd is PID 1 but does not answer on the system bus: %v%s", err, eng)
		c.Hint = "--systemd-cgroup talks to systemd over D-Bus: apt-get install dbus (and start dbus.service)"
		return c
	}
	mode, err := cghost.Mode()
	if err != nil {
		mode = "unknown"
	}
	c.Detail = fmt.Sprintf("systemd %s is PID 1, its bus answers: --systemd-cgroup works (cgroup %s)%s", v, mode, eng)
	return c
}
