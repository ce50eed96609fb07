package network

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

func setupIn(host *testNS, root, id string, cfg *Config, ctr *testNS) (*Result, error) {
	var r *Result
	err := host.do(func() (err error) {
		r, err = Setup(root, id, cfg, ctr.path)
		return err
	})
	return r, err
}

func teardownIn(host *testNS, root string, r *Result) error {
	return host.do(func() error { return Teardown(root, r) })
}

// exchange listens in srv on ip, dials from cli and checks a round trip.
func exchange(t *testing.T, srv *testNS, ip string, cli *testNS) {
	t.Helper()
	var ln net.Listener
	srv.mustDo(t, "listen", func() (err error) {
		ln, err = net.Listen("tcp4", net.JoinHostPort(ip, "0"))
		return err
	})
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		b := make([]byte, 4)
		if _, err := io.ReadFull(c, b); err == nil && string(b) == "ping" {
			c.Write([]byte("pong"))
		}
	}()
	cli.mustDo(t, "dial "+ln.Addr().String(), func() error {
		c, err := net.DialTimeout("tcp4", ln.Addr().String(), 5*time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Write([]byte("ping")); err != nil {
			return err
		}
		b := make([]byte, 4)
		if _, err := io.ReadFull(c, b); err != nil {
			return err
		}
		if string(b) != "pong" {
			return fmt.Errorf("got %q", b)
		}
		return nil
	})
}

func TestSetupTwoContainers(t *testing.T) {
	host, a, b := newNS(t), newNS(t), newNS(t)
	root := t.TempDir()
	ra, err := setupIn(host, root, "a", &Config{Bridge: "berth0"}, a)
	if err != nil {
		t.Fatal(err)
	}
	rb, err := setupIn(host, root, "b", &Config{Bridge: "berth0", MTU: 1400, MAC: "02:00:00:00:be:01", IfName: "net0"}, b)
	if err != nil {
		t.Fatal(err)
	}
	hostA, _ := vethNames(root, "a")
	if ra.Address != "10.77.0.2/16" || ra.Gateway != "10.77.0.1" || !ra.BridgeCreated || ra.HostVeth != hostA || ra.IfName != "eth0" || ra.MTU != 1500 {
		t.Errorf("result a: %+v", ra)
	}
	if rb.Address != "10.77.0.3/16" || rb.BridgeCreated || rb.MAC != "02:00:00:00:be:01" || rb.MTU != 1400 || rb.IfName != "net0" {
		t.Errorf("result b: %+v", rb)
	}
	if _, err := json.Marshal(rb); err != nil {
		t.Error(err)
	}

	// Host side: the bridge holds the gateway, both veths are up ports.
	hh := host.nl(t)
	links := linkNames(t, hh)
	br, ok := links["berth0"]
	if !ok || br.Type() != "bridge" || br.Attrs().Flags&net.FlagUp == 0 {
		t.Fatalf("bridge berth0: %+v", br)
	}
	addrs, _ := hh.AddrList(br, netlink.FAMILY_V4)
	if len(addrs) != 1 || addrs[0].IPNet.String() != "10.77.0.1/16" {
		t.Errorf("bridge addresses %v, want 10.77.0.1/16", addrs)
	}
	for _, r := range []*Result{ra, rb} {
		v, ok := links[r.HostVeth]
		if !ok {
			t.Fatalf("no host veth %s", r.HostVeth)
		}
		if v.Type() != "veth" || v.Attrs().MasterIndex != br.Attrs().Index || v.Attrs().Flags&net.FlagUp == 0 || v.Attrs().MTU != r.MTU {
			t.Errorf("host veth %s: type %s master %d (bridge %d) flags %v mtu %d", r.HostVeth, v.Type(), v.Attrs().MasterIndex, br.Attrs().Index, v.Attrs().Flags, v.Attrs().MTU)
		}
	}

	// Container side: name, address, MAC, MTU, up, lo up, default route.
	for _, c := range []struct {
		ns *testNS
		r  *Result
	}{{a, ra}, {b, rb}} {
		h := c.ns.nl(t)
		ls := linkNames(t, h)
		if len(ls) != 2 {
			t.Errorf("container %s has links %v, want lo and %s", c.r.ID, ls, c.r.IfName)
		}
		l, ok := ls[c.r.IfName]
		if !ok {
			t.Fatalf("container %s: no %s in %v", c.r.ID, c.r.IfName, ls)
		}
		if l.Attrs().Flags&net.FlagUp == 0 || l.Attrs().MTU != c.r.MTU || l.Attrs().HardwareAddr.String() != c.r.MAC {
			t.Errorf("container %s %s: flags %v mtu %d mac %s", c.r.ID, c.r.IfName, l.Attrs().Flags, l.Attrs().MTU, l.Attrs().HardwareAddr)
		}
		if ls["lo"].Attrs().Flags&net.FlagUp == 0 {
			t.Errorf("container %s: lo is down", c.r.ID)
		}
		as, _ := h.AddrList(l, netlink.FAMILY_V4)
		if len(as) != 1 || as[0].IPNet.String() != c.r.Address {
			t.Errorf("container %s addresses %v, want %s", c.r.ID, as, c.r.Address)
		}
		routes, _ := h.RouteList(l, netlink.FAMILY_V4)
		var def bool
		for _, rt := range routes {
			if (rt.Dst == nil || rt.Dst.String() == "0.0.0.0/0") && rt.Gw.String() == "10.77.0.1" {
				def = true
			}
		}
		if !def {
			t.Errorf("container %s: no default route via 10.77.0.1 in %v", c.r.ID, routes)
		}
	}

	// Traffic: container to container, and container to the gateway.
	exchange(t, a, strings.Split(ra.Address, "/")[0], b)
	exchange(t, b, strings.Split(rb.Address, "/")[0], a)
	exchange(t, host, "10.77.0.1", a)

	// Teardown a: its veth and address go, the bridge stays for b.
	if err := teardownIn(host, root, ra); err != nil {
		t.Fatal(err)
	}
	links = linkNames(t, hh)
	if _, ok := links[ra.HostVeth]; ok {
		t.Error("host veth of a left after teardown")
	}
	if _, ok := links["berth0"]; !ok {
		t.Error("bridge removed while b is attached")
	}
	if _, ok := linkNames(t, a.nl(t))["eth0"]; ok {
		t.Error("eth0 of a outlived its host end")
	}
	if _, err := os.Stat(filepath.Join(root, netDirName, "berth0", "addrs", "10.77.0.2")); !os.IsNotExist(err) {
		t.Errorf("address of a not freed: %v", err)
	}
	// Teardown b, the last one: the bridge berth created goes too.
	if err := teardownIn(host, root, rb); err != nil {
		t.Fatal(err)
	}
	assertClean(t, host, root, "berth0")
	// Again, as a delete --force after a half-done delete would.
	if err := teardownIn(host, root, rb); err != nil {
		t.Fatalf("second teardown: %v", err)
	}
}

