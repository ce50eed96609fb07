package libcontainer

import (
	"errors"
	"os"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestCheckUserNSProcfs: a container with a user namespace is refused, with
// the field and the fix named, where that user namespace may not make a
// procfs of the container's pid namespace: a new one with a joined pid
// namespace or with berth's own, a joined one that does not own the pid
// namespace; a new pid namespace, or none of a user namespace, is always
// fine, and what cannot be looked at is left to the stub to report.
func TestCheckUserNSProcfs(t *testing.T) {
	user := func(path string) specs.LinuxNamespace {
		return specs.LinuxNamespace{Type: specs.UserNamespace, Path: path}
	}
	pid := func(path string) specs.LinuxNamespace {
		return specs.LinuxNamespace{Type: specs.PIDNamespace, Path: path}
	}
	mnt := specs.LinuxNamespace{Type: specs.MountNamespace}
	owns := func(userPath, pidPath string) (bool, error) {
		switch {
		case strings.HasPrefix(pidPath, "/bad"):
			return false, errors.New("no such file")
		case userPath == "/u1":
			return pidPath == "/p1", nil
		}
		return false, nil
	}
	for _, tc := range []struct {
		ns   []specs.LinuxNamespace
		want []string // in the error; nil: accepted
	}{
		{[]specs.LinuxNamespace{mnt}, nil},
		{[]specs.LinuxNamespace{mnt, pid("/p2")}, nil},
		{[]specs.LinuxNamespace{user(""), pid(""), mnt}, nil},
		{[]specs.LinuxNamespace{user("/u1"), pid(""), mnt}, nil},
		{[]specs.LinuxNamespace{user("/u1"), pid("/p1"), mnt}, nil},
		{[]specs.LinuxNamespace{user("/u1"), pid("/bad"), mnt}, nil},
		{[]specs.LinuxNamespace{user(""), mnt, pid("/p1")}, []string{`linux.namespaces[2].path "/p1"`, "new user namespace", "join the user namespace that owns it"}},
		{[]specs.LinuxNamespace{user(""), mnt}, []string{"linux.namespaces: ", "new user namespace", `add a new "pid" namespace`}},
		{[]specs.LinuxNamespace{user("/u1"), pid("/p2")}, []string{`linux.namespaces[1].path "/p2"`, `joined user namespace "/u1"`, "join a pid namespace of that user namespace"}},
		{[]specs.LinuxNamespace{mnt, user("/u2")}, []string{"linux.namespaces: ", `joined user namespace "/u2"`, "berth's"}},
	} {
		err := checkUserNSProcfs(&specs.Linux{Namespaces: tc.ns}, owns)
		if tc.want == nil {
			if err != nil {
				t.Errorf("%+v: %v", tc.ns, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%+v: accepted", tc.ns)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%+v: %q lacks %q", tc.ns, err, w)
			}
		}
	}
}

// TestUserNSOwnsPidNS: berth's own user namespace owns its pid namespace.
func TestUserNSOwnsPidNS(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root")
	}
	ok, err := userNSOwnsPidNS("/proc/self/ns/user", "/proc/self/ns/pid")
	if err != nil || !ok {
		t.Errorf("own user namespace owns own pid namespace: %v, %v", ok, err)
	}
	if _, err := userNSOwnsPidNS("/proc/self/ns/user", "/nonexistent"); err == nil {
		t.Error("a missing pid namespace path gave no error")
	}
}
