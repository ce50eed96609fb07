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

// LSMExec is what the executor does with an exec record's LSM attributes:
// berth_lsm_prepare's opening (and tests), then berth_lsm_apply's writes
// (unless prepare failed). For tests: the writes take effect at this
// thread's next execve.
func LSMExec(attrs []LSMAttr) (prepare, apply error) {
	if len(attrs) > MaxLSM {
		return errors.New("too many attributes"), nil
	}
	var x C.struct_exec_plan
	var cs []*C.char
	defer func() {
		for _, s := range cs {
			C.free(unsafe.Pointer(s))
		}
	}()
	cstr := func(s string) *C.char {
		c := C.CString(s)
		cs = append(cs, c)
		return c
	}
	x.nlsm = C.uint32_t(len(attrs))
	for i, a := range attrs {
		l := &x.lsm[i]
		l.dir, l.value, l.quoted, l.test = cstr(a.Dir), cstr(a.Value), cstr(a.Quoted), cstr(a.Test)
		l.testq, l.missing, l.field = cstr(a.TestQuoted), cstr(a.Missing), cstr(a.Field)
		l.fd = -1
	}
	defer C.berth_lsm_close(&x)
	var msg [1024]C.char
	if C.berth_lsm_prepare(&x, &msg[0], C.size_t(len(msg))) < 0 {
		return errors.New(C.GoString(&msg[0])), nil
	}
	if C.berth_lsm_apply(&x, &msg[0], C.size_t(len(msg))) < 0 {
		return nil, errors.New(C.GoString(&msg[0]))
	}
	return nil, nil
}
