package nsenter

// #include <stdlib.h>
// #include "bootstrap.h"
import "C"

import (
	"errors"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The record types and limits must agree with bootstrap.h: a negative
// constant converted to uint does not compile, so each pair must be equal.
const (
	_ = uint(BootstrapCloneFlags-C.BT_CLONE_FLAGS) + uint(C.BT_CLONE_FLAGS-BootstrapCloneFlags)
	_ = uint(BootstrapNsPaths-C.BT_NS_PATHS) + uint(C.BT_NS_PATHS-BootstrapNsPaths)
	_ = uint(BootstrapTimens-C.BT_TIMENS) + uint(C.BT_TIMENS-BootstrapTimens)
)

// MaxBootstrap is the largest bootstrap body the stub accepts.
const MaxBootstrap = C.MAX_BOOTSTRAP

// Bootstrap is what the stub reads from a bootstrap message.
type Bootstrap struct {
	CloneFlags uint32   // namespaces to create
	Join       []string // "type:path", in message order
	Timens     []byte   // text for /proc/self/timens_offsets
}

// ParseBootstrap runs the stub's own C parser (berth_parse_bootstrap) on
// body, the bytes after the message's length word. It is for tests: the
// parser gets a copy that ends right before an inaccessible page, so reading
// one byte past the message faults instead of passing unnoticed.
func ParseBootstrap(body []byte) (*Bootstrap, error) {
	if len(body) > MaxBootstrap+1 {
		body = body[:MaxBootstrap+1] // enough to be rejected as too large
	}
	page := unix.Getpagesize()
	size := (len(body) + page - 1) / page * page
	mem, err := unix.Mmap(-1, 0, size+page, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return nil, err
	}
	defer unix.Munmap(mem)
	if err := unix.Mprotect(mem[size:], unix.PROT_NONE); err != nil {
		return nil, err
	}
	buf := mem[size-len(body) : size]
	copy(buf, body)

	var out C.struct_bootstrap
	var msg [256]C.char
	// mem is not Go memory, so the parser may leave pointers into it in out.
	p := (*C.char)(unsafe.Pointer(unsafe.SliceData(mem[size-len(body):])))
	if C.berth_parse_bootstrap(p, C.uint32_t(len(body)), &out, &msg[0], C.size_t(len(msg))) != 0 {
		return nil, errors.New(C.GoString(&msg[0]))
	}
	b := &Bootstrap{CloneFlags: uint32(out.clone_flags)}
	for i := 0; i < int(out.nr_join); i++ {
		j := out.join[i]
		b.Join = append(b.Join, C.GoString(j._type)+":"+C.GoString(j.path))
	}
	if out.timens != nil {
		b.Timens = C.GoBytes(unsafe.Pointer(out.timens), C.int(out.timens_len))
	}
	return b, nil
}
