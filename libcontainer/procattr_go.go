package libcontainer

import (
	"fmt"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"berth/libcontainer/procattr"
)

// goPathProcAttrs refuses, naming the field, the process attributes the
// Go init and exec do not make (only the C executor does, nsenter/cproc.c):
// where the Go path runs (a joined mount namespace, BERTH_INIT_GO=1,
// BERTH_EXEC_GO=1) they would otherwise be dropped without a word.
func goPathProcAttrs(l *specs.Linux, proc *specs.Process, why string) error {
	attrs, err := procattr.Compile(l, proc)
	if err != nil || len(attrs) == 0 {
		return err
	}
	field, _, _ := strings.Cut(attrs[0].Msg, " ")
	return fmt.Errorf("%s: made by the C executor only, and the Go one runs (%s)", field, why)
}
