// Package nstest runs a test's scenarios in a copy of the test binary with
// its own mount and UTS namespaces, on one locked thread, so that what they
// mount or name never reaches the host. It is for tests only.
package nstest

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"
)

const okLine = "NSTEST-CHILD-OK"

// Main is a package's TestMain: in the child (env names a scenario) it runs
// that scenario and exits; otherwise it runs the tests.
func Main(m *testing.M, env string, scenarios map[string]func() error) {
	if name := os.Getenv(env); name != "" {
		runtime.LockOSThread()
		fn := scenarios[name]
		if fn == nil {
			fmt.Fprintln(os.Stderr, "FAIL: unknown scenario", name)
			os.Exit(2)
		}
		if err := fn(); err != nil {
			fmt.Fprintln(os.Stderr, "FAIL:", err)
			os.Exit(1)
		}
		fmt.Println(okLine)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// Run runs scenario name in the child and fails t unless it succeeded.
func Run(t *testing.T, env, name string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mount namespaces need root")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), env+"="+name)
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNS | syscall.CLONE_NEWUTS}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), okLine) {
		t.Fatalf("scenario %s: %v\n%s", name, err, out)
	}
}
