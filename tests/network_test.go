package tests

import (
	"fmt"
	"os"
	"os/exec"
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

// TestNetDevices moves an interface of the test's host namespace into the
// container under a new name; virtual ones die with the container's netns
// (the spec forbids moving it back out while the container lives).
func TestNetDevices(t *testing.T) {
	r, ns := netRuntime(t)
	if out, err := exec.Command("ip", "-n", ns, "link", "add", "hostif0", "type", "veth", "peer", "name", "hostif1").CombinedOutput(); err != nil {
		t.Fatalf("make a test interface: %v: %s", err, out)
	}
	exec.Command("ip", "-n", ns, "addr", "add", "192.0.2.5/24", "dev", "hostif0").Run()
	b := newShBundle(t, "ip -o addr show ctr0")
	b.spec.Linux.NetDevices = map[string]specs.LinuxNetDevice{"hostif0": {Name: "ctr0"}}
	out := r.mustRunContainer(b)
	if !strings.Contains(out, "ctr0") || !strings.Contains(out, "192.0.2.5/24") {
		t.Errorf("netDevices: inside the container: %q, want ctr0 with 192.0.2.5/24", out)
	}
	if l := links(t, ns); strings.Contains(l, "hostif0") {
		t.Errorf("hostif0 still in the host namespace while/after it was moved:\n%s", l)
	}
}
