package spec

import (
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func ptr[T any](v T) *T { return &v }

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		mutate  func(s *specs.Spec)
		wantErr string // "" means the spec must pass
	}{
		{name: "default", mutate: func(s *specs.Spec) {}},
		{name: "rootless default", mutate: func(s *specs.Spec) { *s = *Default(true) }},

		// ociVersion, root
		{"no version", func(s *specs.Spec) { s.Version = "" }, "config.json: ociVersion: must be set"},
		{"version 2", func(s *specs.Spec) { s.Version = "2.0.0" }, `ociVersion "2.0.0": unsupported version`},
		{"old 1.0", func(s *specs.Spec) { s.Version = "1.0.2-dev" }, ""},
		{"no root", func(s *specs.Spec) { s.Root = nil }, "config.json: root.path: must be set"},
		{"empty root path", func(s *specs.Spec) { s.Root.Path = "" }, "root.path: must be set"},

		// process
		{"no process", func(s *specs.Spec) { s.Process = nil }, "config.json: process: must be set"},
		{"no args", func(s *specs.Spec) { s.Process.Args = nil }, "config.json: process.args: must not be empty"},
		{"empty argv0", func(s *specs.Spec) { s.Process.Args = []string{""} }, "process.args[0]: must not be empty"},
		{"no cwd", func(s *specs.Spec) { s.Process.Cwd = "" }, "process.cwd: must be set"},
		{"relative cwd", func(s *specs.Spec) { s.Process.Cwd = "home" }, `process.cwd "home": must be an absolute path`},
		{"uid -1", func(s *specs.Spec) { s.Process.User.UID = 1<<32 - 1 }, "process.user.uid 4294967295: not a valid user id"},
		{"gid -1", func(s *specs.Spec) { s.Process.User.GID = 1<<32 - 1 }, "process.user.gid 4294967295"},
		{"additional gid -1", func(s *specs.Spec) { s.Process.User.AdditionalGids = []uint32{10, 1<<32 - 1} },
			"process.user.additionalGids[1] 4294967295"},
		{"umask ok", func(s *specs.Spec) { s.Process.User.Umask = ptr[uint32](0o077) }, ""},
		{"umask too big", func(s *specs.Spec) { s.Process.User.Umask = ptr[uint32](0o1777) }, "process.user.umask 01777: must be at most 0777"},
		{"env without =", func(s *specs.Spec) { s.Process.Env = append(s.Process.Env, "FOO") }, `process.env[2] "FOO": must be NAME=VALUE`},
		{"env without name", func(s *specs.Spec) { s.Process.Env = []string{"=x"} }, `process.env[0] "=x"`},
		{"env empty value ok", func(s *specs.Spec) { s.Process.Env = []string{"X="} }, ""},
		{"unknown rlimit", func(s *specs.Spec) {
			s.Process.Rlimits = append(s.Process.Rlimits, specs.POSIXRlimit{Type: "RLIMIT_FOO"})
		}, `process.rlimits[1].type "RLIMIT_FOO": unknown resource limit`},
		{"duplicate rlimit", func(s *specs.Spec) {
			s.Process.Rlimits = append(s.Process.Rlimits, specs.POSIXRlimit{Type: "RLIMIT_NOFILE", Soft: 1, Hard: 1})
		}, `process.rlimits[1].type "RLIMIT_NOFILE": duplicate of process.rlimits[0]`},
		{"soft above hard", func(s *specs.Spec) { s.Process.Rlimits[0].Soft = 2048 },
			"process.rlimits[0] (RLIMIT_NOFILE): soft limit 2048 exceeds hard limit 1024"},
		// Left out with a warning at create, as runc does.
		{"unknown capability ok", func(s *specs.Spec) {
			s.Process.Capabilities.Bounding = append(s.Process.Capabilities.Bounding, "CAP_FOO")
		}, ""},
		{"no capabilities ok", func(s *specs.Spec) { s.Process.Capabilities = nil }, ""},
		{"oomScoreAdj ok", func(s *specs.Spec) { s.Process.OOMScoreAdj = ptr(-1000) }, ""},
		{"oomScoreAdj too high", func(s *specs.Spec) { s.Process.OOMScoreAdj = ptr(1001) }, "process.oomScoreAdj 1001: must be within -1000..1000"},
		{"oomScoreAdj too low", func(s *specs.Spec) { s.Process.OOMScoreAdj = ptr(-1001) }, "process.oomScoreAdj -1001"},
		// Whether the host runs the LSM is checked at create, not here.
		{"apparmor ok", func(s *specs.Spec) { s.Process.ApparmorProfile = "docker-default" }, ""},
		{"apparmor newline", func(s *specs.Spec) { s.Process.ApparmorProfile = "a\nexec b" },
			`process.apparmorProfile "a\nexec b": contains the control character '\n'`},
		{"apparmor padded", func(s *specs.Spec) { s.Process.ApparmorProfile = " x" },
			`process.apparmorProfile " x": must not begin or end with white space`},
		{"selinux ok", func(s *specs.Spec) { s.Process.SelinuxLabel = "system_u:system_r:container_t:s0:c1,c2" }, ""},
		{"selinux short", func(s *specs.Spec) { s.Process.SelinuxLabel = "container_t" },
			`process.selinuxLabel "container_t": want user:role:type[:level], got 1 field(s)`},
		{"selinux quote", func(s *specs.Spec) { s.Process.SelinuxLabel = `a:b:c"` },
			`process.selinuxLabel "a:b:c\"": must not contain spaces or double quotes`},

		// mounts
		{"relative mount destination", func(s *specs.Spec) { s.Mounts[3].Destination = "proc" },
			`config.json: mounts[3].destination "proc": must be an absolute path`},
		{"empty mount destination", func(s *specs.Spec) { s.Mounts[0].Destination = "" }, "mounts[0].destination: must be set"},
		{"idmap half", func(s *specs.Spec) {
			s.Mounts[0].UIDMappings = []specs.LinuxIDMapping{{Size: 1}}
		}, "mounts[0]: uidMappings and gidMappings must be given together"},

		// hooks
		{"hook relative path", func(s *specs.Spec) {
			s.Hooks = &specs.Hooks{Poststop: []specs.Hook{{Path: "/bin/true"}, {Path: "true"}}}
		}, `hooks.poststop[1].path "true": must be an absolute path`},
		{"hook zero timeout", func(s *specs.Spec) {
			s.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{{Path: "/bin/true", Timeout: ptr(0)}}}
		}, "hooks.createRuntime[0].timeout 0: must be greater than zero"},
		{"hook ok", func(s *specs.Spec) {
			s.Hooks = &specs.Hooks{Prestart: []specs.Hook{{Path: "/bin/true", Timeout: ptr(5), Env: []string{"A=b"}}}}
		}, ""},
		{"hook env", func(s *specs.Spec) {
			s.Hooks = &specs.Hooks{StartContainer: []specs.Hook{{Path: "/bin/true", Env: []string{"A"}}}}
		}, `hooks.startContainer[0].env[0] "A": must be NAME=VALUE`},

		// namespaces
		{"no linux", func(s *specs.Spec) { s.Linux = nil }, "config.json: linux: must be set"},
		{"unknown namespace", func(s *specs.Spec) { s.Linux.Namespaces[2].Type = "netw" },
			`config.json: linux.namespaces[2].type "netw": unknown namespace type`},
		{"duplicate namespace", func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: "pid"})
		}, `linux.namespaces[6].type "pid": duplicate of linux.namespaces[0]`},
		{"relative namespace path", func(s *specs.Spec) { s.Linux.Namespaces[1].Path = "proc/1/ns/net" },
			`linux.namespaces[1].path "proc/1/ns/net": must be an absolute path`},
		{"userns without mappings", func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: "user"})
		}, "linux.uidMappings: must not be empty when linux.namespaces[6] creates a user namespace"},
		{"userns without gid mappings", func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: "user"})
			s.Linux.UIDMappings = []specs.LinuxIDMapping{{HostID: 100000, Size: 65536}}
		}, "linux.gidMappings: must not be empty"},
		{"userns joined by path needs no mappings", func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: "user", Path: "/proc/1/ns/user"})
		}, ""},
		{"mappings without userns", func(s *specs.Spec) {
			s.Linux.UIDMappings = []specs.LinuxIDMapping{{HostID: 100000, Size: 65536}}
		}, "linux.uidMappings/gidMappings: given, but linux.namespaces has no user namespace"},
		{"mapping size 0", func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: "user"})
			s.Linux.UIDMappings = []specs.LinuxIDMapping{{HostID: 100000, Size: 65536}}
			s.Linux.GIDMappings = []specs.LinuxIDMapping{{HostID: 100000, Size: 0}}
		}, "linux.gidMappings[0].size: must be greater than zero"},
		{"process uid unmapped", func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: "user"})
			s.Linux.UIDMappings = []specs.LinuxIDMapping{{HostID: 100000, Size: 1000}}
			s.Linux.GIDMappings = []specs.LinuxIDMapping{{HostID: 100000, Size: 65536}}
			s.Process.User.UID = 1000
		}, "process.user.uid 1000: not mapped by linux.uidMappings"},
		{"additional gid unmapped", func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: "user"})
			s.Linux.UIDMappings = []specs.LinuxIDMapping{{HostID: 100000, Size: 65536}}
			s.Linux.GIDMappings = []specs.LinuxIDMapping{{HostID: 100000, Size: 65536}}
			s.Process.User = specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{65535, 65536}}
		}, "process.user.additionalGids[1] 65536: not mapped by linux.gidMappings"},
		{"mapped user ok", func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: "user"})
			s.Linux.UIDMappings = []specs.LinuxIDMapping{{HostID: 100000, Size: 65536}}
			s.Linux.GIDMappings = []specs.LinuxIDMapping{{HostID: 100000, Size: 65536}}
			s.Process.User = specs.User{UID: 65535, GID: 1000}
		}, ""},
		{"no mount ns: maskedPaths", func(s *specs.Spec) { s.Linux.Namespaces = s.Linux.Namespaces[:4] },
			`config.json: linux.maskedPaths: cannot be applied without a mount namespace (linux.namespaces has no "mount")`},
		{"no mount ns: readonlyPaths", func(s *specs.Spec) {
			s.Linux.Namespaces, s.Linux.MaskedPaths = s.Linux.Namespaces[:4], nil
		}, `config.json: linux.readonlyPaths: cannot be applied without a mount namespace (linux.namespaces has no "mount")`},
		{"no mount ns: devices", func(s *specs.Spec) {
			s.Linux.Namespaces, s.Linux.MaskedPaths, s.Linux.ReadonlyPaths = s.Linux.Namespaces[:4], nil, nil
			s.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/fuse", Type: "c", Major: 10, Minor: 229}}
		}, `config.json: linux.devices: cannot be applied without a mount namespace (linux.namespaces has no "mount")`},
		{"no mount ns: root.readonly", func(s *specs.Spec) {
			s.Linux.Namespaces, s.Linux.MaskedPaths, s.Linux.ReadonlyPaths = s.Linux.Namespaces[:4], nil, nil
		}, `config.json: root.readonly: cannot be applied without a mount namespace (linux.namespaces has no "mount")`},
		{"no mount ns: rootfsPropagation", func(s *specs.Spec) {
			s.Linux.Namespaces, s.Linux.MaskedPaths, s.Linux.ReadonlyPaths = s.Linux.Namespaces[:4], nil, nil
			s.Root.Readonly = false
			s.Linux.RootfsPropagation = "rslave"
		}, `config.json: linux.rootfsPropagation: cannot be applied without a mount namespace (linux.namespaces has no "mount")`},
		{"no mount ns, nothing to mount", func(s *specs.Spec) {
			s.Linux.Namespaces, s.Linux.MaskedPaths, s.Linux.ReadonlyPaths = s.Linux.Namespaces[:4], nil, nil
			s.Root.Readonly = false
		}, ""},
		{"joined mount ns", func(s *specs.Spec) { s.Linux.Namespaces[4].Path = "/run/mntns/x" }, ""},
		{"timeOffsets without time ns", func(s *specs.Spec) {
			s.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"monotonic": {Secs: 10}}
		}, "linux.timeOffsets: requires a time namespace in linux.namespaces"},
		{"timeOffsets ok", func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: "time"})
			s.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"monotonic": {Secs: 10}, "boottime": {Nanosecs: 5}}
		}, ""},
		{"timeOffsets joined ns", func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: "time", Path: "/proc/1/ns/time"})
			s.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"monotonic": {Secs: 10}}
		}, "linux.timeOffsets: cannot be applied to the joined time namespace linux.namespaces[6].path"},
		{"timeOffsets unknown clock", func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: "time"})
			s.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"realtime": {Secs: 10}}
		}, `linux.timeOffsets["realtime"]: unknown clock`},

		// sysctl, hostname
		{"net sysctl ok", func(s *specs.Spec) { s.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": "1"} }, ""},
		{"net sysctl slash form ok", func(s *specs.Spec) { s.Linux.Sysctl = map[string]string{"net/ipv4/ip_forward": "1"} }, ""},
		{"net sysctl without netns", func(s *specs.Spec) {
			s.Linux.Namespaces = s.Linux.Namespaces[2:] // drop pid, network
			s.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": "1"}
		}, `linux.sysctl["net.ipv4.ip_forward"]: requires a network namespace in linux.namespaces`},
		{"net sysctl in host netns", func(s *specs.Spec) {
			s.Linux.Namespaces[1].Path = "/proc/self/ns/net"
			s.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": "1"}
		}, `linux.sysctl["net.ipv4.ip_forward"]: linux.namespaces[1].path "/proc/self/ns/net" is the host's network namespace`},
		{"net sysctl in joined netns", func(s *specs.Spec) {
			s.Linux.Namespaces[1].Path = "/run/netns/does-not-exist-here"
			s.Linux.Sysctl = map[string]string{"net.core.somaxconn": "1024"}
		}, ""},
		{"ipc sysctls need ipc", func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces[:2], s.Linux.Namespaces[3:]...) // drop ipc
			s.Linux.Sysctl = map[string]string{"kernel.sem": "250 32000 100 128"}
		}, `linux.sysctl["kernel.sem"]: requires an ipc namespace in linux.namespaces`},
		{"ipc sysctls ok", func(s *specs.Spec) {
			s.Linux.Sysctl = map[string]string{"kernel.shmmax": "1", "kernel.msgmax": "1", "kernel.sem_next_id": "1", "fs.mqueue.msg_max": "10"}
		}, ""},
		{"mqueue sysctl needs ipc", func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces[:2], s.Linux.Namespaces[3:]...)
			s.Linux.Sysctl = map[string]string{"fs.mqueue.msg_max": "10"}
		}, `linux.sysctl["fs.mqueue.msg_max"]: requires an ipc namespace in linux.namespaces`},
		{"kernel.hostname needs uts", func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces[:3], s.Linux.Namespaces[4:]...) // drop uts
			s.Hostname = ""
			s.Linux.Sysctl = map[string]string{"kernel.hostname": "x"}
		}, `linux.sysctl["kernel.hostname"]: requires a uts namespace`},
		{"host sysctl", func(s *specs.Spec) { s.Linux.Sysctl = map[string]string{"vm.swappiness": "0"} },
			`linux.sysctl["vm.swappiness"]: not a namespaced sysctl; setting it would change the host`},
		{"kernel non-ipc sysctl", func(s *specs.Spec) { s.Linux.Sysctl = map[string]string{"kernel.panic": "1"} },
			`linux.sysctl["kernel.panic"]: not a namespaced sysctl`},
		{"hostname without uts", func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces[:3], s.Linux.Namespaces[4:]...)
		}, `hostname "berth": requires a uts namespace in linux.namespaces`},
		{"domainname without uts", func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces[:3], s.Linux.Namespaces[4:]...)
			s.Hostname = ""
			s.Domainname = "example.org"
		}, `domainname "example.org": requires a uts namespace`},
		{"hostname in host uts", func(s *specs.Spec) { s.Linux.Namespaces[3].Path = "/proc/self/ns/uts" },
			`hostname "berth": linux.namespaces[3].path "/proc/self/ns/uts" is the host's uts namespace`},

		// devices
		{"device ok", func(s *specs.Spec) {
			s.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/fuse", Type: "c", Major: 10, Minor: 229}, {Path: "/dev/p", Type: "p"}}
		}, ""},
		{"device type", func(s *specs.Spec) {
			s.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/x", Type: "x", Major: 1, Minor: 3}}
		}, `linux.devices[0].type "x": must be c, b, u or p`},
		{"device path", func(s *specs.Spec) {
			s.Linux.Devices = []specs.LinuxDevice{{Path: "dev/null", Type: "c", Major: 1, Minor: 3}}
		}, `linux.devices[0].path "dev/null": must be an absolute path`},
		{"device numbers missing", func(s *specs.Spec) {
			s.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/sda", Type: "b"}}
		}, `linux.devices[0] (/dev/sda): major and minor are required for type "b"`},
		{"device negative", func(s *specs.Spec) {
			s.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/x", Type: "u", Major: -1, Minor: 1}}
		}, "linux.devices[0] (/dev/x): major and minor must not be negative"},
		{"device duplicate", func(s *specs.Spec) {
			d := specs.LinuxDevice{Path: "/dev/null", Type: "c", Major: 1, Minor: 3}
			s.Linux.Devices = []specs.LinuxDevice{d, d}
		}, `linux.devices[1].path "/dev/null": duplicate of linux.devices[0]`},
		{"device cgroup access", func(s *specs.Spec) { s.Linux.Resources.Devices[0].Access = "rwx" },
			`linux.resources.devices[0].access "rwx": must be made of r, w and m`},
		{"device cgroup access a ignored", func(s *specs.Spec) { s.Linux.Resources.Devices[0].Access = "rwa" }, ""},
		{"device cgroup access only a", func(s *specs.Spec) { s.Linux.Resources.Devices[0].Access = "a" },
			`linux.resources.devices[0].access "a": names none of r, w and m`},
		{"device cgroup type", func(s *specs.Spec) { s.Linux.Resources.Devices[0].Type = "p" },
			`linux.resources.devices[0].type "p": must be a, c or b`},

		// other linux fields
		{"relative masked path", func(s *specs.Spec) { s.Linux.MaskedPaths[1] = "proc/kcore" },
			`linux.maskedPaths[1] "proc/kcore": must be an absolute path`},
		{"relative readonly path", func(s *specs.Spec) { s.Linux.ReadonlyPaths[0] = "" },
			`linux.readonlyPaths[0] "": must be an absolute path`},
		{"propagation", func(s *specs.Spec) { s.Linux.RootfsPropagation = "rshared" }, ""},
		{"bad propagation", func(s *specs.Spec) { s.Linux.RootfsPropagation = "shard" }, `linux.rootfsPropagation "shard"`},
		{"seccomp notify", func(s *specs.Spec) {
			s.Linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, ListenerPath: "/run/x.sock", ListenerMetadata: "m",
				Syscalls: []specs.LinuxSyscall{{Names: []string{"mkdir", "mkdirat"}, Action: specs.ActNotify}}}
		}, ""},
		{"seccomp listenerPath without notify", func(s *specs.Spec) {
			s.Linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, ListenerPath: "/run/x.sock"}
		}, ""},
		{"seccomp notify without listenerPath", func(s *specs.Spec) {
			s.Linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{
				{Names: []string{"getpid"}, Action: specs.ActErrno}, {Names: []string{"mkdir"}, Action: specs.ActNotify}}}
		}, "config.json: linux.seccomp.listenerPath: required when linux.seccomp.syscalls[1].action is SCMP_ACT_NOTIFY"},
		{"seccomp relative listenerPath", func(s *specs.Spec) {
			s.Linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, ListenerPath: "agent.sock",
				Syscalls: []specs.LinuxSyscall{{Names: []string{"mkdir"}, Action: specs.ActNotify}}}
		}, `config.json: linux.seccomp.listenerPath "agent.sock": must be an absolute path`},
		{"seccomp listenerMetadata without listenerPath", func(s *specs.Spec) {
			s.Linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, ListenerMetadata: "m"}
		}, "config.json: linux.seccomp.listenerMetadata: must not be set without linux.seccomp.listenerPath"},
		{"seccomp notify write", func(s *specs.Spec) {
			s.Linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, ListenerPath: "/run/x.sock",
				Syscalls: []specs.LinuxSyscall{{Names: []string{"mkdir", "write"}, Action: specs.ActNotify}}}
		}, "config.json: linux.seccomp.syscalls[0]: SCMP_ACT_NOTIFY cannot be used for write"},
		{"seccomp notify sendmsg", func(s *specs.Spec) {
			s.Linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, ListenerPath: "/run/x.sock",
				Syscalls: []specs.LinuxSyscall{{Names: []string{"sendmsg"}, Action: specs.ActNotify}}}
		}, "config.json: linux.seccomp.syscalls[0]: SCMP_ACT_NOTIFY cannot be used for sendmsg"},
		{"seccomp notify default", func(s *specs.Spec) {
			s.Linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: specs.ActNotify, ListenerPath: "/run/x.sock"}
		}, "config.json: linux.seccomp: linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action"},
		{"seccomp bad action", func(s *specs.Spec) { s.Linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: "SCMP_ACT_BOGUS"} },
			"config.json: linux.seccomp: "},
		{"mountLabel ok", func(s *specs.Spec) { s.Linux.MountLabel = "system_u:object_r:container_file_t:s0" }, ""},
		{"mountLabel empty field", func(s *specs.Spec) { s.Linux.MountLabel = "system_u::container_file_t:s0" },
			`linux.mountLabel "system_u::container_file_t:s0": want user:role:type[:level], field 2 is empty`},

		// refused by name: other platforms, and what berth does not implement
		{"windows refused", func(s *specs.Spec) { s.Windows = &specs.Windows{} }, "config.json: windows: another platform's section"},
		{"solaris refused", func(s *specs.Spec) { s.Solaris = &specs.Solaris{} }, "config.json: solaris: another platform's section"},
		{"vm refused", func(s *specs.Spec) { s.VM = &specs.VM{} }, "config.json: vm: another platform's section"},
		{"zos refused", func(s *specs.Spec) { s.ZOS = &specs.ZOS{} }, "config.json: zos: another platform's section"},
		{"freebsd refused", func(s *specs.Spec) { s.FreeBSD = &specs.FreeBSD{} }, "config.json: freebsd: another platform's section"},
		{"commandLine refused", func(s *specs.Spec) { s.Process.CommandLine = "sh -c x" }, "config.json: process.commandLine: Windows only"},
		{"username refused", func(s *specs.Spec) { s.Process.User.Username = "root" }, `config.json: process.user.username "root": Windows only`},
		{"scheduler", func(s *specs.Spec) {
			s.Process.Scheduler = &specs.Scheduler{Policy: specs.SchedFIFO, Priority: 10, Flags: []specs.LinuxSchedulerFlag{specs.SchedFlagResetOnFork}}
		}, ""},
		{"scheduler bad policy", func(s *specs.Spec) { s.Process.Scheduler = &specs.Scheduler{Policy: "SCHED_ISO"} },
			`config.json: process.scheduler.policy "SCHED_ISO": unknown`},
		{"scheduler rt priority 0", func(s *specs.Spec) { s.Process.Scheduler = &specs.Scheduler{Policy: specs.SchedRR} },
			"process.scheduler.priority 0: must be within 1..99 for SCHED_RR"},
		{"scheduler nice", func(s *specs.Spec) { s.Process.Scheduler = &specs.Scheduler{Policy: specs.SchedOther, Nice: 20} },
			"process.scheduler.nice 20: must be within -20..19"},
		{"ioPriority", func(s *specs.Spec) {
			s.Process.IOPriority = &specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_BE, Priority: 7}
		}, ""},
		{"ioPriority bad class", func(s *specs.Spec) { s.Process.IOPriority = &specs.LinuxIOPriority{Class: "IOPRIO_CLASS_X"} },
			`config.json: process.ioPriority.class "IOPRIO_CLASS_X": unknown`},
		{"ioPriority bad priority", func(s *specs.Spec) {
			s.Process.IOPriority = &specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_BE, Priority: 8}
		},
			"process.ioPriority.priority 8: must be within 0..7"},
		{"execCPUAffinity", func(s *specs.Spec) { s.Process.ExecCPUAffinity = &specs.CPUAffinity{Initial: "0-1,3", Final: "0"} }, ""},
		{"execCPUAffinity bad list", func(s *specs.Spec) { s.Process.ExecCPUAffinity = &specs.CPUAffinity{Final: "1-x"} },
			`config.json: process.execCPUAffinity.final "1-x": "1-x": not a range low-high`},
		{"personality", func(s *specs.Spec) {
			s.Linux.Personality = &specs.LinuxPersonality{Domain: specs.PerLinux32, Flags: []specs.LinuxPersonalityFlag{"ADDR_NO_RANDOMIZE"}}
		}, ""},
		{"personality bad domain", func(s *specs.Spec) { s.Linux.Personality = &specs.LinuxPersonality{Domain: "BSD"} },
			`config.json: linux.personality.domain "BSD": unknown (want LINUX or LINUX32)`},
		{"personality bad flag", func(s *specs.Spec) {
			s.Linux.Personality = &specs.LinuxPersonality{Domain: specs.PerLinux, Flags: []specs.LinuxPersonalityFlag{"FAST"}}
		}, `linux.personality.flags[0] "FAST": unknown`},
		{"memoryPolicy", func(s *specs.Spec) { s.Linux.MemoryPolicy = &specs.LinuxMemoryPolicy{Mode: specs.MpolBind, Nodes: "0"} }, ""},
		{"memoryPolicy bad mode", func(s *specs.Spec) { s.Linux.MemoryPolicy = &specs.LinuxMemoryPolicy{Mode: "MPOL_X"} },
			`config.json: linux.memoryPolicy.mode "MPOL_X": unknown`},
		{"memoryPolicy nodes for local", func(s *specs.Spec) {
			s.Linux.MemoryPolicy = &specs.LinuxMemoryPolicy{Mode: specs.MpolLocal, Nodes: "0"}
		},
			`linux.memoryPolicy.nodes "0": must be empty for MPOL_LOCAL`},
		{"memoryPolicy bind without nodes", func(s *specs.Spec) { s.Linux.MemoryPolicy = &specs.LinuxMemoryPolicy{Mode: specs.MpolBind} },
			"linux.memoryPolicy.nodes: required for MPOL_BIND"},
		{"memoryPolicy bad flag", func(s *specs.Spec) {
			s.Linux.MemoryPolicy = &specs.LinuxMemoryPolicy{Mode: specs.MpolBind, Nodes: "0", Flags: []specs.MemoryPolicyFlagType{"MPOL_F_X"}}
		}, `linux.memoryPolicy.flags[0] "MPOL_F_X": unknown`},
		{"idmapped mount", func(s *specs.Spec) {
			s.Mounts[0].UIDMappings = []specs.LinuxIDMapping{{Size: 1}}
			s.Mounts[0].GIDMappings = []specs.LinuxIDMapping{{Size: 1}}
		}, ""},
		{"idmapped mount size 0", func(s *specs.Spec) {
			s.Mounts[0].UIDMappings = []specs.LinuxIDMapping{{Size: 1}}
			s.Mounts[0].GIDMappings = []specs.LinuxIDMapping{{Size: 0}}
		}, "config.json: mounts[0].gidMappings[0].size: must be greater than zero"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The v2 default (six namespaces): the expected indexes
			// must not depend on the host.
			s := defaultFor(false, true)
			tc.mutate(s)
			err := Validate(s)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want one containing %q", tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %q\n  does not contain %q", err, tc.wantErr)
			}
			if !strings.HasPrefix(err.Error(), "config.json: ") {
				t.Fatalf("error %q does not start with config.json:", err)
			}
		})
	}
}

func TestValidateNil(t *testing.T) {
	if err := Validate(nil); err == nil {
		t.Fatal("Validate(nil) passed")
	}
}

func TestRlimit(t *testing.T) {
	if r, ok := Rlimit("RLIMIT_NOFILE"); !ok || r != 7 {
		t.Errorf("RLIMIT_NOFILE = %d, %v", r, ok)
	}
	if r, ok := Rlimit("RLIMIT_RTTIME"); !ok || r != 15 {
		t.Errorf("RLIMIT_RTTIME = %d, %v", r, ok)
	}
	if _, ok := Rlimit("NOFILE"); ok {
		t.Error("NOFILE accepted")
	}
	if len(rlimits) != 16 {
		t.Errorf("%d rlimits, want the kernel's 16", len(rlimits))
	}
}