// assertClean checks the host netns has nothing but lo and the bridge's
// state holds no address.
func assertClean(t *testing.T, host *testNS, root, bridge string) {
	t.Helper()
	for name := range linkNames(t, host.nl(t)) {
		if name != "lo" {
			t.Errorf("interface %s left in host netns", name)
		}
	}
	left, _ := filepath.Glob(filepath.Join(root, netDirName, bridge, "addrs", "*"))
	if len(left) > 0 {
		t.Errorf("allocations left: %v", left)
	}
	if _, err := os.Stat(filepath.Join(root, netDirName, bridge, "created")); !os.IsNotExist(err) {
		t.Errorf("bridge ownership record left: %v", err)
	}
}

func TestSetupExplicitAddressAndExistingBridge(t *testing.T) {
	host, a, b := newNS(t), newNS(t), newNS(t)
	root := t.TempDir()
	hh := host.nl(t)
	// A bridge berth did not create, with an address of its own.
	if err := hh.LinkAdd(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "lan0", TxQLen: -1}}); err != nil {
		t.Fatal(err)
	}
	br, _ := hh.LinkByName("lan0")
	if err := hh.AddrAdd(br, &netlink.Addr{IPNet: mustCIDR(t, "192.168.50.1/24")}); err != nil {
		t.Fatal(err)
	}
	hh.LinkSetUp(br)
	ra, err := setupIn(host, root, "a", &Config{Bridge: "lan0", Address: "192.168.50.40"}, a)
	if err != nil {
		t.Fatal(err)
	}
	if ra.Address != "192.168.50.40/24" || ra.Gateway != "192.168.50.1" || ra.BridgeCreated {
		t.Fatalf("result %+v", ra)
	}
	// The same address for another container is refused, naming the owner.
	_, err = setupIn(host, root, "b", &Config{Bridge: "lan0", Address: "192.168.50.40/24"}, b)
	if err == nil || err.Error() != `network: annotation berth.net.address 192.168.50.40: address in use by container "a" on bridge lan0` {
		t.Fatalf("duplicate address: %v", err)
	}
	if _, ok := linkNames(t, b.nl(t))["eth0"]; ok {
		t.Error("failed setup left eth0 in the container")
	}
	exchange(t, host, "192.168.50.1", a)
	if err := teardownIn(host, root, ra); err != nil {
		t.Fatal(err)
	}
	// Not berth's bridge: it stays.
	ls := linkNames(t, hh)
	if _, ok := ls["lan0"]; !ok {
		t.Fatal("teardown removed a bridge berth did not create")
	}
	if len(ls) != 2 {
		t.Errorf("host links after teardown: %v", ls)
	}
}

