package main

import (
	"encoding/json"
	"os"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-spec/specs-go/features"
	"github.com/urfave/cli/v2"

	"berth/libcontainer/caps"
	"berth/libcontainer/intelrdt"
	"berth/libcontainer/lsm"
	"berth/libcontainer/procattr"
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
				Apparmor: &features.Apparmor{Enabled: &yes},
				Selinux:  &features.Selinux{Enabled: &yes},
				// Implemented; whether the host has resctrl is in the
				// annotations (create refuses linux.intelRdt without).
				IntelRdt: &features.IntelRdt{Enabled: &yes, Schemata: &yes, Monitoring: &yes},
				MemoryPolicy: &features.MemoryPolicy{
					Modes: procattr.MemoryPolicyModes(),
					Flags: procattr.MemoryPolicyFlags(),
				},
				MountExtensions: &features.MountExtensions{IDMap: &features.IDMap{Enabled: &yes}},
				NetDevices:      &features.NetDevices{Enabled: &yes},
			},
			Annotations: map[string]string{
				"org.berth.version":            version,
				"org.berth.checkpoint.enabled": "false",
				// berth compiles seccomp profiles itself (no libseccomp).
				"org.berth.seccomp.compiler": "builtin",
				// What this host offers of what berth implements.
				"org.berth.host.resctrl":  strconv.FormatBool(hostResctrl()),
				"org.berth.host.apparmor": strconv.FormatBool(lsm.AppArmorEnabled()),
				"org.berth.host.selinux":  strconv.FormatBool(lsm.SELinuxEnabled()),
			},
			// Annotations that change what berth does to the host:
			// veth networking, and an overlay rootfs over bundle paths.
			PotentiallyUnsafeConfigAnnotations: []string{"berth.net.", rootfs.OverlayAnnotation},
		}
		out, err := json.MarshalIndent(f, "", "    ")
		if err != nil {
			return err
		}
		os.Stdout.Write(append(out, '\n'))
		return nil
	},
}

// hostResctrl reports whether this host has resctrl mounted.
func hostResctrl() bool {
	_, err := intelrdt.Root("/proc/self/mountinfo")
	return err == nil
}
