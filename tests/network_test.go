package tests

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// netRuntime gives berth a network namespace of the test's own as its
// "host" side: bridges and veths appear there, never in the real host's.
func netRuntime(t *testing.T) (*runtime, string) {
	t.Helper()
	r := newRuntime(t)
	name := fmt.Sprintf("berth-t%d-%d", os.Getpid(), idSeq.Add(1))
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v: %s (apt-get install iproute2)", name, err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", name).Run() })
	r.wrap = []string{"nsenter", "--net=/run/netns/" + name}
	return r, name
}

func links(t *testing.T, ns string) string {
	out, err := exec.Command("ip", "-n", ns, "-o", "link").CombinedOutput()
	if err != nil {
		t.Fatalf("ip -n %s link: %v: %s", ns, err, out)
	}
	return string(out)
}

func withNetRaw(b *bundle) {
	c := b.spec.Process.Capabilities
	c.Bounding = append(c.Bounding, "CAP_NET_RAW")
	c.Effective = append(c.Effective, "CAP_NET_RAW")
	c.Permitted = append(c.Permitted, "CAP_NET_RAW")
}

func TestNetworkBridge(t *testing.T) {
	r, ns := netRuntime(t)
	server := r.create(newBundle(t, "nc", "-l", "-p", "8080", "-e", "cat"),
		"--net-bridge", "bbr0", "--net-address", "10.77.0.10/16", "--net-mtu", "1400", "--net-mac", "02:00:00:00:00:0a")
	server.start()

	st := r.mustRun("state", server.id).stdout
	if !strings.Contains(st, `"address": "10.77.0.10/16"`) || !strings.Contains(st, `"bridge": "bbr0"`) {
		t.Errorf("state does not show the network: %s", st)
	}
	inside := r.mustRun("exec", server.id, "sh", "-c", "ip -o addr show eth0; ip -o link show eth0; ip route").stdout
	for _, want := range []string{"10.77.0.10/16", "mtu 1400", "02:00:00:00:00:0a", "default via 10.77.0.1 dev eth0"} {
		if !strings.Contains(inside, want) {
			t.Errorf("container network lacks %q:\n%s", want, inside)
		}
	}

	client := newShBundle(t, "ping -c1 -W3 10.77.0.10 >/dev/null && ping -c1 -W3 10.77.0.1 >/dev/null && echo ping-ok; echo hello-tcp | nc -w 3 10.77.0.10 8080")
	withNetRaw(client)
	out := r.mustRunContainer(client, "--net-bridge", "bbr0")
	if !strings.Contains(out, "ping-ok") || !strings.Contains(out, "hello-tcp") {
		t.Errorf("client: ping of the peer and gateway, TCP echo: got %q", out)
	}
	r.mustRun("delete", "-f", server.id)
	if l := links(t, ns); strings.Contains(l, "bbr0") || strings.Contains(l, "bv") {
		t.Errorf("after delete, links remain in the test host namespace:\n%s", l)
	}
}

func TestNetworkParallelAddresses(t *testing.T) {
	r, ns := netRuntime(t)
	const n = 20
	ids := make([]string, n)
	var wg sync.WaitGroup
	errs := make(chan string, n)
	for i := 0; i < n; i++ {
		b := newBundle(t, "sleep", "100")
		wg.Add(1)
		go func(i int, b *bundle) {
			defer wg.Done()
			c, res := r.tryCreate(b, "--net-bridge", "bpar0")
			if res.code != 0 {
				errs <- res.String()
				return
			}
			ids[i] = c.id
		}(i, b)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatalf("parallel create failed: %s", e)
	}
	seen := map[string]string{}
	for _, id := range ids {
		st := r.mustRun("state", id).stdout
		i := strings.Index(st, `"address": "`)
		if i < 0 {
			t.Fatalf("state of %s has no address: %s", id, st)
		}
		addr := strings.SplitN(st[i+len(`"address": "`):], `"`, 2)[0]
		if other, dup := seen[addr]; dup {
			t.Fatalf("address %s given to both %s and %s", addr, other, id)
		}
		seen[addr] = id
	}
	for _, id := range ids {
		r.mustRun("delete", "-f", id)
	}
	if l := links(t, ns); strings.Contains(l, "bpar0") || strings.Contains(l, "bv") {
		t.Errorf("after deleting all, links remain:\n%s", l)
	}
	if entries, _ := os.ReadDir(r.root + "/.network/bpar0/addrs"); len(entries) != 0 {
		t.Errorf("addresses still allocated after delete: %d", len(entries))
	}
}

