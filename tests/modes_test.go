package tests

import (
	"strconv"
	"strings"
	"testing"
)

// The general create/exec scenarios are functions of a runtime, run by
// their root test (newRuntime) and by TestRootlessGeneral (berth as an
// unprivileged user, the bundle made rootless as `berth spec --rootless`
// makes it). r.bundle and r.shBundle give the bundle for either mode.
//
// Root only, and why:
//
//	devices (mknod, device cgroup)      a user namespace cannot make device nodes; rootless binds them (TestRootlessSpec)
//	cgroups, limits, pause, update      no cgroup is delegated on the v1 host (TestRootlessLifecycle refuses them; TestRootlessDelegatedCgroup on v2)
//	network (veth, routes)              needs CAP_NET_ADMIN on the host (TestRootlessRefused)
//	sysctl, oomScoreAdj < 0             host-owned knobs (net.* of a host-owned netns, lowering oom_score_adj)
//	namespaces joined by path           the host's namespaces are not the user's to join
//	idmapped mounts, intelRDT, LSMs     need CAP_SYS_ADMIN / CAP_MAC_ADMIN in the initial namespace
//	runc comparison (TestExitStatus)    runc is run as root
//	host users in the bundle            additionalGids beyond the mapped range, uids outside 0-65536
//
// Shared (root test / rootless table): run exit status, killed by a
// signal, env and cwd, user with umask and additional gids, rlimits,
// capabilities (set, ambient, drop enforced), no_new_privileges, hostname
// and domainname, exec (namespaces, exit status, user/env/cwd/caps,
// --process, -d with a pid file, no_new_privs), all six hook kinds (as the
// user, rootless), bind mounts (ro, rw, file), tmpfs options, a read-only
// root, masked and read-only paths, seccomp (with and without
// no_new_privileges), kill with the default signal and every signal form. TestRootlessLifecycle covers create/start/state/exec/ps/kill/delete
// and the refusal of pause and update without a cgroup in rootless mode.

// bundle is the tests' usual bundle for r: as it is for root, rootless
// for r's user (its own ids and its subordinate range mapped).
func (r *runtime) bundle(t *testing.T, args ...string) *bundle {
	t.Helper()
	if r.user == nil {
		return newBundle(t, args...)
	}
	return rootlessBundle(t, r.user, false, args...)
}

// dir is a test directory the container's root can write: root's for
// root, r's user's in rootless mode.
func (r *runtime) dir(t *testing.T, prefix string) string {
	t.Helper()
	d := testDir(t, prefix)
	if r.user != nil {
		chownTree(t, d, r.user.uid, r.user.gid)
	}
	return d
}

// shBundle is r.bundle for `sh -c script`.
func (r *runtime) shBundle(t *testing.T, script string) *bundle {
	t.Helper()
	return r.bundle(t, "sh", "-c", script)
}

// generalScenarios are the general tests that run in both modes.
var generalScenarios = []struct {
	name string
	run  func(t *testing.T, r *runtime)
}{
	{"RunExitStatus", scenarioRunExitStatus},
	{"RunKilledBySignal", scenarioRunKilledBySignal},
	{"EnvAndCwd", scenarioEnvAndCwd},
	{"User", scenarioUser},
	{"Rlimits", scenarioRlimits},
	{"Capabilities", scenarioCapabilities},
	{"NoNewPrivileges", scenarioNoNewPrivileges},
	{"NamespaceUTS", scenarioNamespaceUTS},
	{"Exec", scenarioExec},
	{"Hooks", scenarioHooks},
	{"MountBind", scenarioMountBind},
	{"MountTmpfsOptions", scenarioMountTmpfsOptions},
	{"RootReadonly", scenarioRootReadonly},
	{"MaskedPaths", scenarioMaskedPaths},
	{"ReadonlyPaths", scenarioReadonlyPaths},
	{"Seccomp", scenarioSeccomp},
	{"KillDefaultTERM", scenarioKillDefaultTERM},
	{"KillSignalForms", scenarioKillSignalForms},
}

// TestRootlessGeneral runs the general scenarios as one unprivileged
// user, each with its own runtime on the user's state root.
func TestRootlessGeneral(t *testing.T) {
	u := newRootlessUser(t)
	t.Run("mode", func(t *testing.T) {
		// The table runs rootless: container root is the user on the host.
		r := u.runtime(t)
		out := r.mustRunContainer(r.shBundle(t, "cat /proc/self/uid_map"))
		if f := strings.Fields(out); len(f) < 3 || f[0] != "0" || f[1] != strconv.Itoa(u.uid) {
			t.Fatalf("uid_map %q, want 0 mapped to %d", out, u.uid)
		}
	})
	for _, sc := range generalScenarios {
		t.Run(sc.name, func(t *testing.T) { sc.run(t, u.runtime(t)) })
	}
}
