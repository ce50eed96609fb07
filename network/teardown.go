package network

import (
	"errors"
	"fmt"
	"os"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Teardown undoes Setup: it deletes the host veth (its peer in the
// container dies with it), frees the container's address and removes the
// bridge when berth created it and no port is left. Everything already gone
// is fine, so it may run again, or after a Setup that never finished
// (given Planned's Result), or after the container's netns vanished.
func Teardown(stateRoot string, r *Result) error {
	if r == nil {
		return nil
	}
	hostName := r.HostVeth
	if hostName == "" {
		hostName, _ = vethNames(stateRoot, r.ID)
	}
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("network: netlink socket in host netns: %w", err)
	}
	defer h.Close()
	if r.Bridge == "" {
		return deleteHostVeth(h, hostName)
	}
	lk, err := lockBridge(stateRoot, r.Bridge)
	if err != nil {
		return err
	}
	defer lk.unlock()
	errs := []error{deleteHostVeth(h, hostName)}
	if r.ID != "" {
		errs = append(errs, lk.release(r.ID))
	}
	errs = append(errs, removeBridgeIfOwnedAndEmpty(h, lk))
	return errors.Join(errs...)
}

func deleteHostVeth(h *netlink.Handle, name string) error {
	l, err := h.LinkByName(name)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("network: find host veth %s: %w", name, err)
	}
	if l.Type() != "veth" {
		return fmt.Errorf("network: host interface %s is a %s, not berth's veth: left alone", name, l.Type())
	}
	if err := h.LinkDel(l); err != nil && !isNotFound(err) {
		return fmt.Errorf("network: delete host veth %s: %w", name, err)
	}
	return nil
}

// removeBridgeIfOwnedAndEmpty deletes the bridge when berth's record says it
// created it and nothing is attached any more. The caller holds the lock.
func removeBridgeIfOwnedAndEmpty(h *netlink.Handle, lk *bridgeLock) error {
	if _, err := os.Stat(lk.markerPath()); err != nil {
		return nil
	}
	br, err := h.LinkByName(lk.bridge)
	if isNotFound(err) {
		return lk.unmarkBridge()
	}
	if err != nil {
		return fmt.Errorf("network: find bridge %s: %w", lk.bridge, err)
	}
	if br.Type() != "bridge" || !lk.ownsBridge(br) {
		// Someone replaced it; berth's record is stale.
		return lk.unmarkBridge()
	}
	links, err := h.LinkList()
	if err != nil {
		return fmt.Errorf("network: list interfaces: %w", err)
	}
	for _, l := range links {
		if l.Attrs().MasterIndex == br.Attrs().Index {
			return nil
		}
	}
	if err := h.LinkDel(br); err != nil && !isNotFound(err) {
		return fmt.Errorf("network: delete bridge %s: %w", lk.bridge, err)
	}
	return lk.unmarkBridge()
}
