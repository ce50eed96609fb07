package network

import (
	"net"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// addVeth makes a veth pair in h; the first end stands in for a host NIC
// (the test VM's kernel has no dummy driver).
func addVeth(t *testing.T, h *netlink.Handle, name string) netlink.Link {
	t.Helper()
	if err := h.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: name, TxQLen: -1}, PeerName: name + "p", PeerTxQLen: -1}); err != nil {
		t.Fatalf("add veth %s: %v", name, err)
	}
	l, err := h.LinkByName(name)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func moveIn(host *testNS, devs map[string]specs.LinuxNetDevice, ctr *testNS) ([]MovedDevice, error) {
	var moved []MovedDevice
	err := host.do(func() (err error) {
		moved, err = MoveNetDevices(devs, ctr.path)
		return err
	})
	return moved, err
}

func addrStrings(t *testing.T, h *netlink.Handle, l netlink.Link) []string {
	t.Helper()
	as, err := h.AddrList(l, netlink.FAMILY_ALL)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, a := range as {
		if a.Scope == unix.RT_SCOPE_UNIVERSE {
			out = append(out, a.IPNet.String())
		}
	}
	sort.Strings(out)
	return out
}

func TestMoveNetDevices(t *testing.T) {
	host, ctr := newNS(t), newNS(t)
	hh, ch := host.nl(t), ctr.nl(t)
	nd0 := addVeth(t, hh, "nd0")
	for _, a := range []string{"192.0.2.10/24", "2001:db8::10/64"} {
		if err := hh.AddrAdd(nd0, &netlink.Addr{IPNet: mustParseIPNet(t, a), Flags: unix.IFA_F_NODAD}); err != nil {
			t.Fatal(err)
		}
	}
	hh.LinkSetUp(nd0)
	addVeth(t, hh, "nd1")
	// The host name is taken in the container, the new one is not: the
	// single move-and-rename request must cope.
	addVeth(t, hh, "x0")
	addVeth(t, ch, "x0")

	moved, err := moveIn(host, map[string]specs.LinuxNetDevice{
		"nd0": {Name: "data0"},
		"nd1": {Name: "net%d"},
		"x0":  {Name: "y0"},
	}, ctr)
	if err != nil {
		t.Fatal(err)
	}
	if len(moved) != 3 {
		t.Fatalf("moved %+v", moved)
	}
	m := moved[0]
	if m.HostName != "nd0" || m.Name != "data0" || m.Kind != "veth" || !m.Up || m.Index != nd0.Attrs().Index ||
		strings.Join(m.Addresses, " ") != "192.0.2.10/24 2001:db8::10/64" {
		t.Errorf("moved[0] = %+v", m)
	}
	if moved[1].Name != "net0" || moved[2].Name != "y0" {
		t.Errorf("names in container: %q %q, want net0 y0", moved[1].Name, moved[2].Name)
	}
	hl := linkNames(t, hh)
	for _, n := range []string{"nd0", "nd1", "x0"} {
		if _, ok := hl[n]; ok {
			t.Errorf("%s still on the host", n)
		}
	}
	cl := linkNames(t, ch)
	for _, n := range []string{"data0", "net0", "y0"} {
		l, ok := cl[n]
		if !ok {
			t.Fatalf("%s not in container: %v", n, cl)
		}
		if l.Attrs().Flags&net.FlagUp == 0 {
			t.Errorf("%s is not up in the container", n)
		}
	}
	if got := addrStrings(t, ch, cl["data0"]); strings.Join(got, " ") != "192.0.2.10/24 2001:db8::10/64" {
		t.Errorf("data0 addresses in container: %v", got)
	}

	// The spec's checks, made before anything moves.
	addVeth(t, hh, "nd2")
	for _, tc := range []struct {
		devs map[string]specs.LinuxNetDevice
		want string
	}{
		{map[string]specs.LinuxNetDevice{"nd2": {Name: "data0"}}, `network: linux.netDevices["nd2"]: an interface named "data0" already exists in the container netns`},
		{map[string]specs.LinuxNetDevice{"nd2": {Name: "a0"}, "nd2p": {Name: "a0"}}, `name "a0" is also given to linux.netDevices["nd2"]`},
		{map[string]specs.LinuxNetDevice{"nope0": {}}, `network: linux.netDevices["nope0"]: no interface "nope0" on the host`},
		{map[string]specs.LinuxNetDevice{"nd2": {Name: "bad/name"}}, `linux.netDevices["nd2"]: name "bad/name": interface names cannot contain '/'`},
	} {
		got, err := moveIn(host, tc.devs, ctr)
		if err == nil || !strings.Contains(err.Error(), tc.want) || got != nil {
			t.Errorf("%v: got %v, %v; want error containing %q", tc.devs, got, err, tc.want)
		}
	}
	if _, ok := linkNames(t, hh)["nd2"]; !ok {
		t.Error("a refused move still moved nd2")
	}

	// The kernel's refusal (a bridge is bound to its netns) keeps its errno.
	if err := hh.LinkAdd(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "br9", TxQLen: -1}}); err != nil {
		t.Fatal(err)
	}
	_, err = moveIn(host, map[string]specs.LinuxNetDevice{"br9": {}}, ctr)
	if err == nil || !strings.HasPrefix(err.Error(), `network: linux.netDevices["br9"]: move br9 into container netns as br9: invalid argument`) {
		t.Errorf("moving a bridge: %v", err)
	}
}

