package network

import (
	"net"
	"strings"
	"testing"
)

func TestFromAnnotationsAbsent(t *testing.T) {
	c, err := FromAnnotations(map[string]string{"org.example": "x"})
	if c != nil || err != nil {
		t.Fatalf("no berth.net.bridge: got %+v, %v; want nil, nil", c, err)
	}
	if _, err := FromAnnotations(map[string]string{AnnotationAddress: "10.77.0.9/16"}); err == nil ||
		!strings.Contains(err.Error(), AnnotationAddress) || !strings.Contains(err.Error(), AnnotationBridge) {
		t.Fatalf("address without bridge: got %v, want an error naming both annotations", err)
	}
}

func TestFromAnnotations(t *testing.T) {
	c, err := FromAnnotations(map[string]string{
		AnnotationBridge:  "br-test",
		AnnotationAddress: "10.77.3.4/16",
		AnnotationGateway: "10.77.0.1",
		AnnotationMTU:     " 1400",
		AnnotationMAC:     "02:42:ac:11:00:02",
		AnnotationIfName:  "net0",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := Config{Bridge: "br-test", Address: "10.77.3.4/16", Gateway: "10.77.0.1", MTU: 1400, MAC: "02:42:ac:11:00:02", IfName: "net0"}
	if *c != want {
		t.Fatalf("got %+v, want %+v", *c, want)
	}
	p, err := c.parse()
	if err != nil {
		t.Fatal(err)
	}
	if p.ifName != "net0" || !p.addr.Equal(net.ParseIP("10.77.3.4")) || p.gwMask != nil {
		t.Fatalf("parsed %+v", p)
	}
	p, err = (&Config{Bridge: "b"}).parse()
	if err != nil || p.ifName != DefaultIfName {
		t.Fatalf("default ifname: %+v %v", p, err)
	}
}

func TestFromAnnotationsErrors(t *testing.T) {
	for _, tc := range []struct {
		key, val, want string
	}{
		{AnnotationBridge, "", "empty interface name"},
		{AnnotationBridge, "a-very-long-bridge-name", "at most 15 bytes"},
		{AnnotationBridge, "br/0", "cannot contain '/'"},
		{AnnotationBridge, "br%d", "cannot contain '%'"},
		{AnnotationAddress, "10.77.0.300", "not an IP address"},
		{AnnotationAddress, "fd00::5/64", "only IPv4"},
		{AnnotationGateway, "gateway", "not an IP address"},
		{AnnotationMTU, "big", "not an integer"},
		{AnnotationMTU, "67", "out of range"},
		{AnnotationMTU, "65536", "out of range"},
		{AnnotationMAC, "zz:00:00:00:00:00", "not a MAC"},
		{AnnotationMAC, "01:00:5e:00:00:01", "multicast"},
		{AnnotationMAC, "00:00:00:00:00:00", "all-zero"},
		{AnnotationMAC, "00:00:00:00:fe:80:00:00:00:00:00:00:00:00:00:00:00:00:00:01", "6-byte"},
		{AnnotationIfName, "lo", "loopback"},
		{AnnotationIfName, "eth 0", "cannot contain"},
	} {
		a := map[string]string{AnnotationBridge: "berth0", tc.key: tc.val}
		_, err := FromAnnotations(a)
		if err == nil {
			t.Errorf("%s=%q: no error", tc.key, tc.val)
			continue
		}
		if !strings.Contains(err.Error(), tc.key) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s=%q: error %q does not name the annotation and %q", tc.key, tc.val, err, tc.want)
		}
	}
}

func TestCheckIfNameTemplate(t *testing.T) {
	if err := checkIfName("eth%d", true); err != nil {
		t.Errorf("eth%%d as template: %v", err)
	}
	for _, bad := range []string{"eth%d%d", "eth%s"} {
		if err := checkIfName(bad, true); err == nil {
			t.Errorf("%q accepted as template", bad)
		}
	}
}

func TestVethNames(t *testing.T) {
	h1, p1 := vethNames("/run/berth", "web")
	h2, _ := vethNames("/run/berth/", "web")
	h3, _ := vethNames("/run/berth", "web2")
	h4, _ := vethNames("/run/other", "web")
	if h1 != h2 {
		t.Errorf("same root spelled twice gives %s and %s", h1, h2)
	}
	if h1 == h3 || h1 == h4 {
		t.Errorf("names collide: %s %s %s", h1, h3, h4)
	}
	if len(h1) > 15 || len(p1) > 15 || !strings.HasPrefix(h1, "bv") || !strings.HasPrefix(p1, "bc") || h1[2:] != p1[2:] {
		t.Errorf("names %q %q", h1, p1)
	}
}

func mustCIDR(t *testing.T, s string) *net.IPNet {
	t.Helper()
	ip, n, err := net.ParseCIDR(s)
	if err != nil {
		t.Fatal(err)
	}
	n.IP = ip.To4()
	return n
}

func TestResolve(t *testing.T) {
	parse := func(c Config) *parsed {
		c.Bridge = "br0"
		p, err := c.parse()
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	// New bridge, nothing given: the default subnet.
	pl, err := resolve(parse(Config{}), false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if pl.gw.String() != "10.77.0.1" || pl.subnet.String() != "10.77.0.0/16" || pl.bridgeAddr.String() != DefaultGateway || pl.addr != nil {
		t.Fatalf("default: %+v", pl)
	}
	// Existing bridge with an address: its address is the gateway.
	pl, err = resolve(parse(Config{Address: "192.168.7.20"}), true, []*net.IPNet{mustCIDR(t, "192.168.7.1/24")})
	if err != nil {
		t.Fatal(err)
	}
	if pl.gw.String() != "192.168.7.1" || pl.addr.String() != "192.168.7.20/24" || pl.bridgeAddr != nil {
		t.Fatalf("existing bridge: %+v", pl)
	}
	// Gateway without prefix takes the address's prefix.
	pl, err = resolve(parse(Config{Address: "172.30.5.9/24", Gateway: "172.30.5.254"}), false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if pl.bridgeAddr.String() != "172.30.5.254/24" || pl.subnet.String() != "172.30.5.0/24" {
		t.Fatalf("prefix from address: %+v", pl)
	}
	// Existing bridge without address, a router elsewhere on the segment.
	pl, err = resolve(parse(Config{Address: "192.0.2.10/24", Gateway: "192.0.2.1"}), true, nil)
	if err != nil || pl.gw.String() != "192.0.2.1" || pl.bridgeAddr != nil {
		t.Fatalf("existing bare bridge: %+v %v", pl, err)
	}

	for _, tc := range []struct {
		c      Config
		exists bool
		addrs  []*net.IPNet
		want   string
	}{
		{Config{Gateway: "10.1.0.1"}, false, nil, "berth.net.gateway 10.1.0.1: bridge br0 does not exist and berth needs a prefix length"},
		{Config{Address: "10.99.0.5/16"}, false, nil, "berth.net.address 10.99.0.5/16: outside subnet 10.77.0.0/16 of gateway 10.77.0.1"},
		{Config{Address: "10.77.5.5/24"}, false, nil, "gateway 10.77.0.1 (the default gateway 10.77.0.1/16) is not inside it"},
		{Config{Address: "10.77.0.1"}, false, nil, "that is the gateway's address"},
		{Config{Address: "10.77.255.255"}, false, nil, "network or broadcast address"},
		{Config{Address: "10.77.0.0"}, false, nil, "network or broadcast address"},
		{Config{}, true, nil, "bridge br0 has no IPv4 address to allocate from"},
		{Config{Address: "10.3.0.4"}, true, nil, "no prefix length"},
		{Config{Gateway: "10.5.0.1/31"}, false, nil, "has no room"},
		{Config{Address: "10.6.0.2", Gateway: "10.6.0.9/24"}, true, []*net.IPNet{mustCIDR(t, "10.6.0.2/24")}, "bridge br0 already has that address"},
	} {
		_, err := resolve(parse(tc.c), tc.exists, tc.addrs)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: got %v, want error containing %q", tc.c, err, tc.want)
		}
	}
}
