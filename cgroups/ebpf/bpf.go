package ebpf

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The bpf(2) attribute layouts berth uses, each a prefix of union
// bpf_attr; the kernel treats a shorter attr as zero-filled.
type progLoadAttr struct {
	progType           uint32
	insnCnt            uint32
	insns              uint64
	license            uint64
	logLevel           uint32
	logSize            uint32
	logBuf             uint64
	kernVersion        uint32
	progFlags          uint32
	progName           [16]byte
	progIfindex        uint32
	expectedAttachType uint32
}

type attachAttr struct {
	targetFD     uint32
	attachBpfFD  uint32
	attachType   uint32
	attachFlags  uint32
	replaceBpfFD uint32
}

type queryAttr struct {
	targetFD    uint32
	attachType  uint32
	queryFlags  uint32
	attachFlags uint32
	progIDs     uint64
	progCnt     uint32
	_           uint32
}

type getFDByIDAttr struct {
	id        uint32
	nextID    uint32
	openFlags uint32
}

func bpf(cmd int, attr unsafe.Pointer, size uintptr) (int, error) {
	for {
		r, _, errno := unix.Syscall(unix.SYS_BPF, uintptr(cmd), uintptr(attr), size)
		if errno == unix.EINTR || errno == unix.EAGAIN && cmd == unix.BPF_PROG_LOAD {
			continue
		}
		if errno != 0 {
			return -1, errno
		}
		return int(r), nil
	}
}

var license = []byte("Apache-2.0\x00")

// LoadDeviceProgram loads prog as a BPF_PROG_TYPE_CGROUP_DEVICE program
// and returns its fd (close-on-exec). A verifier rejection carries the
// verifier's log.
func LoadDeviceProgram(prog []Insn) (int, error) {
	if len(prog) == 0 {
		return -1, errors.New("bpf(BPF_PROG_LOAD): empty program")
	}
	// The kernel gets addresses as integers, which the Go runtime does not
	// track: keep everything it reads on the heap, where nothing moves.
	prog = onHeap(prog)
	attr := progLoadAttr{
		progType: unix.BPF_PROG_TYPE_CGROUP_DEVICE,
		insnCnt:  uint32(len(prog)),
		insns:    uint64(uintptr(unsafe.Pointer(&prog[0]))),
		license:  uint64(uintptr(unsafe.Pointer(&license[0]))),
	}
	copy(attr.progName[:], "berth_devices")
	fd, err := bpf(unix.BPF_PROG_LOAD, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	if err == unix.EPERM {
		// Kernels before 5.11 charge programs to RLIMIT_MEMLOCK. Lift it
		// for this load only: the container inherits berth's limits.
		fd, err = loadUnlimitedMemlock(&attr)
	}
	if err == nil {
		runtime.KeepAlive(prog)
		return fd, nil
	}
	if err == unix.EINVAL || err == unix.EACCES {
		// Load again with the verifier's log to say why.
		log := onHeap(make([]byte, 64<<10))
		attr.logLevel, attr.logSize = 1, uint32(len(log))
		attr.logBuf = uint64(uintptr(unsafe.Pointer(&log[0])))
		if fd2, err2 := bpf(unix.BPF_PROG_LOAD, unsafe.Pointer(&attr), unsafe.Sizeof(attr)); err2 == nil {
			unix.Close(fd2)
		}
		runtime.KeepAlive(log)
		runtime.KeepAlive(prog)
		msg := strings.TrimSpace(string(log[:clen(log)]))
		return -1, fmt.Errorf("bpf(BPF_PROG_LOAD) of the device filter (%d instructions): %w\nverifier: %s", len(prog), err, msg)
	}
	runtime.KeepAlive(prog)
	return -1, fmt.Errorf("bpf(BPF_PROG_LOAD) of the device filter: %w", err)
}

func loadUnlimitedMemlock(attr *progLoadAttr) (int, error) {
	var old unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_MEMLOCK, &old); err != nil {
		return -1, unix.EPERM
	}
	inf := unix.Rlimit{Cur: unix.RLIM_INFINITY, Max: unix.RLIM_INFINITY}
	if err := unix.Setrlimit(unix.RLIMIT_MEMLOCK, &inf); err != nil {
		return -1, unix.EPERM
	}
	defer unix.Setrlimit(unix.RLIMIT_MEMLOCK, &old)
	return bpf(unix.BPF_PROG_LOAD, unsafe.Pointer(attr), unsafe.Sizeof(*attr))
}