// withDefaultRoute gives the container netns an interface with an address
// and a default route, so that Setup fails at its very last step.
func withDefaultRoute(t *testing.T, ctr *testNS) {
	t.Helper()
	h := ctr.nl(t)
	if err := h.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "up0", TxQLen: -1}, PeerName: "up1", PeerTxQLen: -1}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"up0", "up1"} {
		l, err := h.LinkByName(n)
		if err == nil {
			err = h.LinkSetUp(l)
		}
		if err != nil {
			t.Fatalf("set %s up: %v", n, err)
		}
	}
	up0, _ := h.LinkByName("up0")
	if err := h.AddrAdd(up0, &netlink.Addr{IPNet: mustParseIPNet(t, "198.18.0.2/24")}); err != nil {
		t.Fatal(err)
	}
	if err := h.RouteAdd(&netlink.Route{LinkIndex: up0.Attrs().Index, Gw: net.ParseIP("198.18.0.1")}); err != nil {
		t.Fatalf("default route in the container netns: %v", err)
	}
}

func TestSetupRollsBack(t *testing.T) {
	host, a := newNS(t), newNS(t)
	root := t.TempDir()
	// The container already has a default route: the last step fails after
	// the bridge, address and veth were made, and all of it must be undone.
	withDefaultRoute(t, a)
	ah := a.nl(t)
	_, err := setupIn(host, root, "a", &Config{Bridge: "berth0"}, a)
	want := "network: add default route via 10.77.0.1 dev eth0 in container netns (annotation berth.net.gateway): file exists"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
	assertClean(t, host, root, "berth0")
	if ls := linkNames(t, ah); len(ls) != 3 {
		t.Errorf("container links after rollback: %v, want lo up0 up1", ls)
	}

	// The container end's name is taken (by a linux.netDevices entry moved
	// in before): refused before anything is made.
	if err := ah.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "eth0", TxQLen: -1}, PeerName: "other0", PeerTxQLen: -1}); err != nil {
		t.Fatal(err)
	}
	_, err = setupIn(host, root, "a", &Config{Bridge: "berth0"}, a)
	want = `network: annotation berth.net.ifname "eth0": an interface of that name already exists in the container netns (a linux.netDevices entry?)`
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
	assertClean(t, host, root, "berth0")
	if eth0, err := ah.LinkByName("eth0"); err != nil || ah.LinkDel(eth0) != nil {
		t.Fatalf("remove eth0: %v", err)
	}

	// Not a bridge under the bridge's name.
	hh := host.nl(t)
	if err := hh.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "notbr", TxQLen: -1}, PeerName: "notbr1", PeerTxQLen: -1}); err != nil {
		t.Fatal(err)
	}
	_, err = setupIn(host, root, "a", &Config{Bridge: "notbr"}, a)
	if err == nil || !strings.Contains(err.Error(), `annotation berth.net.bridge "notbr": the host interface of that name is a veth, not a bridge`) {
		t.Fatalf("non-bridge: %v", err)
	}

	// A netns path that is not one.
	_, err = setupIn(host, root, "a", &Config{Bridge: "berth0"}, &testNS{path: "/nonexistent/ns"})
	if err == nil || !strings.Contains(err.Error(), "open container netns /nonexistent/ns: no such file or directory") {
		t.Fatalf("bad ns path: %v", err)
	}
}

