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

	// The name is checked before anything is made, so that a clash (with a
	// linux.netDevices entry moved in just before) leaves nothing behind.
	if _, err := ctr.LinkByName(p.ifName); err == nil {
		return nil, fmt.Errorf("network: annotation %s %q: an interface of that name already exists in the container netns (a linux.netDevices entry?)", AnnotationIfName, p.ifName)
	} else if !isNotFound(err) {
		return nil, fmt.Errorf("network: look up %s in container netns (annotation %s): %w", p.ifName, AnnotationIfName, err)
	}

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

	br, brAddrs, err := findBridge(host, lk, p)
	if err != nil {
		return nil, err
	}
	pl, err := resolve(p, br != nil, brAddrs)
	if err != nil {
		return nil, err
	}
	if err := checkOverlap(host, pl, br, brAddrs); err != nil {
		return nil, err
	}
	if br == nil {
		if br, err = createBridge(host, lk, p); err != nil {
			return nil, err
		}
		res.BridgeCreated = true
		undo = append(undo, func() { removeBridgeIfOwnedAndEmpty(host, lk) })
		if err := host.AddrAdd(br, &netlink.Addr{IPNet: pl.bridgeAddr}); err != nil {
			return nil, fmt.Errorf("network: add gateway address %s to bridge %s (annotation %s): %w", pl.bridgeAddr, p.bridge, AnnotationGateway, err)
		}
	} else if lk.ownsBridge(br) && br.Attrs().Flags&net.FlagUp == 0 {
		// A bridge a crashed berth left down still works.
		if err := host.LinkSetUp(br); err != nil {
			return nil, fmt.Errorf("network: set bridge %s up: %w", p.bridge, err)
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

// findBridge finds the bridge, nil when it is missing, and its IPv4
// addresses. It changes nothing on the host: the request is checked in full
// before anything is made.
func findBridge(h *netlink.Handle, lk *bridgeLock, p *parsed) (netlink.Link, []*net.IPNet, error) {
	br, err := h.LinkByName(p.bridge)
	if isNotFound(err) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("network: find bridge %s (annotation %s): %w", p.bridge, AnnotationBridge, err)
	}
	if br.Type() != "bridge" {
		return nil, nil, fmt.Errorf("network: annotation %s %q: the host interface of that name is a %s, not a bridge", AnnotationBridge, p.bridge, br.Type())
	}
	addrs, err := h.AddrList(br, netlink.FAMILY_V4)
	if err != nil {
		return nil, nil, fmt.Errorf("network: list addresses of bridge %s: %w", p.bridge, err)
	}
	var nets []*net.IPNet
	for _, a := range addrs {
		nets = append(nets, a.IPNet)
	}
	if !lk.ownsBridge(br) {
		// Someone else's bridge under the name berth's once had.
		if err := lk.unmarkBridge(); err != nil {
			return nil, nil, err
		}
	}
	return br, nets, nil
}

// createBridge creates the bridge up and without address: the caller adds
// the gateway.
func createBridge(h *netlink.Handle, lk *bridgeLock, p *parsed) (netlink.Link, error) {
	// Record ownership first: if berth dies right after LinkAdd, Teardown
	// still knows the bridge is berth's to remove.
	if err := lk.markBridge(0); err != nil {
		return nil, err
	}
	if err := h.LinkAdd(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: p.bridge, TxQLen: -1}}); err != nil {
		lk.unmarkBridge()
		return nil, fmt.Errorf("network: create bridge %s (annotation %s): %w", p.bridge, AnnotationBridge, err)
	}
	br, err := h.LinkByName(p.bridge)
	if err == nil {
		err = lk.markBridge(br.Attrs().Index)
	}
	if err == nil {
		err = h.LinkSetUp(br)
	}
	if err != nil {
		removeBridgeIfOwnedAndEmpty(h, lk)
		return nil, fmt.Errorf("network: set bridge %s up: %w", p.bridge, err)
	}
	return br, nil
}

// checkOverlap refuses a container subnet that another host interface
// already has addresses in: the host would route part of it out of that
// interface, and a bridge berth creates would shadow the other network
// for the host. A subnet inside one the bridge itself holds is the
// bridge's owner's choice and is not checked; neither are the bridge's
// ports.
func checkOverlap(h *netlink.Handle, pl *ipPlan, br netlink.Link, brAddrs []*net.IPNet) error {
	if pl.subnet == nil {
		return nil
	}
	for _, a := range brAddrs {
		if a.Contains(pl.subnet.IP) && a.Contains(broadcast(pl.subnet)) {
			return nil
		}
	}
	brIndex := 0
	if br != nil {
		brIndex = br.Attrs().Index
	}
	links, err := h.LinkList()
	if err != nil {
		return fmt.Errorf("network: list host interfaces: %w", err)
	}
	names := map[int]string{}
	for _, l := range links {
		a := l.Attrs()
		if brIndex == 0 || (a.Index != brIndex && a.MasterIndex != brIndex) {
			names[a.Index] = a.Name
		}
	}
	addrs, err := h.AddrList(nil, netlink.FAMILY_V4)
	if err != nil {
		return fmt.Errorf("network: list host addresses: %w", err)
	}
	for _, a := range addrs {
		name, ok := names[a.LinkIndex]
		if !ok {
			continue
		}
		other := subnetOf(a.IPNet)
		if other.Contains(pl.subnet.IP) || pl.subnet.Contains(other.IP) {
			return fmt.Errorf("network: %s: subnet %s overlaps %s of host interface %s (address %s)", pl.subnetFrom, pl.subnet, other, name, a.IPNet)
		}
	}
	return nil
}

func isNotFound(err error) bool {
	var nf netlink.LinkNotFoundError
	return errors.As(err, &nf) || errors.Is(err, unix.ENODEV)
}
