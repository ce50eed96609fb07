package spec

import (
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// coverage lists, for every field of runtime-spec's Spec (by its JSON
// path; a list's elements share their list's path), the tests that show
// what berth does with it: an effect test, or a test of the refusal that
// names the field. A key ending in ".*" covers the field and everything
// below it, for sections handled as a whole (another platform's, refused
// whole; a hook list, run by one code path). Tests are written
// "dir.TestName" or "dir.TestName/case", dir relative to the repository
// root; TestSpecCoverage checks each exists, so the table cannot name a
// test that is not there, and a field a later runtime-spec adds fails the
// test until it is implemented or refused.
var coverage = map[string][]string{
	"ociVersion": {"spec.TestValidate/version 2"},

	"process":                                  {"spec.TestValidate/no process"},
	"process.terminal":                         {"tests.TestTerminalConsoleSocket"},
	"process.consoleSize":                      {"tests.TestTerminalConsoleSocket"},
	"process.consoleSize.height":               {"tests.TestTerminalConsoleSocket"},
	"process.consoleSize.width":                {"tests.TestTerminalConsoleSocket"},
	"process.user":                             {"tests.TestUser"},
	"process.user.uid":                         {"tests.TestUser"},
	"process.user.gid":                         {"tests.TestUser"},
	"process.user.umask":                       {"tests.TestUser"},
	"process.user.additionalGids":              {"tests.TestUser"},
	"process.user.username":                    {"spec.TestValidate/username refused"},
	"process.args":                             {"tests.TestEnvAndCwd"},
	"process.commandLine":                      {"spec.TestValidate/commandLine refused"},
	"process.env":                              {"tests.TestEnvAndCwd", "tests.TestEnvNormalised"},
	"process.cwd":                              {"tests.TestEnvAndCwd"},
	"process.capabilities":                     {"tests.TestCapabilities"},
	"process.capabilities.bounding":            {"tests.TestCapabilities"},
	"process.capabilities.effective":           {"tests.TestCapabilities"},
	"process.capabilities.inheritable":         {"tests.TestCapabilities"},
	"process.capabilities.permitted":           {"tests.TestCapabilities"},
	"process.capabilities.ambient":             {"tests.TestCapabilities"},
	"process.rlimits":                          {"tests.TestRlimits"},
	"process.rlimits.type":                     {"tests.TestRlimits"},
	"process.rlimits.hard":                     {"tests.TestRlimits"},
	"process.rlimits.soft":                     {"tests.TestRlimits"},
	"process.noNewPrivileges":                  {"tests.TestNoNewPrivileges"},
	"process.apparmorProfile":                  {"tests.TestAppArmorProfile", "tests.TestCPathAppArmorProfile"},
	"process.oomScoreAdj":                      {"tests.TestOOMScoreAdj"},
	"process.selinuxLabel":                     {"tests.TestLSMSELinuxOff", "spec.TestValidate/selinux short"},
	"process.scheduler.*":                      {"tests.TestProcessAttributes", "libcontainer/procattr.TestCompile", "libcontainer/procattr.TestCompileErrors"},
	"process.ioPriority.*":                     {"tests.TestProcessAttributes", "libcontainer/procattr.TestCompile", "spec.TestValidate/ioPriority bad class"},
	"process.execCPUAffinity.*":                {"tests.TestProcessExecCPUAffinity", "libcontainer/procattr.TestBitmask"},
	"root":                                     {"spec.TestValidate/no root"},
	"root.path":                                {"tests.TestLifecycle"},
	"root.readonly":                            {"tests.TestRootReadonly"},
	"hostname":                                 {"tests.TestNamespaceUTS"},
	"domainname":                               {"tests.TestNamespaceUTS"},
	"mounts":                                   {"tests.TestMountBind"},
	"mounts.destination":                       {"tests.TestMountBind"},
	"mounts.type":                              {"tests.TestMountTmpfsOptions"},
	"mounts.source":                            {"tests.TestMountBind"},
	"mounts.options":                           {"tests.TestMountTmpfsOptions", "rootfs.TestParseMountOptions"},
	"mounts.uidMappings.*":                     {"tests.TestMountIdmapped", "rootfs.TestIdmaps", "rootfs.TestPlanIdmap", "spec.TestValidate/idmapped mount size 0"},
	"mounts.gidMappings.*":                     {"tests.TestMountIdmapped", "rootfs.TestIdmaps", "rootfs.TestPlanIdmap", "spec.TestValidate/idmapped mount size 0"},
	"hooks":                                    {"tests.TestHooks"},
	"hooks.prestart.*":                         {"tests.TestHooks", "libcontainer/hooks.TestRunArgsAndEnv", "libcontainer/hooks.TestRunTimeout"},
	"hooks.createRuntime.*":                    {"tests.TestHooks", "libcontainer/hooks.TestRunArgsAndEnv", "libcontainer/hooks.TestRunTimeout"},
	"hooks.createContainer.*":                  {"tests.TestHooks", "tests.TestCInitHooks", "tests.TestCInitHookFailures"},
	"hooks.startContainer.*":                   {"tests.TestHooks", "tests.TestStartContainerHookEnv"},
	"hooks.poststart.*":                        {"tests.TestHooks", "libcontainer/hooks.TestRunArgsAndEnv"},
	"hooks.poststop.*":                         {"tests.TestHooks", "libcontainer/hooks.TestRunArgsAndEnv"},
	"annotations":                              {"tests.TestLifecycle", "network.TestFromAnnotations"},
	"linux":                                    {"spec.TestValidate"},
	"linux.uidMappings":                        {"tests.TestNamespaceUser"},
	"linux.uidMappings.containerID":            {"tests.TestNamespaceUser"},
	"linux.uidMappings.hostID":                 {"tests.TestNamespaceUser"},
	"linux.uidMappings.size":                   {"tests.TestNamespaceUser"},
	"linux.gidMappings":                        {"tests.TestNamespaceUser"},
	"linux.gidMappings.containerID":            {"tests.TestNamespaceUser"},
	"linux.gidMappings.hostID":                 {"tests.TestNamespaceUser"},
	"linux.gidMappings.size":                   {"tests.TestNamespaceUser"},
	"linux.sysctl":                             {"tests.TestSysctl"},
	"linux.resources":                          {"tests.TestCgroupLimitsAndCommands"},
	"linux.resources.devices":                  {"tests.TestDeviceAllowRule", "tests.TestCgroupDevices"},
	"linux.resources.devices.allow":            {"tests.TestDeviceAllowRule"},
	"linux.resources.devices.type":             {"tests.TestDeviceAllowRule"},
	"linux.resources.devices.major":            {"tests.TestDeviceAllowRule"},
	"linux.resources.devices.minor":            {"tests.TestDeviceAllowRule"},
	"linux.resources.devices.access":           {"tests.TestDeviceAllowRule", "tests.TestCgroupDevicesAccessA"},
	"linux.resources.memory":                   {"tests.TestCgroupOOM"},
	"linux.resources.memory.limit":             {"tests.TestCgroupOOM", "cgroups/fs1.TestPlanV1"},
	"linux.resources.memory.reservation":       {"cgroups/fs1.TestPlanV1", "cgroups/fs2.TestPlanV2"},
	"linux.resources.memory.swap":              {"cgroups/fs1.TestPlanV1", "cgroups.TestSwapToV2"},
	"linux.resources.memory.kernel":            {"cgroups/fs1.TestPlanV1", "cgroups/fs2.TestPlanV2"},
	"linux.resources.memory.kernelTCP":         {"cgroups/fs1.TestPlanV1", "cgroups/fs2.TestPlanV2"},
	"linux.resources.memory.swappiness":        {"cgroups/fs1.TestPlanV1", "cgroups/fs2.TestPlanV2"},
	"linux.resources.memory.disableOOMKiller":  {"cgroups/fs1.TestPlanV1", "cgroups/fs2.TestPlanV2"},
	"linux.resources.memory.useHierarchy":      {"cgroups/fs1.TestPlanV1", "cgroups/fs2.TestPlanV2"},
	"linux.resources.memory.checkBeforeUpdate": {"cgroups/fs1.TestPlanV1", "cgroups/fs2.TestPlanV2"},
	"linux.resources.cpu":                      {"cgroups/fs1.TestPlanV1", "cgroups/fs2.TestPlanV2"},
	"linux.resources.cpu.shares":               {"cgroups/fs1.TestPlanV1", "cgroups.TestSharesToWeight"},
	"linux.resources.cpu.quota":                {"cgroups/fs1.TestPlanV1", "cgroups/fs2.TestPlanV2"},
	"linux.resources.cpu.burst":                {"cgroups/fs1.TestPlanV1", "cgroups/fs2.TestPlanV2"},
	"linux.resources.cpu.period":               {"cgroups/fs1.TestPlanV1", "cgroups/fs2.TestPlanV2"},
	"linux.resources.cpu.realtimeRuntime":      {"cgroups/fs1.TestPlanV1", "cgroups/fs2.TestPlanV2"},
	"linux.resources.cpu.realtimePeriod":       {"cgroups/fs1.TestPlanV1", "cgroups/fs2.TestPlanV2"},
	"linux.resources.cpu.cpus":                 {"cgroups/fs1.TestPlanV1", "tests.TestCgroupCpusetEmptyParent"},
	"linux.resources.cpu.mems":                 {"cgroups/fs1.TestPlanV1", "tests.TestCgroupCpusetEmptyParent"},
	"linux.resources.cpu.idle":                 {"cgroups/fs1.TestPlanV1", "cgroups/fs2.TestPlanV2"},
	"linux.resources.pids":                     {"tests.TestCgroupForkBomb"},
	"linux.resources.pids.limit":               {"tests.TestCgroupForkBomb", "tests.TestCgroupPidsLimitLow"},
	"linux.resources.blockIO.*":                {"cgroups/fs1.TestPlanV1", "cgroups/fs2.TestPlanV2", "cgroups.TestBlkioWeightToIOWeight"},
	"linux.resources.hugepageLimits.*":         {"cgroups/fs1.TestPlanV1", "cgroups/fs2.TestPlanV2"},
	"linux.resources.network.*":                {"cgroups/fs1.TestPlanV1", "cgroups/fs2.TestPlanV2"},
	"linux.resources.rdma.*":                   {"cgroups/fs1.TestPlanV1", "cgroups/fs2.TestPlanV2"},
	"linux.resources.unified":                  {"cgroups/fs2.TestPlanV2", "cgroups/fs1.TestPlanV1"},
	"linux.cgroupsPath":                        {"tests.TestCgroupLimitsAndCommands", "cgroups.TestParsePath"},
	"linux.namespaces":                         {"tests.TestNamespacePID"},
	"linux.namespaces.type":                    {"tests.TestNamespacePID", "tests.TestNamespaceNet", "tests.TestNamespaceMount"},
	"linux.namespaces.path":                    {"tests.TestNamespaceJoinByPath"},
	"linux.devices":                            {"tests.TestCustomDevice"},
	"linux.devices.path":                       {"tests.TestCustomDevice"},
	"linux.devices.type":                       {"tests.TestCustomDevice", "rootfs.TestSpecDevicesRejectsBadType"},
	"linux.devices.major":                      {"tests.TestCustomDevice"},
	"linux.devices.minor":                      {"tests.TestCustomDevice"},
	"linux.devices.fileMode":                   {"tests.TestCustomDevice"},
	"linux.devices.uid":                        {"tests.TestCustomDevice"},
	"linux.devices.gid":                        {"tests.TestCustomDevice"},
	"linux.netDevices":                         {"tests.TestNetDevices"},
	"linux.netDevices.name":                    {"tests.TestNetDevices", "network.TestMoveNetDevices"},
	"linux.seccomp":                            {"tests.TestSeccomp"},
	"linux.seccomp.defaultAction":              {"tests.TestSeccomp", "libcontainer/seccomp.TestLoadAllowList"},
	"linux.seccomp.defaultErrnoRet":            {"libcontainer/seccomp.TestLoadErrno"},
	"linux.seccomp.architectures":              {"libcontainer/seccomp.TestArchitectures", "libcontainer/seccomp.TestLoadX86ABIs"},
	"linux.seccomp.flags":                      {"libcontainer/seccomp.TestFilterFlags", "libcontainer/seccomp.TestLoadTsync"},
	"linux.seccomp.listenerPath":               {"tests.TestSeccompNotify"},
	"linux.seccomp.listenerMetadata":           {"tests.TestSeccompNotify"},
	"linux.seccomp.syscalls":                   {"tests.TestSeccomp"},
	"linux.seccomp.syscalls.names":             {"tests.TestSeccomp"},
	"linux.seccomp.syscalls.action":            {"tests.TestSeccomp", "libcontainer/seccomp.TestLoadTrap", "libcontainer/seccomp.TestLoadKillProcess"},
	"linux.seccomp.syscalls.errnoRet":          {"libcontainer/seccomp.TestLoadErrno"},
	"linux.seccomp.syscalls.args":              {"libcontainer/seccomp.TestLoadArgs"},
	"linux.seccomp.syscalls.args.index":        {"libcontainer/seccomp.TestLoadArgs"},
	"linux.seccomp.syscalls.args.value":        {"libcontainer/seccomp.TestLoadArgs"},
	"linux.seccomp.syscalls.args.valueTwo":     {"libcontainer/seccomp.TestLoadArgs"},
	"linux.seccomp.syscalls.args.op":           {"libcontainer/seccomp.TestLoadArgs"},
	"linux.rootfsPropagation":                  {"tests.TestCInitRootfsPropagation", "tests.TestMountPropagation"},
	"linux.maskedPaths":                        {"tests.TestMaskedPaths"},
	"linux.readonlyPaths":                      {"tests.TestReadonlyPaths"},
	"linux.mountLabel":                         {"tests.TestCPathMountLabel"},
	"linux.intelRdt.*":                         {"tests.TestSpecIntelRdt", "libcontainer/intelrdt.TestPrepareApplyRemove", "libcontainer/intelrdt.TestPrepareErrors"},
	"linux.memoryPolicy.*":                     {"tests.TestProcessAttributes", "libcontainer/procattr.TestCompile", "libcontainer/procattr.TestCompileErrors"},
	"linux.personality.*":                      {"tests.TestProcessAttributes", "libcontainer/procattr.TestCompile", "spec.TestValidate/personality bad flag"},
	"linux.timeOffsets":                        {"tests.TestNamespaceTime"},
	"linux.timeOffsets.secs":                   {"tests.TestNamespaceTime"},
	"linux.timeOffsets.nanosecs":               {"tests.TestNamespaceTime"},

	"windows.*": {"spec.TestValidate/windows refused"},
	"solaris.*": {"spec.TestValidate/solaris refused"},
	"vm.*":      {"spec.TestValidate/vm refused"},
	"zos.*":     {"spec.TestValidate/zos refused"},
	"freebsd.*": {"spec.TestValidate/freebsd refused"},
}

// specFields lists the JSON paths of every field reachable from t.
func specFields(t reflect.Type, prefix string, out *[]string, seen map[reflect.Type]bool) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map || t.Kind() == reflect.Array {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || seen[t] {
		return
	}
	seen[t] = true
	defer delete(seen, t)
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && name == "" {
			specFields(f.Type, prefix, out, seen)
			continue
		}
		if name == "" {
			name = f.Name
		}
		p := name
		if prefix != "" {
			p = prefix + "." + name
		}
		*out = append(*out, p)
		specFields(f.Type, p, out, seen)
	}
}