// linkNames lists the interface names in ns ("eth0" of "2: eth0@if3: ...").
func linkNames(t *testing.T, ns string) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	for _, l := range lines(links(t, ns)) {
		f := strings.SplitN(l, ": ", 3)
		if len(f) < 2 {
			t.Fatalf("ip -o link: unexpected line %q", l)
		}
		names[strings.SplitN(f[1], "@", 2)[0]] = true
	}
	return names
}

// ipIn runs ip -n ns args and fails the test on error.
func ipIn(t *testing.T, ns string, args ...string) string {
	t.Helper()
	out, err := exec.Command("ip", append([]string{"-n", ns}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("ip -n %s %s: %v: %s", ns, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// addrs4 lists the IPv4 addresses in ns as "dev cidr" lines.
func addrs4(t *testing.T, ns string) string {
	t.Helper()
	var out []string
	for _, l := range lines(ipIn(t, ns, "-o", "-4", "addr")) {
		f := strings.Fields(l)
		if len(f) < 4 {
			t.Fatalf("ip -o addr: unexpected line %q", l)
		}
		out = append(out, f[1]+" "+f[3])
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

// testInterface makes name in ns with addr, up: a dummy where the kernel
// has the driver (the cgroup-v2 VM of tests/vm), else one end of a veth
// pair whose other end, name+"p", stays in ns.
func testInterface(t *testing.T, ns, name, addr string) (kind string) {
	t.Helper()
	kind = "dummy"
	if err := exec.Command("ip", "-n", ns, "link", "add", name, "type", "dummy").Run(); err != nil {
		kind = "veth"
		ipIn(t, ns, "link", "add", name, "type", "veth", "peer", "name", name+"p")
	}
	ipIn(t, ns, "addr", "add", addr, "dev", name)
	ipIn(t, ns, "link", "set", name, "up")
	return kind
}

// TestNetDevices moves an interface of the test's host namespace into the
// container under a new name; delete moves it back under its own name with
// its address, also a virtual one that would die with the container's
// netns.
func TestNetDevices(t *testing.T) {
	r, ns := netRuntime(t)
	kind := testInterface(t, ns, "hostif0", "192.0.2.5/24")
	t.Logf("test interface: %s", kind)
	b := newBundle(t, "sleep", "100")
	b.spec.Linux.NetDevices = map[string]specs.LinuxNetDevice{"hostif0": {Name: "ctr0"}}
	c := r.create(b)
	c.start()
	out := r.mustRun("exec", c.id, "ip", "-o", "addr", "show", "ctr0").stdout
	if !strings.Contains(out, "ctr0") || !strings.Contains(out, "192.0.2.5/24") {
		t.Errorf("netDevices (%s): inside the container: %q, want ctr0 with 192.0.2.5/24", kind, out)
	}
	if l := linkNames(t, ns); l["hostif0"] || l["ctr0"] {
		t.Errorf("hostif0 still in the host namespace while it was moved: %v", l)
	}

	r.mustRun("delete", "-f", c.id)
	l := linkNames(t, ns)
	if !l["hostif0"] || l["ctr0"] {
		t.Fatalf("after delete, the %s is not back as hostif0 in the test host namespace: %v", kind, l)
	}
	back := ipIn(t, ns, "-o", "addr", "show", "dev", "hostif0")
	if !strings.Contains(back, "inet 192.0.2.5/24") {
		t.Errorf("hostif0 back without its address: %q", back)
	}
	if up := ipIn(t, ns, "-o", "link", "show", "hostif0"); !strings.Contains(up, ",UP") {
		t.Errorf("hostif0 was up and is not after delete: %q", up)
	}
}

// TestNetworkBadInput: refused requests exit 1 with one line naming the
// annotation or field, and leave nothing: no state, no process, no link in
// the test host namespace, no address allocated, a moved device back.
func TestNetworkBadInput(t *testing.T) {
	for _, tc := range []struct {
		name string
		// prep readies the test host namespace and the bundle; it returns
		// the flags of create.
		prep func(t *testing.T, ns string, b *bundle) []string
		hint string
	}{
		{"address outside the default subnet", func(t *testing.T, ns string, b *bundle) []string {
			return []string{"--net-bridge", "bbad0", "--net-address", "10.99.0.5/16"}
		}, "annotation berth.net.address 10.99.0.5/16: outside subnet 10.77.0.0/16"},
		{"address outside the bridge's subnet", func(t *testing.T, ns string, b *bundle) []string {
			ipIn(t, ns, "link", "add", "lan0", "type", "bridge")
			ipIn(t, ns, "addr", "add", "10.60.0.1/24", "dev", "lan0")
			return []string{"--net-bridge", "lan0", "--net-address", "10.61.0.5/24"}
		}, "annotation berth.net.address 10.61.0.5/24: outside subnet 10.60.0.0/24"},
		{"gateway overlapping another bridge", func(t *testing.T, ns string, b *bundle) []string {
			ipIn(t, ns, "link", "add", "other0", "type", "bridge")
			ipIn(t, ns, "addr", "add", "10.50.0.1/16", "dev", "other0")
			return []string{"--net-bridge", "bnew0", "--net-gateway", "10.50.1.1/24"}
		}, "annotation berth.net.gateway 10.50.1.1/24: subnet 10.50.1.0/24 overlaps 10.50.0.0/16 of host interface other0"},
		{"default subnet taken by another bridge", func(t *testing.T, ns string, b *bundle) []string {
			ipIn(t, ns, "link", "add", "other0", "type", "bridge")
			ipIn(t, ns, "addr", "add", "10.77.0.1/16", "dev", "other0")
			return []string{"--net-bridge", "bnew0"}
		}, "(annotation berth.net.gateway picks another): subnet 10.77.0.0/16 overlaps 10.77.0.0/16 of host interface other0"},
		{"unknown netDevice", func(t *testing.T, ns string, b *bundle) []string {
			b.spec.Linux.NetDevices = map[string]specs.LinuxNetDevice{"nosuch0": {}}
			return nil
		}, `linux.netDevices["nosuch0"]: no interface "nosuch0" on the host`},
		{"two netDevices under one name", func(t *testing.T, ns string, b *bundle) []string {
			testInterface(t, ns, "hostif0", "192.0.2.5/24")
			testInterface(t, ns, "hostif1", "192.0.2.6/24")
			b.spec.Linux.NetDevices = map[string]specs.LinuxNetDevice{"hostif0": {Name: "dup0"}, "hostif1": {Name: "dup0"}}
			return nil
		}, `linux.netDevices["hostif1"]: name "dup0" is also given to linux.netDevices["hostif0"]`},
		{"ifname of a moved device", func(t *testing.T, ns string, b *bundle) []string {
			testInterface(t, ns, "hostif0", "192.0.2.5/24")
			b.spec.Linux.NetDevices = map[string]specs.LinuxNetDevice{"hostif0": {Name: "ctr0"}}
			return []string{"--net-bridge", "bdup0", "--net-ifname", "ctr0"}
		}, `annotation berth.net.ifname "ctr0"`},
		{"refused network after a device moved in", func(t *testing.T, ns string, b *bundle) []string {
			// The device moves before the veth is set up: the failed create
			// must bring it back.
			testInterface(t, ns, "hostif0", "192.0.2.5/24")
			b.spec.Linux.NetDevices = map[string]specs.LinuxNetDevice{"hostif0": {Name: "ctr0"}}
			ipIn(t, ns, "link", "add", "other0", "type", "bridge")
			ipIn(t, ns, "addr", "add", "10.50.0.1/16", "dev", "other0")
			return []string{"--net-bridge", "bnew0", "--net-gateway", "10.50.1.1/24"}
		}, "annotation berth.net.gateway 10.50.1.1/24: subnet 10.50.1.0/24 overlaps"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, ns := netRuntime(t)
			b := newBundle(t, "sleep", "100")
			flags := tc.prep(t, ns, b)
			linksBefore := linkNames(t, ns)
			addrsBefore := addrs4(t, ns)
			mounts := hostMounts()
			c, res := r.tryCreate(b, flags...)
			assertErrorLine(t, res, tc.hint)
			assertNothingLeft(t, r, c.id, mounts)
			if l := linkNames(t, ns); fmt.Sprint(l) != fmt.Sprint(linksBefore) {
				t.Errorf("links in the test host namespace: before %v, after %v", linksBefore, l)
			}
			if a := addrs4(t, ns); a != addrsBefore {
				t.Errorf("addresses in the test host namespace: before %q, after %q", addrsBefore, a)
			}
			if left, _ := filepath.Glob(filepath.Join(r.root, ".network", "*", "addrs", "*")); len(left) > 0 {
				t.Errorf("addresses still allocated: %v", left)
			}
		})
	}
}
