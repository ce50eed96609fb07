package nsenter

// #include <stdlib.h>
// #include <unistd.h>
// #include "bootstrap.h"
import "C"

import (
	"errors"
	"unsafe"
)

// The executor's procfs writes (procfs.c), callable from tests: they run
// in the calling process, on the calling thread (lock it).

// SysctlWrite is what the C init's OP_SYSCTL does for one linux.sysctl:
// value (quoted as messages show it) written to rel below a procfs it
// opens for the purpose. For tests.
func SysctlWrite(rel, value, quoted string) error {
	cs := []*C.char{C.CString(rel), C.CString(value), C.CString(quoted)}
	defer func() {
		for _, s := range cs {
			C.free(unsafe.Pointer(s))
		}
	}()
	var msg [1024]C.char
	proc := C.int(-1)
	rc := C.berth_sysctl_write(&proc, cs[0], cs[1], cs[2], &msg[0], C.size_t(len(msg)))
	if proc >= 0 {
		C.close(proc)
	}
	if rc < 0 {
		return errors.New(C.GoString(&msg[0]))
	}
	return nil
}