func mustParseIPNet(t *testing.T, s string) *net.IPNet {
	t.Helper()
	n, err := netlink.ParseIPNet(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestReturnNetDevices(t *testing.T) {
	host, ctr := newNS(t), newNS(t)
	hh, ch := host.nl(t), ctr.nl(t)
	nd0 := addVeth(t, hh, "nd0")
	if err := hh.AddrAdd(nd0, &netlink.Addr{IPNet: mustParseIPNet(t, "198.51.100.7/24")}); err != nil {
		t.Fatal(err)
	}
	hh.LinkSetUp(nd0)
	addVeth(t, hh, "nd1")
	moved, err := moveIn(host, map[string]specs.LinuxNetDevice{"nd0": {Name: "eth1"}, "nd1": {}}, ctr)
	if err != nil {
		t.Fatal(err)
	}

	// While the container lives, ReturnNetDevices must not pull anything
	// out of it (runtime-spec: MUST NOT move it out before deletion).
	if err := host.do(func() error { return ReturnNetDevices(moved) }); err != nil {
		t.Fatal(err)
	}
	if _, ok := linkNames(t, ch)["eth1"]; !ok {
		t.Fatal("eth1 was taken out of a live container netns")
	}

	// What the kernel does to a physical device when the netns dies: back
	// to the host under its container name, down, addresses flushed.
	eth1, _ := ch.LinkByName("eth1")
	if err := ch.LinkSetNsFd(eth1, int(host.h)); err != nil {
		t.Fatal(err)
	}
	if err := host.do(func() error { return ReturnNetDevices(moved) }); err != nil {
		t.Fatal(err)
	}
	back, err := hh.LinkByName("nd0")
	if err != nil {
		t.Fatalf("nd0 not back under its host name: %v (%v)", err, linkNames(t, hh))
	}
	if back.Attrs().Flags&net.FlagUp == 0 {
		t.Error("nd0 was up before the container and is down after")
	}
	if got := addrStrings(t, hh, back); strings.Join(got, " ") != "198.51.100.7/24" {
		t.Errorf("nd0 addresses after return: %v", got)
	}
	// Idempotent.
	if err := host.do(func() error { return ReturnNetDevices(moved) }); err != nil {
		t.Fatal(err)
	}

	// The container netns dies: the virtual nd1 is destroyed by the
	// kernel, and ReturnNetDevices does not wait for it.
	ctr.h.Close()
	start := time.Now()
	if err := host.do(func() error { return ReturnNetDevices(moved[1:]) }); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > ReturnWait/2 {
		t.Errorf("waited %v for a virtual device", d)
	}
}

// A physical device shows up only once the kernel has dismantled the
// netns; ReturnNetDevices waits for it, and refuses to take a name that
// someone else took meanwhile.
func TestReturnNetDevicesWaitsForPhysical(t *testing.T) {
	host, ctr := newNS(t), newNS(t)
	hh, ch := host.nl(t), ctr.nl(t)
	addVeth(t, hh, "nd0")
	moved, err := moveIn(host, map[string]specs.LinuxNetDevice{"nd0": {Name: "phys0"}}, ctr)
	if err != nil {
		t.Fatal(err)
	}
	moved[0].Kind = "device" // as a NIC would be recorded
	phys, _ := ch.LinkByName("phys0")
	go func() {
		time.Sleep(300 * time.Millisecond)
		ch.LinkSetNsFd(phys, int(host.h))
	}()
	start := time.Now()
	if err := host.do(func() error { return ReturnNetDevices(moved) }); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Errorf("returned after %v, before the device came back", d)
	}
	if _, err := hh.LinkByName("nd0"); err != nil {
		t.Fatalf("nd0 not restored: %v", err)
	}

	// Its host name taken while it was away.
	moved, err = moveIn(host, map[string]specs.LinuxNetDevice{"nd0": {Name: "phys0"}}, ctr)
	if err != nil {
		t.Fatal(err)
	}
	if err := hh.LinkAdd(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "nd0", TxQLen: -1}}); err != nil {
		t.Fatal(err)
	}
	phys, _ = ch.LinkByName("phys0")
	if err := ch.LinkSetNsFd(phys, int(host.h)); err != nil {
		t.Fatal(err)
	}
	err = host.do(func() error { return ReturnNetDevices(moved) })
	if err == nil || !strings.Contains(err.Error(), `network: linux.netDevices["nd0"]: returned as phys0, and its name nd0 is now taken`) {
		t.Fatalf("name taken: %v", err)
	}
}