// A subnet another host interface has addresses in is refused, naming
// where it came from, before anything is made; a subnet inside the
// bridge's own is the bridge owner's choice.
func TestSetupRefusesOverlap(t *testing.T) {
	host, a := newNS(t), newNS(t)
	root := t.TempDir()
	hh := host.nl(t)
	other := addVeth(t, hh, "uplink0")
	if err := hh.AddrAdd(other, &netlink.Addr{IPNet: mustParseIPNet(t, "10.77.128.5/17")}); err != nil {
		t.Fatal(err)
	}
	if err := hh.AddrAdd(other, &netlink.Addr{IPNet: mustParseIPNet(t, "172.20.0.1/16")}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Bridge: "berth0"}, "network: the default gateway 10.77.0.1/16 (annotation berth.net.gateway picks another): subnet 10.77.0.0/16 overlaps 10.77.128.0/17 of host interface uplink0 (address 10.77.128.5/17)"},
		{Config{Bridge: "berth0", Gateway: "172.20.3.1/24"}, "network: annotation berth.net.gateway 172.20.3.1/24: subnet 172.20.3.0/24 overlaps 172.20.0.0/16 of host interface uplink0 (address 172.20.0.1/16)"},
		{Config{Bridge: "berth0", Gateway: "172.0.0.1/8"}, "network: annotation berth.net.gateway 172.0.0.1/8: subnet 172.0.0.0/8 overlaps 172.20.0.0/16 of host interface uplink0 (address 172.20.0.1/16)"},
	} {
		_, err := setupIn(host, root, "a", &tc.cfg, a)
		if err == nil || err.Error() != tc.want {
			t.Errorf("%+v: got %v\nwant %s", tc.cfg, err, tc.want)
		}
		if _, ok := linkNames(t, hh)["berth0"]; ok {
			t.Fatalf("%+v: a refused setup created the bridge", tc.cfg)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(root, netDirName, "berth0", "addrs", "*")); len(left) > 0 {
		t.Errorf("allocations left: %v", left)
	}

	// An existing bridge holding an address in that range: its subnet is
	// taken as it is.
	if err := hh.LinkAdd(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "lan0", TxQLen: -1}}); err != nil {
		t.Fatal(err)
	}
	lan, _ := hh.LinkByName("lan0")
	if err := hh.AddrAdd(lan, &netlink.Addr{IPNet: mustParseIPNet(t, "172.20.9.1/24")}); err != nil {
		t.Fatal(err)
	}
	hh.LinkSetUp(lan)
	r, err := setupIn(host, root, "a", &Config{Bridge: "lan0"}, a)
	if err != nil {
		t.Fatalf("bridge's own subnet: %v", err)
	}
	if err := teardownIn(host, root, r); err != nil {
		t.Fatal(err)
	}
}

// A berth killed after Setup, and a container whose netns died with its
// init: Teardown from the planned result still frees everything.
func TestTeardownAfterCrash(t *testing.T) {
	host, a := newNS(t), newNS(t)
	root := t.TempDir()
	cfg := &Config{Bridge: "berth0"}
	if _, err := setupIn(host, root, "a", cfg, a); err != nil {
		t.Fatal(err)
	}
	a.h.Close() // the container's netns dies; its veth end takes the host end along
	if err := teardownIn(host, root, Planned(root, "a", cfg)); err != nil {
		t.Fatal(err)
	}
	assertClean(t, host, root, "berth0")
	// Planned teardown of a container that never got its network.
	if err := teardownIn(host, root, Planned(root, "never", cfg)); err != nil {
		t.Fatal(err)
	}
	if err := Teardown(root, nil); err != nil {
		t.Fatal(err)
	}
}

