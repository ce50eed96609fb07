package seccomp

import (
	"fmt"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// retValues maps each action to its SECCOMP_RET_* value with empty data.
// SCMP_ACT_KILL is libseccomp's old name for killing the thread.
var retValues = map[specs.LinuxSeccompAction]uint32{
	specs.ActKill:        unix.SECCOMP_RET_KILL_THREAD,
	specs.ActKillThread:  unix.SECCOMP_RET_KILL_THREAD,
	specs.ActKillProcess: unix.SECCOMP_RET_KILL_PROCESS,
	specs.ActTrap:        unix.SECCOMP_RET_TRAP,
	specs.ActErrno:       unix.SECCOMP_RET_ERRNO,
	specs.ActTrace:       unix.SECCOMP_RET_TRACE,
	specs.ActAllow:       unix.SECCOMP_RET_ALLOW,
	specs.ActLog:         unix.SECCOMP_RET_LOG,
	specs.ActNotify:      unix.SECCOMP_RET_USER_NOTIF,
}

// retValue turns an action and its optional errnoRet into the filter's
// return value. ERRNO and TRACE carry 16 bits of data, EPERM when unset;
// every other action refuses an errnoRet, as the runtime-spec requires.
func retValue(act specs.LinuxSeccompAction, errnoRet *uint) (uint32, error) {
	ret, ok := retValues[act]
	if !ok {
		return 0, fmt.Errorf("unknown action %q", act)
	}
	switch act {
	case specs.ActErrno, specs.ActTrace:
		data := uint(unix.EPERM)
		if errnoRet != nil {
			data = *errnoRet
		}
		if data > unix.SECCOMP_RET_DATA {
			return 0, fmt.Errorf("errno %d for %s does not fit in 16 bits", data, act)
		}
		return ret | uint32(data), nil
	default:
		if errnoRet != nil {
			return 0, fmt.Errorf("errnoRet %d is set but %s takes no errno", *errnoRet, act)
		}
		return ret, nil
	}
}

// Comparison operators, numbered for the code generator.
type cmpOp uint8

const (
	opNE cmpOp = iota
	opLT
	opLE
	opEQ
	opGE
	opGT
	opMaskedEQ
)

var ops = map[specs.LinuxSeccompOperator]cmpOp{
	specs.OpNotEqual:     opNE,
	specs.OpLessThan:     opLT,
	specs.OpLessEqual:    opLE,
	specs.OpEqualTo:      opEQ,
	specs.OpGreaterEqual: opGE,
	specs.OpGreaterThan:  opGT,
	specs.OpMaskedEqual:  opMaskedEQ,
}

// The runtime-spec defines SECCOMP_FILTER_FLAG_TSYNC as a string but not as
// a specs-go constant.
const flagTsync specs.LinuxSeccompFlag = "SECCOMP_FILTER_FLAG_TSYNC"

var flagBits = map[specs.LinuxSeccompFlag]uintptr{
	flagTsync:                              unix.SECCOMP_FILTER_FLAG_TSYNC,
	specs.LinuxSeccompFlagLog:              unix.SECCOMP_FILTER_FLAG_LOG,
	specs.LinuxSeccompFlagSpecAllow:        unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW,
	specs.LinuxSeccompFlagWaitKillableRecv: unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
}

// KnownActions, KnownOperators, KnownArchitectures and KnownFlags list the
// names this package understands, sorted, for `berth features`.
func KnownActions() []string   { return sortedKeys(retValues) }
func KnownOperators() []string { return sortedKeys(ops) }
func KnownFlags() []string     { return sortedKeys(flagBits) }
func KnownArchitectures() []string {
	s := make([]string, len(knownArchs))
	for i, a := range knownArchs {
		s[i] = string(a)
	}
	slices.Sort(s)
	return s
}

func sortedKeys[K ~string, V any](m map[K]V) []string {
	s := make([]string, 0, len(m))
	for k := range m {
		s = append(s, string(k))
	}
	slices.Sort(s)
	return s
}
