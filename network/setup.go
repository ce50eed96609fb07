package network

import (
	"errors"
	"fmt"
	"net"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Result is what Setup made; it is stored in the container's state and is
// all Teardown needs.
type Result struct {
	ID     string `json:"id"`
	Bridge string `json:"bridge"`
	// BridgeCreated tells whether this Setup created the bridge. Whether
	// the bridge is removed when empty is decided by the bridge's own
	// record (any container of the state root may be the last to leave).
	BridgeCreated bool   `json:"bridgeCreated,omitempty"`
	HostVeth      string `json:"hostVeth"`
	IfName        string `json:"ifname"`
	Address       string `json:"address,omitempty"` // CIDR
	Gateway       string `json:"gateway,omitempty"`
	MAC           string `json:"mac,omitempty"`
	MTU           int    `json:"mtu,omitempty"`
}

// Planned is the Result Setup will produce as far as it is known before
// Setup runs. Saved before Setup, it lets Teardown clean up after a berth
// that died in the middle of Setup.
func Planned(stateRoot, id string, cfg *Config) *Result {
	host, _ := vethNames(stateRoot, id)
	r := &Result{ID: id, HostVeth: host, IfName: DefaultIfName}
	if cfg != nil {
		r.Bridge = cfg.Bridge
		if cfg.IfName != "" {
			r.IfName = cfg.IfName
		}
	}
	return r
}

// Setup connects the network namespace at nsPath to bridge cfg.Bridge with a
// veth pair: it creates the bridge (holding the gateway address) when it is
// missing, takes the container's address, and configures the container end
// (name, MAC, MTU, address, up, default route) and lo. It runs in the
// caller's network namespace, which is the "host" side. On error it undoes
// what it did.
func Setup(stateRoot, id string, cfg *Config, nsPath string) (res *Result, err error) {
	if id == "" {
		return nil, errors.New("network: empty container id")
	}
	p, err := cfg.parse()
	if err != nil {
		return nil, err
	}
	hostName, tmpName := vethNames(stateRoot, id)

	ns, err := netns.GetFromPath(nsPath)
	if err != nil {
		return nil, fmt.Errorf("network: open container netns %s: %w", nsPath, err)
	}
	defer ns.Close()
	host, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("network: netlink socket in host netns: %w", err)
	}
	defer host.Close()
	ctr, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("network: netlink socket in container netns %s: %w", nsPath, err)
	}
	defer ctr.Close()

	lk, err := lockBridge(stateRoot, p.bridge)
	if err != nil {
		return nil, err
	}
	defer lk.unlock()

	var undo []func()
	defer func() {
		if err != nil {
			for i := len(undo) - 1; i >= 0; i-- {
				undo[i]()
			}
			res = nil
		}
	}()
	res = &Result{ID: id, Bridge: p.bridge, HostVeth: hostName, IfName: p.ifName}

	br, brAddrs, created, err := ensureBridge(host, lk, p)
	if err != nil {
		return nil, err
	}
	if created {
		res.BridgeCreated = true
		undo = append(undo, func() { removeBridgeIfOwnedAndEmpty(host, lk) })
	}
	pl, err := resolve(p, !created, brAddrs)
	if err != nil {
		return nil, err
	}
	if created {
		if err := host.AddrAdd(br, &netlink.Addr{IPNet: pl.bridgeAddr}); err != nil {
			return nil, fmt.Errorf("network: add gateway address %s to bridge %s (annotation %s): %w", pl.bridgeAddr, p.bridge, AnnotationGateway, err)
		}
	}
	addr := pl.addr
	addrFrom := "annotation " + AnnotationAddress
	if addr == nil {
		ip, err := lk.allocate(id, pl.subnet, pl.hostAddrs)
		if err != nil {
			return nil, err
		}
		addr = &net.IPNet{IP: ip, Mask: pl.subnet.Mask}
		addrFrom = "allocated from " + pl.subnet.String()
	} else if err := lk.reserve(id, addr.IP); err != nil {
		return nil, err
	}
	undo = append(undo, func() { lk.releaseIP(id, addr.IP) })

	mtu, mtuFrom := p.mtu, "annotation "+AnnotationMTU
	if mtu == 0 {
		mtu, mtuFrom = br.Attrs().MTU, "MTU of bridge "+p.bridge
	}
	veth := &netlink.Veth{
		LinkAttrs:     netlink.LinkAttrs{Name: hostName, MTU: mtu, TxQLen: -1},
		PeerName:      tmpName,
		PeerNamespace: netlink.NsFd(int(ns)),
		PeerTxQLen:    -1,
	}
	if err := host.LinkAdd(veth); err != nil {
		if errors.Is(err, unix.EEXIST) {
			return nil, fmt.Errorf("network: create veth pair %s (host) / %s (container), MTU %d: %w (is container %q's network already set up?)", hostName, tmpName, mtu, err, id)
		}
		return nil, fmt.Errorf("network: create veth pair %s (host) / %s (container), MTU %d (%s): %w", hostName, tmpName, mtu, mtuFrom, err)
	}
	undo = append(undo, func() { deleteHostVeth(host, hostName) })
	hv, err := host.LinkByName(hostName)
	if err != nil {
		return nil, fmt.Errorf("network: find host veth %s: %w", hostName, err)
	}
	if err := host.LinkSetMaster(hv, br); err != nil {
		return nil, fmt.Errorf("network: attach %s to bridge %s (annotation %s): %w", hostName, p.bridge, AnnotationBridge, err)
	}
	if err := host.LinkSetUp(hv); err != nil {
		return nil, fmt.Errorf("network: set %s up: %w", hostName, err)
	}

	peer, err := ctr.LinkByName(tmpName)
	if err != nil {
		return nil, fmt.Errorf("network: find %s in container netns: %w", tmpName, err)
	}
	if p.mac != nil {
		if err := ctr.LinkSetHardwareAddr(peer, p.mac); err != nil {
			return nil, fmt.Errorf("network: set MAC %s on %s in container netns (annotation %s): %w", p.mac, tmpName, AnnotationMAC, err)
		}
	}
	if err := ctr.LinkSetName(peer, p.ifName); err != nil {
		return nil, fmt.Errorf("network: rename %s to %s in container netns (annotation %s): %w", tmpName, p.ifName, AnnotationIfName, err)
	}
	if err := ctr.AddrAdd(peer, &netlink.Addr{IPNet: addr}); err != nil {
		return nil, fmt.Errorf("network: add address %s to %s in container netns (%s): %w", addr, p.ifName, addrFrom, err)
	}
	if err := ctr.LinkSetUp(peer); err != nil {
		return nil, fmt.Errorf("network: set %s up in container netns: %w", p.ifName, err)
	}
	if lo, err := ctr.LinkByName("lo"); err != nil {
		return nil, fmt.Errorf("network: find lo in container netns: %w", err)
	} else if err := ctr.LinkSetUp(lo); err != nil {
		return nil, fmt.Errorf("network: set lo up in container netns: %w", err)
	}
	if pl.gw != nil {
		route := &netlink.Route{
			LinkIndex: peer.Attrs().Index,
			Dst:       &net.IPNet{IP: net.IPv4zero.To4(), Mask: net.CIDRMask(0, 32)},
			Gw:        pl.gw,
		}
		if err := ctr.RouteAdd(route); err != nil {
			return nil, fmt.Errorf("network: add default route via %s dev %s in container netns (annotation %s): %w", pl.gw, p.ifName, AnnotationGateway, err)
		}
		res.Gateway = pl.gw.String()
	}
	// Read back what the kernel chose (the MAC when none was asked for).
	if l, err := ctr.LinkByIndex(peer.Attrs().Index); err == nil {
		res.MAC = l.Attrs().HardwareAddr.String()
		res.MTU = l.Attrs().MTU
	}
	res.Address = addr.String()
	return res, nil
}

