// Package nsenter links berth's C namespace stub into the binary. Importing it
// (for side effects) installs a constructor that, when the process was started
// by berth as a container init or exec helper (environment _BERTH_INIT_FD set),
// joins and creates the container's namespaces before the Go runtime starts.
// The protocol is written at the top of nsenter.c; the Go half of it lives in
// berth/libcontainer (bootstrap.go).
package nsenter

// #cgo CFLAGS: -Wall -O2
import "C"

// Bootstrap record types (parent -> stub).
const (
	BootstrapCloneFlags = 1
	BootstrapNsPaths    = 2
	BootstrapTimens     = 3
	BootstrapExec       = 4 // the process, for exec finished in C (cexec.c)
)

// Sync tags (stub <-> parent).
const (
	SyncUsermap    = 0x40
	SyncUsermapAck = 0x41
	SyncPid        = 0x42
	SyncErr        = 0x43
)

// EnvInitFD names the inherited socket the stub talks over.
const EnvInitFD = "_BERTH_INIT_FD"