func reclaimIn(t *testing.T, host *testNS, moved []MovedDevice, ctr *testNS) ([]MovedDevice, error) {
	t.Helper()
	f, err := os.Open(ctr.path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var left []MovedDevice
	err = host.do(func() (err error) {
		left, err = ReclaimNetDevices(moved, f)
		return err
	})
	return left, err
}

// On delete the devices come back out of the live container netns under
// their host names, with their addresses and up state, even where the
// container name is taken on the host.
func TestReclaimNetDevices(t *testing.T) {
	host, ctr := newNS(t), newNS(t)
	hh, ch := host.nl(t), ctr.nl(t)
	nd0 := addVeth(t, hh, "nd0")
	if err := hh.AddrAdd(nd0, &netlink.Addr{IPNet: mustParseIPNet(t, "198.51.100.7/24")}); err != nil {
		t.Fatal(err)
	}
	hh.LinkSetUp(nd0)
	addVeth(t, hh, "nd1")
	addVeth(t, hh, "nd2")
	moved, err := moveIn(host, map[string]specs.LinuxNetDevice{"nd0": {Name: "eth1"}, "nd1": {Name: "net%d"}, "nd2": {}}, ctr)
	if err != nil {
		t.Fatal(err)
	}
	// The container renamed nd2: berth does not go looking for it.
	nd2, _ := ch.LinkByName("nd2")
	ch.LinkSetDown(nd2)
	if err := ch.LinkSetName(nd2, "mine0"); err != nil {
		t.Fatal(err)
	}
	// nd0's container name is taken on the host.
	addVeth(t, hh, "eth1")

	left, err := reclaimIn(t, host, moved, ctr)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 1 || left[0].HostName != "nd2" {
		t.Errorf("left %+v, want nd2 only", left)
	}
	hl := linkNames(t, hh)
	back, ok := hl["nd0"]
	if !ok {
		t.Fatalf("nd0 not back on the host: %v", hl)
	}
	if back.Attrs().Flags&net.FlagUp == 0 {
		t.Error("nd0 was up before the container and is down after")
	}
	if got := addrStrings(t, hh, back); strings.Join(got, " ") != "198.51.100.7/24" {
		t.Errorf("nd0 addresses after reclaim: %v", got)
	}
	if l, ok := hl["nd1"]; !ok || l.Attrs().Flags&net.FlagUp != 0 {
		t.Errorf("nd1 back: %v, and down as it was: %+v", ok, l)
	}
	cl := linkNames(t, ch)
	for _, n := range []string{"eth1", "net0"} {
		if _, ok := cl[n]; ok {
			t.Errorf("%s still in the container netns", n)
		}
	}
	if _, ok := cl["mine0"]; !ok {
		t.Error("the renamed device was taken out")
	}

	// Again: nothing left to move, nothing done.
	left, err = reclaimIn(t, host, moved[:2], ctr)
	if err != nil || len(left) != 2 {
		t.Errorf("second reclaim: left %v, %v", left, err)
	}

	// The host name was taken meanwhile: the device stays, and the error
	// names the entry.
	moved, err = moveIn(host, map[string]specs.LinuxNetDevice{"nd1": {Name: "c1"}}, ctr)
	if err != nil {
		t.Fatal(err)
	}
	if err := hh.LinkAdd(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "nd1", TxQLen: -1}}); err != nil {
		t.Fatal(err)
	}
	left, err = reclaimIn(t, host, moved, ctr)
	if err == nil || !strings.Contains(err.Error(), `network: linux.netDevices["nd1"]: cannot move c1 back: its host name nd1 is now taken`) || len(left) != 1 {
		t.Errorf("host name taken: left %v, %v", left, err)
	}
	if _, ok := linkNames(t, ch)["c1"]; !ok {
		t.Error("c1 left the container although its host name was taken")
	}
}