// ensureBridge finds the bridge or creates it (down, without address: the
// caller adds the gateway once it is resolved). It returns the bridge's IPv4
// addresses when it existed.
func ensureBridge(h *netlink.Handle, lk *bridgeLock, p *parsed) (netlink.Link, []*net.IPNet, bool, error) {
	br, err := h.LinkByName(p.bridge)
	if err == nil {
		if br.Type() != "bridge" {
			return nil, nil, false, fmt.Errorf("network: annotation %s %q: the host interface of that name is a %s, not a bridge", AnnotationBridge, p.bridge, br.Type())
		}
		addrs, err := h.AddrList(br, netlink.FAMILY_V4)
		if err != nil {
			return nil, nil, false, fmt.Errorf("network: list addresses of bridge %s: %w", p.bridge, err)
		}
		var nets []*net.IPNet
		for _, a := range addrs {
			nets = append(nets, a.IPNet)
		}
		if lk.ownsBridge(br) {
			// A bridge a crashed berth left down still works.
			if br.Attrs().Flags&net.FlagUp == 0 {
				if err := h.LinkSetUp(br); err != nil {
					return nil, nil, false, fmt.Errorf("network: set bridge %s up: %w", p.bridge, err)
				}
			}
		} else if err := lk.unmarkBridge(); err != nil {
			return nil, nil, false, err
		}
		return br, nets, false, nil
	}
	if !isNotFound(err) {
		return nil, nil, false, fmt.Errorf("network: find bridge %s (annotation %s): %w", p.bridge, AnnotationBridge, err)
	}
	// Record ownership first: if berth dies right after LinkAdd, Teardown
	// still knows the bridge is berth's to remove.
	if err := lk.markBridge(0); err != nil {
		return nil, nil, false, err
	}
	if err := h.LinkAdd(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: p.bridge, TxQLen: -1}}); err != nil {
		lk.unmarkBridge()
		return nil, nil, false, fmt.Errorf("network: create bridge %s (annotation %s): %w", p.bridge, AnnotationBridge, err)
	}
	br, err = h.LinkByName(p.bridge)
	if err == nil {
		err = lk.markBridge(br.Attrs().Index)
	}
	if err == nil {
		err = h.LinkSetUp(br)
	}
	if err != nil {
		removeBridgeIfOwnedAndEmpty(h, lk)
		return nil, nil, false, fmt.Errorf("network: set bridge %s up: %w", p.bridge, err)
	}
	return br, nil, true, nil
}

func isNotFound(err error) bool {
	var nf netlink.LinkNotFoundError
	return errors.As(err, &nf) || errors.Is(err, unix.ENODEV)
}