func TestSetupTwentyConcurrent(t *testing.T) {
	host := newNS(t)
	root := t.TempDir()
	const n = 20
	ctrs := make([]*testNS, n)
	for i := range ctrs {
		ctrs[i] = newNS(t)
	}
	results := make([]*Result, n)
	var wg sync.WaitGroup
	for i := range ctrs {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			r, err := setupIn(host, root, fmt.Sprintf("c%02d", i), &Config{Bridge: "berth0"}, ctrs[i])
			if err != nil {
				t.Error(err)
			}
			results[i] = r
		}(i)
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	seen := map[string]bool{}
	created := 0
	for _, r := range results {
		if seen[r.Address] {
			t.Errorf("address %s given twice", r.Address)
		}
		seen[r.Address] = true
		if r.BridgeCreated {
			created++
		}
	}
	if created != 1 {
		t.Errorf("%d setups report creating the bridge, want 1", created)
	}
	hh := host.nl(t)
	br, err := hh.LinkByName("berth0")
	if err != nil {
		t.Fatal(err)
	}
	ports := 0
	for _, l := range linkNames(t, hh) {
		if l.Attrs().MasterIndex == br.Attrs().Index {
			ports++
		}
	}
	if ports != n {
		t.Errorf("bridge has %d ports, want %d", ports, n)
	}
	exchange(t, ctrs[0], strings.Split(results[0].Address, "/")[0], ctrs[n-1])

	for _, r := range results {
		wg.Add(1)
		go func(r *Result) {
			defer wg.Done()
			if err := teardownIn(host, root, r); err != nil {
				t.Error(err)
			}
		}(r)
	}
	wg.Wait()
	assertClean(t, host, root, "berth0")
}

// errno survives the wrapping, for callers that branch on it.
func TestSetupErrorUnwraps(t *testing.T) {
	host, a := newNS(t), newNS(t)
	root := t.TempDir()
	withDefaultRoute(t, a)
	_, err := setupIn(host, root, "x", &Config{Bridge: "berth0"}, a)
	if !errors.Is(err, unix.EEXIST) {
		t.Fatalf("error %v does not unwrap to EEXIST", err)
	}
}

// A bridge berth created, deleted behind its back and made again by
// someone else under the same name, is not berth's to remove.
func TestTeardownLeavesReplacedBridge(t *testing.T) {
	host, a := newNS(t), newNS(t)
	root := t.TempDir()
	ra, err := setupIn(host, root, "a", &Config{Bridge: "berth0"}, a)
	if err != nil {
		t.Fatal(err)
	}
	hh := host.nl(t)
	old, _ := hh.LinkByName("berth0")
	if err := hh.LinkDel(old); err != nil {
		t.Fatal(err)
	}
	if err := hh.LinkAdd(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "berth0", TxQLen: -1}}); err != nil {
		t.Fatal(err)
	}
	if err := teardownIn(host, root, ra); err != nil {
		t.Fatal(err)
	}
	if _, err := hh.LinkByName("berth0"); err != nil {
		t.Fatalf("someone else's bridge was removed: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, netDirName, "berth0", "created")); !os.IsNotExist(err) {
		t.Errorf("stale ownership record kept: %v", err)
	}
}

// As berth calls it: the netns of a blocked process, by /proc/<pid>/ns/net.
// Killing the process takes its netns and the veth pair with it.
func TestSetupProcNetNS(t *testing.T) {
	host := newNS(t)
	root := t.TempDir()
	cmd := exec.Command("sleep", "60")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWNET}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	nsPath := fmt.Sprintf("/proc/%d/ns/net", cmd.Process.Pid)
	var r *Result
	host.mustDo(t, "setup", func() (err error) {
		r, err = Setup(root, "p", &Config{Bridge: "berth0", Address: "10.77.9.9/16"}, nsPath)
		return err
	})
	pns, err := netns.GetFromPath(nsPath)
	if err != nil {
		t.Fatal(err)
	}
	ph, err := netlink.NewHandleAt(pns)
	pns.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer ph.Close()
	eth0, err := ph.LinkByName("eth0")
	if err != nil {
		t.Fatalf("eth0 in the process's netns: %v", err)
	}
	if as, _ := ph.AddrList(eth0, netlink.FAMILY_V4); len(as) != 1 || as[0].IPNet.String() != "10.77.9.9/16" {
		t.Errorf("addresses %v", as)
	}
	ph.Close()
	cmd.Process.Kill()
	cmd.Wait()
	if err := teardownIn(host, root, r); err != nil {
		t.Fatal(err)
	}
	assertClean(t, host, root, "berth0")
}
