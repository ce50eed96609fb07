package libcontainer

import (
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestGoPathProcAttrs(t *testing.T) {
	if err := goPathProcAttrs(&specs.Linux{}, &specs.Process{}, "x"); err != nil {
		t.Errorf("nothing asked: %v", err)
	}
	err := goPathProcAttrs(nil, &specs.Process{IOPriority: &specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_BE}}, "BERTH_EXEC_GO=1")
	if want := "process.ioPriority: made by the C executor only, and the Go one runs (BERTH_EXEC_GO=1)"; err == nil || err.Error() != want {
		t.Errorf("error %v, want %q", err, want)
	}
}
