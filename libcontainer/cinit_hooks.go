package libcontainer

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"berth/nsenter"
	"berth/rootfs"
)

// The createContainer and startContainer hooks the init runs
// (nsenter/chook.c), compiled here the way the parent runs its own hooks
// with libcontainer/hooks: the same arguments, environment, timeout, state
// on stdin and error texts.

// hookOps compiles the hooks of kind into ops of code (nsenter.OpHook, or
// OpStartHook for the hooks after the exec fifo). dir is the working
// directory ("" keeps the init's); prefix goes in front of every error
// ("rootfs: " for the hooks of the rootfs steps). The state each hook reads is filled in by
// setHookStates once the init's pid is known.
func hookOps(kind string, code uint32, hs []specs.Hook, dir, prefix string) []rootfs.PlanOp {
	var ops []rootfs.PlanOp
	for i, h := range hs {
		op := rootfs.PlanOp{Code: code}
		op.S[0] = h.Path
		op.S[1] = dir
		if dir != "" {
			op.S[2] = prefix + fmt.Sprintf("chdir %q for the %s hooks", dir, kind)
		}
		op.S[4] = prefix + fmt.Sprintf("%s hook [%d] %q", kind, i, h.Path)
		if h.Timeout != nil {
			// Spec validation refused a timeout that is not positive.
			op.N[0] = uint64(*h.Timeout)
			op.S[5] = fmt.Sprintf("timed out after %s", time.Duration(*h.Timeout)*time.Second)
		}
		args := h.Args
		if len(args) == 0 {
			args = []string{h.Path}
		}
		env := execEnv(h.Env)
		if code == nsenter.OpStartHook && h.Env == nil {
			// The process's environment, HOME filled in as the init
			// fills it for the process: runc runs these hooks from its
			// init just before the exec, and a hook with no env (an
			// empty one stays empty) inherits the init's environment,
			// which is by then the process's.
			op.N[2] |= nsenter.BitProcEnv
			env = nil
		}
		op.V = [][]string{args, env}
		ops = append(ops, op)
	}
	return ops
}

// execEnv is the environment os/exec gives a command from env: each
// variable once, with its last value, where it last appears (the hooks
// package runs the parent's hooks through os/exec, and the init's run alike).
func execEnv(env []string) []string {
	seen := make(map[string]bool, len(env))
	out := make([]string, 0, len(env))
	for i := len(env) - 1; i >= 0; i-- {
		kv := env[i]
		name, _, ok := strings.Cut(kv, "=")
		if !ok {
			if kv != "" {
				out = append(out, kv)
			}
			continue
		}
		if seen[name] {
			continue
		}
		seen[name] = true
		out = append(out, kv)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// hasHookOps says whether ops run hooks (and so need setHookStates).
func hasHookOps(ops []rootfs.PlanOp) bool {
	for _, op := range ops {
		if op.Code == nsenter.OpHook || op.Code == nsenter.OpStartHook {
			return true
		}
	}
	return false
}

// setHookStates gives every hook op its state JSON: "creating" for the
// createContainer hooks, "created" for the startContainer ones, with the
// init's pid as the host sees it.
func setHookStates(ops []rootfs.PlanOp, o *CreateOpts, spec *specs.Spec, pid int) error {
	for i := range ops {
		status := specs.StateCreating
		switch ops[i].Code {
		case nsenter.OpHook:
		case nsenter.OpStartHook:
			status = specs.StateCreated
		default:
			continue
		}
		st := &specs.State{Version: specs.Version, ID: o.ID, Status: status, Pid: pid, Bundle: o.Bundle, Annotations: spec.Annotations}
		b, err := json.Marshal(st)
		if err != nil {
			return fmt.Errorf("hooks: marshal state: %w", err)
		}
		ops[i].S[3] = string(b)
	}
	return nil
}
