package libcontainer

import (
	"encoding/json"
	"fmt"
	"io"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// initConfig is what the parent sends the Go half of the init once the stub
// has entered the namespaces.
type initConfig struct {
	ID           string      `json:"id"`
	Bundle       string      `json:"bundle"`
	Rootfs       string      `json:"rootfs"`
	Spec         *specs.Spec `json:"spec"`
	NoPivot      bool        `json:"no_pivot,omitempty"`
	NoNewKeyring bool        `json:"no_new_keyring,omitempty"`
	UserNS       bool        `json:"userns,omitempty"`
	CgroupNS     bool        `json:"cgroupns,omitempty"`
	// OwnCgroups: the init's cgroups as the host names them (rootfs.Config).
	OwnCgroups map[string]string `json:"own_cgroups,omitempty"`
	MountNS    bool              `json:"mountns,omitempty"`
	NetNS      bool              `json:"netns,omitempty"` // a new network namespace
	// Exec marks a process joining a running container (berth exec).
	Exec        bool `json:"exec,omitempty"`
	PreserveFDs int  `json:"preserve_fds"`
	FifoFD      int  `json:"fifo_fd"` // O_PATH fd of the exec fifo, -1 for exec
	ConsoleFD   int  `json:"console_fd"`
	// Pid is the init's pid in the host's view, for the hooks' state.
	Pid int `json:"pid"`
	// EnvlessStartHooks lists the startContainer hooks with no env in the
	// spec: they get the process's environment (envlessHooks). Said apart
	// because an empty env, which stays empty, is dropped from the
	// marshalled spec (omitempty) and would look the same.
	EnvlessStartHooks []int `json:"envless_start_hooks,omitempty"`
	// Trace asks the init to report per-step timings (berth --debug).
	Trace bool `json:"trace,omitempty"`
}

// Message types of the parent <-> init conversation after the bootstrap.
const (
	msgHooks     = "hooks"      // init: run prestart/createRuntime now
	msgHooksDone = "hooks-done" // parent: done, go on
	msgReady     = "ready"      // init: everything is set up; waiting on the exec fifo
	msgError     = "error"      // either side: what failed
	// SCMP_ACT_NOTIFY (seccomp_notify.go): the init passes the listener fd
	// (SCM_RIGHTS); the parent answers once the agent has it.
	msgSeccomp     = "seccomp"
	msgSeccompDone = "seccomp-done"
)

type message struct {
	Type string `json:"type"`
	Msg  string `json:"msg,omitempty"`
	// Trace carries the init's step timings since its previous message.
	Trace []traceStep `json:"trace,omitempty"`
}

type channel struct {
	enc *json.Encoder
	dec *json.Decoder
	rw  io.ReadWriter // for passing a descriptor alongside (seccomp_notify.go)
}

func newChannel(rw io.ReadWriter) *channel {
	return &channel{enc: json.NewEncoder(rw), dec: json.NewDecoder(rw), rw: rw}
}

func (c *channel) send(v any) error { return c.enc.Encode(v) }

func (c *channel) recv(v any) error { return c.dec.Decode(v) }

// expect reads one message and returns an error unless it has the given type.
func (c *channel) expect(typ string) error {
	var m message
	if err := c.recv(&m); err != nil {
		return fmt.Errorf("waiting for %q: %w", typ, err)
	}
	if m.Type == msgError {
		return fmt.Errorf("%s", m.Msg)
	}
	if m.Type != typ {
		return fmt.Errorf("expected %q, got %q", typ, m.Type)
	}
	return nil
}