func TestCheckNetDevices(t *testing.T) {
	ok := map[string]specs.LinuxNetDevice{"nd0": {Name: "data0"}, "nd1": {Name: "eth%d"}, "nd2": {}}
	if err := CheckNetDevices(ok, &Config{Bridge: "br0"}); err != nil {
		t.Errorf("valid entries: %v", err)
	}
	if err := CheckNetDevices(nil, &Config{Bridge: "br0"}); err != nil {
		t.Errorf("no entries: %v", err)
	}
	for _, tc := range []struct {
		devs map[string]specs.LinuxNetDevice
		cfg  *Config
		want string
	}{
		{map[string]specs.LinuxNetDevice{"nd0": {Name: "ctr0"}}, &Config{Bridge: "br0", IfName: "ctr0"},
			`network: annotation berth.net.ifname "ctr0": linux.netDevices["nd0"] moves an interface in under that name`},
		{map[string]specs.LinuxNetDevice{"eth0": {}}, &Config{Bridge: "br0"},
			`network: annotation berth.net.ifname "eth0" (the default): linux.netDevices["eth0"] moves an interface in under that name`},
		{map[string]specs.LinuxNetDevice{"a": {Name: "x0"}, "b": {Name: "x0"}}, nil,
			`network: linux.netDevices["b"]: name "x0" is also given to linux.netDevices["a"]`},
		{map[string]specs.LinuxNetDevice{"a": {Name: "x%d%d"}}, nil,
			`network: linux.netDevices["a"]: name "x%d%d": only one %d template is allowed in an interface name`},
	} {
		if err := CheckNetDevices(tc.devs, tc.cfg); err == nil || err.Error() != tc.want {
			t.Errorf("%v %+v: got %v\nwant %s", tc.devs, tc.cfg, err, tc.want)
		}
	}
	// Without the built-in network eth0 is free.
	if err := CheckNetDevices(map[string]specs.LinuxNetDevice{"eth0": {}}, nil); err != nil {
		t.Errorf("eth0 without a bridge: %v", err)
	}
}