// coveredBy is the table entry for path: its own, or the nearest ".*"
// entry of it or an ancestor.
func coveredBy(path string) ([]string, bool) {
	if tests, ok := coverage[path]; ok {
		return tests, true
	}
	for p := path; p != ""; {
		if tests, ok := coverage[p+".*"]; ok {
			return tests, true
		}
		i := strings.LastIndexByte(p, '.')
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return nil, false
}

// testSources reads the *_test.go files of dir (relative to the
// repository root), once per dir.
func testSources(t *testing.T, cache map[string]string, dir string) string {
	if src, ok := cache[dir]; ok {
		return src
	}
	files, err := filepath.Glob(filepath.Join("..", dir, "*_test.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no test files in %s", dir)
	}
	var b strings.Builder
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(data)
	}
	cache[dir] = b.String()
	return cache[dir]
}

func TestSpecCoverage(t *testing.T) {
	var fields []string
	specFields(reflect.TypeOf(specs.Spec{}), "", &fields, map[reflect.Type]bool{})
	if len(fields) < 300 {
		t.Fatalf("only %d spec fields found: the walk is broken", len(fields))
	}
	used := map[string]bool{}
	for _, f := range fields {
		tests, ok := coveredBy(f)
		if !ok {
			t.Errorf("spec field %s: no effect or refusal test listed in coverage (implement it, or refuse it in Validate naming it, and list the test)", f)
			continue
		}
		if len(tests) == 0 {
			t.Errorf("spec field %s: empty test list", f)
		}
		for k := range coverage {
			if k == f || k == f+".*" {
				used[k] = true
			}
		}
	}
	for _, k := range slices.Sorted(maps.Keys(coverage)) {
		if !used[k] {
			t.Errorf("coverage[%q]: no such spec field", k)
		}
	}
	cache := map[string]string{}
	for _, k := range slices.Sorted(maps.Keys(coverage)) {
		for _, ref := range coverage[k] {
			// "dir.TestName/case": dir may hold slashes, the test starts at ".Test".
			i := strings.Index(ref, ".Test")
			if i < 0 {
				t.Errorf("coverage[%q]: %q is not dir.TestName", k, ref)
				continue
			}
			dir := ref[:i]
			name, subcase, _ := strings.Cut(ref[i+1:], "/")
			src := testSources(t, cache, dir)
			if !regexp.MustCompile(`(?m)^func ` + name + `\(t \*testing\.T\)`).MatchString(src) {
				t.Errorf("coverage[%q]: no test %s in %s", k, name, dir)
				continue
			}
			if subcase != "" && !strings.Contains(src, `"`+subcase+`"`) {
				t.Errorf("coverage[%q]: no case %q of %s in %s", k, subcase, name, dir)
			}
		}
	}
}
