package libcontainer

import (
	"fmt"
	"log/slog"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"berth/libcontainer/caps"
)

// normalizeProcess is the parent's one pass over the process before either
// executor takes it (the C exec record, the Go init's config): extra
// variables appended to process.env (socket activation's LISTEN_FDS), and
// the capability warnings logged. The warnings go to berth's log here, in
// the parent: an executor's stderr is the container's, and a runtime
// message never belongs in its terminal. proc itself is not changed.
func normalizeProcess(proc *specs.Process, extraEnv []string) (*specs.Process, error) {
	_, warnings, err := caps.FromSpec(proc.Capabilities)
	if err != nil {
		return nil, fmt.Errorf("process.capabilities: %w", err)
	}
	for _, w := range warnings {
		slog.Warn(w)
	}
	p := *proc
	p.Env = append(proc.Env[:len(proc.Env):len(proc.Env)], extraEnv...)
	return &p, nil
}
