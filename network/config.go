package network

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// Annotations that turn on and shape berth's built-in bridge network.
const (
	AnnotationBridge  = "berth.net.bridge"
	AnnotationAddress = "berth.net.address"
	AnnotationGateway = "berth.net.gateway"
	AnnotationMTU     = "berth.net.mtu"
	AnnotationMAC     = "berth.net.mac"
	AnnotationIfName  = "berth.net.ifname"
)

const (
	// DefaultGateway is the address berth gives a bridge it creates when no
	// berth.net.gateway is set; containers get addresses from its /16.
	// 10.77.0.0/16 stays clear of the ranges other tools pick by default:
	// Docker's 172.17.0.0/16, podman's and containerd's CNI 10.88.0.0/16,
	// netavark's 10.89.x.0/24 and the usual Kubernetes pod/service ranges.
	DefaultGateway = "10.77.0.1/16"
	// DefaultIfName is the container-side interface name.
	DefaultIfName = "eth0"
)

// Config is the network a container asks for through its annotations.
type Config struct {
	Bridge string
	// Address is IPv4 CIDR ("10.77.0.5/16") or a bare IP (the prefix then
	// comes from the bridge's subnet); empty allocates one from that subnet.
	Address string
	// Gateway is an IPv4 address, with or without a prefix length. Empty
	// means the existing bridge's address, or DefaultGateway for a bridge
	// berth creates.
	Gateway string
	MTU     int    // 0: the bridge's MTU
	MAC     string // container-side MAC; empty: the kernel picks one
	IfName  string // container-side name; empty: DefaultIfName
}

// FromAnnotations reads the berth.net.* annotations. It returns nil, nil
// when berth.net.bridge is absent: the container gets no built-in network.
func FromAnnotations(a map[string]string) (*Config, error) {
	bridge, ok := a[AnnotationBridge]
	if !ok {
		for k := range a {
			if strings.HasPrefix(k, "berth.net.") && k != AnnotationBridge {
				return nil, fmt.Errorf("network: annotation %s is set but %s is not: the built-in network needs a bridge", k, AnnotationBridge)
			}
		}
		return nil, nil
	}
	c := &Config{
		Bridge:  bridge,
		Address: a[AnnotationAddress],
		Gateway: a[AnnotationGateway],
		MAC:     a[AnnotationMAC],
		IfName:  a[AnnotationIfName],
	}
	if s, ok := a[AnnotationMTU]; ok {
		mtu, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return nil, fmt.Errorf("network: annotation %s %q: not an integer", AnnotationMTU, s)
		}
		c.MTU = mtu
	}
	if _, err := c.parse(); err != nil {
		return nil, err
	}
	return c, nil
}

// parsed is a validated Config.
type parsed struct {
	bridge, ifName string
	addr           net.IP // nil: allocate
	addrMask       net.IPMask
	gw             net.IP // nil: from the bridge or the default
	gwMask         net.IPMask
	mtu            int
	mac            net.HardwareAddr
}

func (c *Config) parse() (*parsed, error) {
	if c == nil {
		return nil, errors.New("network: no config")
	}
	p := &parsed{bridge: c.Bridge, ifName: c.IfName, mtu: c.MTU}
	if p.ifName == "" {
		p.ifName = DefaultIfName
	}
	if err := checkIfName(p.bridge, false); err != nil {
		return nil, fmt.Errorf("network: annotation %s %q: %w", AnnotationBridge, p.bridge, err)
	}
	if err := checkIfName(p.ifName, false); err != nil {
		return nil, fmt.Errorf("network: annotation %s %q: %w", AnnotationIfName, p.ifName, err)
	}
	if p.ifName == "lo" {
		return nil, fmt.Errorf("network: annotation %s %q: the loopback name is taken", AnnotationIfName, p.ifName)
	}
	var err error
	if c.Address != "" {
		if p.addr, p.addrMask, err = parseIPv4(c.Address); err != nil {
			return nil, fmt.Errorf("network: annotation %s %q: %w", AnnotationAddress, c.Address, err)
		}
	}
	if c.Gateway != "" {
		if p.gw, p.gwMask, err = parseIPv4(c.Gateway); err != nil {
			return nil, fmt.Errorf("network: annotation %s %q: %w", AnnotationGateway, c.Gateway, err)
		}
	}
	// 68 is the smallest MTU IPv4 allows; 65535 the largest a veth takes.
	if p.mtu != 0 && (p.mtu < 68 || p.mtu > 65535) {
		return nil, fmt.Errorf("network: annotation %s %d: out of range 68-65535", AnnotationMTU, p.mtu)
	}
	if c.MAC != "" {
		mac, err := net.ParseMAC(c.MAC)
		switch {
		case err != nil:
			return nil, fmt.Errorf("network: annotation %s %q: not a MAC address", AnnotationMAC, c.MAC)
		case len(mac) != 6:
			return nil, fmt.Errorf("network: annotation %s %q: not a 6-byte Ethernet address", AnnotationMAC, c.MAC)
		case mac[0]&1 != 0:
			return nil, fmt.Errorf("network: annotation %s %q: a multicast address cannot be an interface's address", AnnotationMAC, c.MAC)
		case isZero(mac):
			return nil, fmt.Errorf("network: annotation %s %q: the all-zero address is invalid", AnnotationMAC, c.MAC)
		}
		p.mac = mac
	}
	return p, nil
}

// parseIPv4 takes "a.b.c.d" (nil mask) or "a.b.c.d/n".
func parseIPv4(s string) (net.IP, net.IPMask, error) {
	if strings.Contains(s, "/") {
		ip, n, err := net.ParseCIDR(s)
		if err != nil {
			return nil, nil, errors.New("not an IP address or CIDR")
		}
		if ip.To4() == nil {
			return nil, nil, errors.New("only IPv4 is supported")
		}
		return ip.To4(), n.Mask, nil
	}
	ip := net.ParseIP(s)
	if ip == nil {
		return nil, nil, errors.New("not an IP address or CIDR")
	}
	if ip.To4() == nil {
		return nil, nil, errors.New("only IPv4 is supported")
	}
	return ip.To4(), nil, nil
}

// checkIfName applies the kernel's rules for interface names
// (dev_valid_name); template allows one "%d" the kernel fills in.
func checkIfName(name string, template bool) error {
	switch {
	case name == "":
		return errors.New("empty interface name")
	case len(name) > 15:
		return errors.New("interface names are at most 15 bytes")
	case name == "." || name == "..":
		return errors.New("not a valid interface name")
	}
	for _, r := range name {
		if r == '/' || r == ':' || r <= ' ' || r == 0x7f {
			return fmt.Errorf("interface names cannot contain %q", r)
		}
	}
	if n := strings.Count(name, "%"); n > 0 {
		if !template {
			return errors.New("interface names cannot contain '%'")
		}
		if n > 1 || !strings.Contains(name, "%d") {
			return errors.New("only one %d template is allowed in an interface name")
		}
	}
	return nil
}

func isZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}