// onHeap returns a heap copy of s.
//
//go:noinline
func onHeap[T any](s []T) []T { return append([]T(nil), s...) }

func clen(b []byte) int {
	for i, c := range b {
		if c == 0 {
			return i
		}
	}
	return len(b)
}

// Attached returns the ids of the device programs attached directly to the
// cgroup dirFD and the flags they were attached with.
func Attached(dirFD int) (ids []uint32, flags uint32, err error) {
	ids = onHeap(make([]uint32, 64))
	for {
		attr := queryAttr{
			targetFD:   uint32(dirFD),
			attachType: unix.BPF_CGROUP_DEVICE,
			progIDs:    uint64(uintptr(unsafe.Pointer(&ids[0]))),
			progCnt:    uint32(len(ids)),
		}
		_, err := bpf(unix.BPF_PROG_QUERY, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
		runtime.KeepAlive(ids)
		if err == unix.ENOSPC && int(attr.progCnt) > len(ids) {
			ids = onHeap(make([]uint32, attr.progCnt))
			continue
		}
		if err != nil {
			return nil, 0, fmt.Errorf("bpf(BPF_PROG_QUERY, BPF_CGROUP_DEVICE): %w", err)
		}
		return ids[:attr.progCnt], attr.attachFlags, nil
	}
}

// ReplaceDeviceFilter makes prog the only device program attached to the
// cgroup dirFD (an O_RDONLY directory fd): it attaches the new program
// with BPF_F_ALLOW_MULTI first and then detaches the old ones, so the
// cgroup is never without a filter (while both are attached, an access
// must pass both). A nil prog detaches every program (allow all).
func ReplaceDeviceFilter(dirFD int, prog []Insn) error {
	old, oldFlags, err := Attached(dirFD)
	if err != nil {
		return err
	}
	if prog != nil {
		progFD, err := LoadDeviceProgram(prog)
		if err != nil {
			return err
		}
		defer unix.Close(progFD)
		flags := uint32(unix.BPF_F_ALLOW_MULTI)
		if len(old) > 0 && oldFlags&unix.BPF_F_ALLOW_MULTI == 0 {
			// Someone attached without ALLOW_MULTI: attaching with the
			// same flags replaces that program in one step.
			flags = oldFlags
			old = nil
		}
		attr := attachAttr{
			targetFD:    uint32(dirFD),
			attachBpfFD: uint32(progFD),
			attachType:  unix.BPF_CGROUP_DEVICE,
			attachFlags: flags,
		}
		if _, err := bpf(unix.BPF_PROG_ATTACH, unsafe.Pointer(&attr), unsafe.Sizeof(attr)); err != nil {
			return fmt.Errorf("bpf(BPF_PROG_ATTACH, BPF_CGROUP_DEVICE, flags %#x): %w", flags, err)
		}
	}
	for _, id := range old {
		if err := detach(dirFD, id); err != nil {
			return err
		}
	}
	return nil
}

func detach(dirFD int, id uint32) error {
	get := getFDByIDAttr{id: id}
	progFD, err := bpf(unix.BPF_PROG_GET_FD_BY_ID, unsafe.Pointer(&get), unsafe.Sizeof(get))
	if err == unix.ENOENT {
		return nil // already gone
	}
	if err != nil {
		return fmt.Errorf("bpf(BPF_PROG_GET_FD_BY_ID, %d): %w", id, err)
	}
	defer unix.Close(progFD)
	attr := attachAttr{targetFD: uint32(dirFD), attachBpfFD: uint32(progFD), attachType: unix.BPF_CGROUP_DEVICE}
	if _, err := bpf(unix.BPF_PROG_DETACH, unsafe.Pointer(&attr), unsafe.Sizeof(attr)); err != nil && err != unix.ENOENT {
		return fmt.Errorf("bpf(BPF_PROG_DETACH, BPF_CGROUP_DEVICE, prog %d): %w", id, err)
	}
	return nil
}

// OpenCgroup opens a cgroup v2 directory the way attach needs it.
func OpenCgroup(dir string) (*os.File, error) {
	return os.OpenFile(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
}
