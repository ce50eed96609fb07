package main

import (
	"encoding/json"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-spec/specs-go/features"
	"github.com/urfave/cli/v2"

	"berth/libcontainer/caps"
	"berth/libcontainer/seccomp"
	"berth/rootfs"
)

// featuresCommand prints what this berth supports, in the runtime-spec
// features format engines query (`runc features`).
var featuresCommand = &cli.Command{
	Name:  "features",
	Usage: "print the features berth implements, as runtime-spec features JSON",
	Action: func(c *cli.Context) error {
		yes, no := true, false
		var capNames []string
		for i := 0; i <= caps.LastCap() && i <= caps.MaxKnown; i++ {
			capNames = append(capNames, caps.Name(i))
		}
		f := features.Features{
			OCIVersionMin: "1.0.0",
			OCIVersionMax: specs.Version,
			Hooks:         []string{"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"},
			MountOptions:  rootfs.KnownMountOptions(),
			Linux: &features.Linux{
				Namespaces:   []string{"cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"},
				Capabilities: capNames,
				Cgroup:       &features.Cgroup{V1: &yes, V2: &yes, Systemd: &yes, SystemdUser: &no, Rdma: &yes},
				Seccomp: &features.Seccomp{
					Enabled:        &yes,
					Actions:        seccomp.KnownActions(),
					Operators:      seccomp.KnownOperators(),
					Archs:          seccomp.KnownArchitectures(),
					KnownFlags:     seccomp.KnownFlags(),
					SupportedFlags: seccomp.SupportedFlags(),
				},
				// What berth implements; whether this host runs the LSM is
				// another matter (create refuses a profile it cannot apply).
				Apparmor:        &features.Apparmor{Enabled: &yes},
				Selinux:         &features.Selinux{Enabled: &yes},
				IntelRdt:        &features.IntelRdt{Enabled: &no},
				MountExtensions: &features.MountExtensions{IDMap: &features.IDMap{Enabled: &no}},
				NetDevices:      &features.NetDevices{Enabled: &yes},
			},
		}
		out, err := json.MarshalIndent(f, "", "    ")
		if err != nil {
			return err
		}
		os.Stdout.Write(append(out, '\n'))
		return nil
	},
}
