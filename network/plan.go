package network

import (
	"encoding/binary"
	"fmt"
	"net"
)

// ipPlan is what Setup puts on the wire once the config has met the bridge.
type ipPlan struct {
	gw         net.IP     // nil: no default route
	subnet     *net.IPNet // nil: nothing to allocate from
	subnetFrom string     // where subnet came from, for errors
	addr       *net.IPNet // nil: allocate from subnet
	bridgeAddr *net.IPNet // the address a bridge berth creates gets
	// hostAddrs are the bridge's own addresses; the allocator skips them.
	hostAddrs []net.IP
}

// resolve decides gateway, subnet and address. An existing bridge is never
// given an address: it may be enslaving an uplink whose router is the
// gateway. brAddrs are the bridge's IPv4 addresses (nil when it is absent).
func resolve(p *parsed, bridgeExists bool, brAddrs []*net.IPNet) (*ipPlan, error) {
	pl := &ipPlan{}
	for _, a := range brAddrs {
		pl.hostAddrs = append(pl.hostAddrs, a.IP)
	}
	gw, gwMask := p.gw, p.gwMask
	gwFrom := "annotation " + AnnotationGateway
	subnetFrom := ""
	if gw == nil {
		switch {
		case bridgeExists && len(brAddrs) > 0:
			gw, gwMask = brAddrs[0].IP.To4(), brAddrs[0].Mask
			gwFrom = fmt.Sprintf("the address of bridge %s", p.bridge)
			subnetFrom = fmt.Sprintf("the address %s of bridge %s", brAddrs[0], p.bridge)
		case !bridgeExists:
			gw, gwMask, _ = parseIPv4(DefaultGateway)
			gwFrom = "the default gateway " + DefaultGateway
			subnetFrom = fmt.Sprintf("the default gateway %s (annotation %s picks another)", DefaultGateway, AnnotationGateway)
		}
	}
	if gw != nil && gwMask == nil {
		for _, a := range brAddrs {
			if a.Contains(gw) {
				gwMask = a.Mask
				break
			}
		}
		if gwMask == nil && p.addr != nil && p.addrMask != nil && (&net.IPNet{IP: p.addr.Mask(p.addrMask), Mask: p.addrMask}).Contains(gw) {
			gwMask = p.addrMask
		}
	}
	pl.gw = gw
	if gw != nil && gwMask != nil {
		pl.subnet = &net.IPNet{IP: gw.Mask(gwMask), Mask: gwMask}
		pl.subnetFrom = subnetFrom
		if pl.subnetFrom == "" {
			pl.subnetFrom = fmt.Sprintf("annotation %s %s", AnnotationGateway, &net.IPNet{IP: gw, Mask: gwMask})
		}
	} else if p.addr != nil && p.addrMask != nil {
		pl.subnet = &net.IPNet{IP: p.addr.Mask(p.addrMask), Mask: p.addrMask}
		pl.subnetFrom = fmt.Sprintf("annotation %s %s", AnnotationAddress, &net.IPNet{IP: p.addr, Mask: p.addrMask})
	}
	if !bridgeExists {
		if gwMask == nil {
			return nil, fmt.Errorf("network: annotation %s %s: bridge %s does not exist and berth needs a prefix length to create it (e.g. %s/24)", AnnotationGateway, gw, p.bridge, gw)
		}
		pl.bridgeAddr = &net.IPNet{IP: gw, Mask: gwMask}
		pl.hostAddrs = append(pl.hostAddrs, gw)
	}

	if p.addr == nil {
		if pl.subnet == nil {
			return nil, fmt.Errorf("network: bridge %s has no IPv4 address to allocate from: set annotation %s (as CIDR) or %s", p.bridge, AnnotationGateway, AnnotationAddress)
		}
		if hostCount(pl.subnet) == 0 {
			return nil, fmt.Errorf("network: subnet %s (from %s) has no room for container addresses", pl.subnet, gwFrom)
		}
		return pl, nil
	}
	mask := p.addrMask
	if mask == nil {
		if pl.subnet == nil {
			return nil, fmt.Errorf("network: annotation %s %s: no prefix length and bridge %s has no subnet to take it from", AnnotationAddress, p.addr, p.bridge)
		}
		mask = pl.subnet.Mask
	}
	addr := &net.IPNet{IP: p.addr, Mask: mask}
	own := &net.IPNet{IP: p.addr.Mask(mask), Mask: mask}
	switch {
	case pl.subnet != nil && !pl.subnet.Contains(p.addr):
		return nil, fmt.Errorf("network: annotation %s %s: outside subnet %s of gateway %s (%s)", AnnotationAddress, addr, pl.subnet, gw, gwFrom)
	case gw != nil && !own.Contains(gw):
		return nil, fmt.Errorf("network: annotation %s %s: gateway %s (%s) is not inside it, so it would be unreachable", AnnotationAddress, addr, gw, gwFrom)
	case gw != nil && gw.Equal(p.addr):
		return nil, fmt.Errorf("network: annotation %s %s: that is the gateway's address", AnnotationAddress, addr)
	case hostCount(own) > 0 && (p.addr.Equal(own.IP) || p.addr.Equal(broadcast(own))):
		return nil, fmt.Errorf("network: annotation %s %s: the network or broadcast address of %s", AnnotationAddress, addr, own)
	}
	for _, h := range pl.hostAddrs {
		if h.Equal(p.addr) {
			return nil, fmt.Errorf("network: annotation %s %s: bridge %s already has that address", AnnotationAddress, addr, p.bridge)
		}
	}
	pl.addr = addr
	return pl, nil
}

func ip4u(ip net.IP) uint32 { return binary.BigEndian.Uint32(ip.To4()) }

func u4ip(u uint32) net.IP {
	ip := make(net.IP, 4)
	binary.BigEndian.PutUint32(ip, u)
	return ip
}

// subnetOf is the network an address with its prefix length belongs to.
func subnetOf(a *net.IPNet) *net.IPNet {
	return &net.IPNet{IP: a.IP.Mask(a.Mask), Mask: a.Mask}
}

func broadcast(n *net.IPNet) net.IP {
	ones, bits := n.Mask.Size()
	return u4ip(ip4u(n.IP) | uint32(uint64(1)<<(bits-ones)-1))
}

// hostCount is the number of usable host addresses: a /31 or /32 has none
// a container could take next to a gateway.
func hostCount(n *net.IPNet) uint32 {
	ones, bits := n.Mask.Size()
	if bits != 32 || bits-ones < 2 {
		return 0
	}
	return uint32(uint64(1)<<(bits-ones) - 2)
}
