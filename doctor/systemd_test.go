package doctor

import (
	"os"
	"reflect"
	"testing"
)

func TestEngineDrivers(t *testing.T) {
	files := map[string]string{
		"/etc/containerd/config.toml": `version = 2
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
  SystemdCgroup = true
`,
		"/etc/docker/daemon.json":               `{"exec-opts": ["native.cgroupdriver=cgroupfs"]}`,
		"/usr/share/containers/containers.conf": "[engine]\ncgroup_manager = \"systemd\"\n",
	}
	read := func(p string) ([]byte, error) {
		if s, ok := files[p]; ok {
			return []byte(s), nil
		}
		return nil, os.ErrNotExist
	}
	got, wanted := engineDrivers(read)
	want := []string{
		"containerd systemd (/etc/containerd/config.toml)",
		"dockerd cgroupfs (/etc/docker/daemon.json)",
		"podman systemd (/usr/share/containers/containers.conf)",
	}
	if !reflect.DeepEqual(got, want) || !wanted {
		t.Errorf("engineDrivers = %q, %v; want %q, true", got, wanted, want)
	}

	// /etc's containers.conf wins over /usr/share's; unset keys say their
	// defaults; a broken daemon.json says nothing.
	files = map[string]string{
		"/etc/containerd/config.toml":           "version = 2\n",
		"/etc/docker/daemon.json":               `{"exec-opts": [`,
		"/etc/containers/containers.conf":       "[engine]\ncgroup_manager = \"cgroupfs\"\n",
		"/usr/share/containers/containers.conf": "[engine]\ncgroup_manager = \"systemd\"\n",
	}
	got, wanted = engineDrivers(read)
	want = []string{
		"containerd cgroupfs (SystemdCgroup unset) (/etc/containerd/config.toml)",
		"podman cgroupfs (/etc/containers/containers.conf)",
	}
	if !reflect.DeepEqual(got, want) || wanted {
		t.Errorf("engineDrivers = %q, %v; want %q, false", got, wanted, want)
	}
	if d, _ := dockerdDriver([]byte(`{}`)); d != "default (systemd on a cgroup v2 systemd host, else cgroupfs)" {
		t.Errorf("dockerd without exec-opts: %q", d)
	}
}
