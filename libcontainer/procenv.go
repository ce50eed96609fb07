package libcontainer

import (
	"fmt"
	"log/slog"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"berth/libcontainer/caps"
)

// normalizeProcess is the parent's one pass over the process before either
// executor takes it (the exec record): extra
// variables appended to process.env (socket activation's LISTEN_FDS), the
// environment normalised (normalizeEnv), and the capability warnings
// logged. The warnings go to berth's log here, in
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
	p.Env = normalizeEnv(append(proc.Env[:len(proc.Env):len(proc.Env)], extraEnv...))
	return &p, nil
}

// normalizeEnv gives each variable once: where it first appears, with the
// value it is given last. runc's init leaves the same (it sets the
// variables one by one in its own environment and passes that on). An
// empty "HOME=" stays where it is: the executors fill it in from the
// container's /etc/passwd as if HOME were unset, as runc's init does.
func normalizeEnv(env []string) []string {
	out := make([]string, 0, len(env))
	at := make(map[string]int, len(env))
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if i, ok := at[name]; ok {
			out[i] = kv
			continue
		}
		at[name] = len(out)
		out = append(out, kv)
	}
	return out
}
