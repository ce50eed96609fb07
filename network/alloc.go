package network

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// One directory per bridge under <stateRoot>/.network/<bridge>/ holds what
// must outlive a berth process:
//
//	lock          flock(2)ed for every change to the bridge or its addresses
//	addrs/<ip>    one file per address in use, holding the container id
//	last          the address handed out last; the next search starts after
//	              it so a freed address is not reused at once (stale ARP)
//	created       present while berth owns the bridge (it created it); holds
//	              the bridge's ifindex
//
// The lock also serialises bridge creation against its removal, so a
// Teardown never deletes a bridge a concurrent Setup is attaching to.
const netDirName = ".network"

type bridgeLock struct {
	dir    string
	bridge string
	f      *os.File
}

func lockBridge(stateRoot, bridge string) (*bridgeLock, error) {
	dir := filepath.Join(stateRoot, netDirName, bridge)
	if err := os.MkdirAll(filepath.Join(dir, "addrs"), 0o700); err != nil {
		return nil, fmt.Errorf("network: bridge %s state: %w", bridge, err)
	}
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("network: bridge %s state: %w", bridge, err)
	}
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("network: flock %s: %w", f.Name(), err)
	}
	return &bridgeLock{dir: dir, bridge: bridge, f: f}, nil
}

// unlock drops the flock with the file descriptor.
func (l *bridgeLock) unlock() { l.f.Close() }

func (l *bridgeLock) addrPath(ip net.IP) string {
	return filepath.Join(l.dir, "addrs", ip.String())
}

// owner is the container holding ip, "" when it is free.
func (l *bridgeLock) owner(ip net.IP) (string, error) {
	b, err := os.ReadFile(l.addrPath(ip))
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("network: read allocation: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// record writes through a temporary file so a crash never leaves an
// allocation without its owner's id.
func (l *bridgeLock) record(ip net.IP, id string) error {
	tmp := l.addrPath(ip) + ".tmp"
	if err := os.WriteFile(tmp, []byte(id+"\n"), 0o600); err != nil {
		return fmt.Errorf("network: record address %s: %w", ip, err)
	}
	if err := os.Rename(tmp, l.addrPath(ip)); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("network: record address %s: %w", ip, err)
	}
	return nil
}

// reserve takes the address the container asked for. Asking again for the
// same container succeeds, so a retried create is not refused.
func (l *bridgeLock) reserve(id string, ip net.IP) error {
	who, err := l.owner(ip)
	if err != nil {
		return err
	}
	if who != "" && who != id {
		return fmt.Errorf("network: annotation %s %s: address in use by container %q on bridge %s", AnnotationAddress, ip, who, l.bridge)
	}
	return l.record(ip, id)
}

// allocate hands out the first free host address of subnet after the last
// one handed out, skipping skip (the bridge's own addresses).
func (l *bridgeLock) allocate(id string, subnet *net.IPNet, skip []net.IP) (net.IP, error) {
	n := hostCount(subnet)
	if n == 0 {
		return nil, fmt.Errorf("network: subnet %s has no room for container addresses", subnet)
	}
	used := map[uint32]bool{}
	for _, ip := range skip {
		if ip4 := ip.To4(); ip4 != nil {
			used[ip4u(ip4)] = true
		}
	}
	entries, err := os.ReadDir(filepath.Join(l.dir, "addrs"))
	if err != nil {
		return nil, fmt.Errorf("network: list allocations: %w", err)
	}
	for _, e := range entries {
		if ip := net.ParseIP(e.Name()); ip != nil && ip.To4() != nil {
			used[ip4u(ip)] = true
		}
	}
	first := ip4u(subnet.IP) + 1
	start := uint32(0) // offset from first
	if b, err := os.ReadFile(filepath.Join(l.dir, "last")); err == nil {
		if last := net.ParseIP(strings.TrimSpace(string(b))); last != nil && last.To4() != nil && subnet.Contains(last) {
			start = (ip4u(last) - first + 1) % n
		}
	}
	for i := uint32(0); i < n; i++ {
		cand := first + (start+i)%n
		if used[cand] {
			continue
		}
		ip := u4ip(cand)
		if err := l.record(ip, id); err != nil {
			return nil, err
		}
		// Only a hint: losing it costs an earlier reuse, not a duplicate.
		os.WriteFile(filepath.Join(l.dir, "last"), []byte(ip.String()+"\n"), 0o600)
		return ip, nil
	}
	return nil, fmt.Errorf("network: no free address left in subnet %s of bridge %s", subnet, l.bridge)
}

// releaseIP frees ip if id holds it.
func (l *bridgeLock) releaseIP(id string, ip net.IP) error {
	who, err := l.owner(ip)
	if err != nil || who != id {
		return err
	}
	if err := os.Remove(l.addrPath(ip)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("network: free address %s: %w", ip, err)
	}
	return nil
}

// release frees every address id holds: after a crash the caller may not
// know which one Setup had taken.
func (l *bridgeLock) release(id string) error {
	entries, err := os.ReadDir(filepath.Join(l.dir, "addrs"))
	if err != nil {
		return fmt.Errorf("network: list allocations: %w", err)
	}
	var errs []error
	for _, e := range entries {
		ip := net.ParseIP(e.Name())
		if ip == nil {
			if strings.HasSuffix(e.Name(), ".tmp") {
				os.Remove(filepath.Join(l.dir, "addrs", e.Name()))
			}
			continue
		}
		errs = append(errs, l.releaseIP(id, ip))
	}
	return errors.Join(errs...)
}

func (l *bridgeLock) markerPath() string { return filepath.Join(l.dir, "created") }

// ownsBridge tells whether berth created the bridge br. The record holds
// the bridge's ifindex, so a bridge someone else made under the same name
// after berth's was gone is not taken for berth's; an empty record is one
// written just before creating the bridge, by a berth that may have died.
func (l *bridgeLock) ownsBridge(br netlink.Link) bool {
	b, err := os.ReadFile(l.markerPath())
	if err != nil {
		return false
	}
	s := strings.TrimSpace(string(b))
	return s == "" || s == strconv.Itoa(br.Attrs().Index)
}

// markBridge records that berth creates (index 0) or created the bridge.
func (l *bridgeLock) markBridge(index int) error {
	s := ""
	if index > 0 {
		s = strconv.Itoa(index) + "\n"
	}
	if err := os.WriteFile(l.markerPath(), []byte(s), 0o600); err != nil {
		return fmt.Errorf("network: bridge %s state: %w", l.bridge, err)
	}
	return nil
}

func (l *bridgeLock) unmarkBridge() error {
	if err := os.Remove(l.markerPath()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("network: bridge %s state: %w", l.bridge, err)
	}
	return nil
}
