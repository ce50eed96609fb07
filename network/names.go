package network

import (
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
)

// vethNames derives the host end's name and the container end's name until
// it is renamed. Both come from the state root and the id, so two berth
// roots may reuse an id, and Teardown finds the host end even when the
// Result was never saved (berth killed in the middle of Setup). 10 hex
// digits (40 bits) keep "bv"+hash inside the kernel's 15 bytes.
func vethNames(stateRoot, id string) (host, peer string) {
	if abs, err := filepath.Abs(stateRoot); err == nil {
		stateRoot = abs
	}
	sum := sha256.Sum256([]byte(filepath.Clean(stateRoot) + "\x00" + id))
	h := hex.EncodeToString(sum[:5])
	return "bv" + h, "bc" + h
}
