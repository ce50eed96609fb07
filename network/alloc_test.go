package network

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestAllocateSkipsReservedAndFills(t *testing.T) {
	root := t.TempDir()
	lk, err := lockBridge(root, "br0")
	if err != nil {
		t.Fatal(err)
	}
	defer lk.unlock()
	subnet := mustCIDR(t, "192.0.2.0/29") // hosts .1-.6, .0 network, .7 broadcast
	subnet.IP = subnet.IP.Mask(subnet.Mask)
	gw := net.ParseIP("192.0.2.1")
	var got []string
	for i := 0; i < 5; i++ {
		ip, err := lk.allocate(fmt.Sprintf("c%d", i), subnet, []net.IP{gw})
		if err != nil {
			t.Fatalf("allocation %d: %v", i, err)
		}
		got = append(got, ip.String())
	}
	if want := "192.0.2.2 192.0.2.3 192.0.2.4 192.0.2.5 192.0.2.6"; strings.Join(got, " ") != want {
		t.Fatalf("allocated %v, want %s", got, want)
	}
	if _, err := lk.allocate("c5", subnet, []net.IP{gw}); err == nil || !strings.Contains(err.Error(), "no free address left in subnet 192.0.2.0/29 of bridge br0") {
		t.Fatalf("full subnet: %v", err)
	}
	if who, _ := lk.owner(net.ParseIP("192.0.2.4")); who != "c2" {
		t.Fatalf("owner of .4 is %q, want c2", who)
	}
	// Another container's address is not freed by a wrong id.
	if err := lk.release("nobody"); err != nil {
		t.Fatal(err)
	}
	if err := lk.release("c1"); err != nil {
		t.Fatal(err)
	}
	if ip, err := lk.allocate("c6", subnet, []net.IP{gw}); err != nil || ip.String() != "192.0.2.3" {
		t.Fatalf("after freeing .3: got %v %v", ip, err)
	}
	if err := lk.reserve("c7", net.ParseIP("192.0.2.5")); err == nil || !strings.Contains(err.Error(), `berth.net.address 192.0.2.5: address in use by container "c3"`) {
		t.Fatalf("reserve taken address: %v", err)
	}
	if err := lk.reserve("c3", net.ParseIP("192.0.2.5")); err != nil {
		t.Fatalf("reserve own address again: %v", err)
	}
}

func TestAllocateStartsAfterLast(t *testing.T) {
	root := t.TempDir()
	lk, err := lockBridge(root, "br0")
	if err != nil {
		t.Fatal(err)
	}
	defer lk.unlock()
	subnet := &net.IPNet{IP: net.ParseIP("10.9.0.0").To4(), Mask: net.CIDRMask(24, 32)}
	a, _ := lk.allocate("a", subnet, nil)
	b, _ := lk.allocate("b", subnet, nil)
	lk.release("a")
	c, err := lk.allocate("c", subnet, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a.String() != "10.9.0.1" || b.String() != "10.9.0.2" || c.String() != "10.9.0.3" {
		t.Fatalf("got %s %s %s: a freed address must not be reused at once", a, b, c)
	}
}

// Twenty goroutines, each with its own open of the lock file, as twenty
// berth processes would have.
func TestAllocateConcurrentGoroutines(t *testing.T) {
	root := t.TempDir()
	subnet := &net.IPNet{IP: net.ParseIP("10.77.0.0").To4(), Mask: net.CIDRMask(16, 32)}
	var mu sync.Mutex
	seen := map[string]string{}
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(id string) {
			defer wg.Done()
			lk, err := lockBridge(root, "br0")
			if err != nil {
				t.Error(err)
				return
			}
			defer lk.unlock()
			ip, err := lk.allocate(id, subnet, []net.IP{net.ParseIP("10.77.0.1")})
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if other, dup := seen[ip.String()]; dup {
				t.Errorf("%s given to %s and %s", ip, other, id)
			}
			seen[ip.String()] = id
		}(fmt.Sprintf("c%02d", i))
	}
	wg.Wait()
	if len(seen) != 20 {
		t.Fatalf("%d distinct addresses, want 20", len(seen))
	}
}

const allocHelperEnv = "BERTH_NETWORK_ALLOC_HELPER"

// TestAllocateHelperProcess is one "berth process" of
// TestAllocateConcurrentProcesses; it does nothing in a normal run.
func TestAllocateHelperProcess(t *testing.T) {
	v := os.Getenv(allocHelperEnv)
	if v == "" {
		t.Skip("helper for TestAllocateConcurrentProcesses")
	}
	root, id, _ := strings.Cut(v, ",")
	lk, err := lockBridge(root, "br0")
	if err != nil {
		t.Fatal(err)
	}
	defer lk.unlock()
	ip, err := lk.allocate(id, &net.IPNet{IP: net.ParseIP("10.77.0.0").To4(), Mask: net.CIDRMask(16, 32)}, []net.IP{net.ParseIP("10.77.0.1")})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("ALLOCATED %s\n", ip)
}

func TestAllocateConcurrentProcesses(t *testing.T) {
	root := t.TempDir()
	cmds := make([]*exec.Cmd, 20)
	outs := make([]*strings.Builder, 20)
	for i := range cmds {
		outs[i] = &strings.Builder{}
		cmds[i] = exec.Command(os.Args[0], "-test.run=^TestAllocateHelperProcess$", "-test.v")
		cmds[i].Env = append(os.Environ(), fmt.Sprintf("%s=%s,p%02d", allocHelperEnv, root, i))
		cmds[i].Stdout = outs[i]
		cmds[i].Stderr = outs[i]
		if err := cmds[i].Start(); err != nil {
			t.Fatal(err)
		}
	}
	// Reap every helper before judging, so none is left writing into the
	// temporary directory while the test removes it.
	errs := make([]error, len(cmds))
	for i, c := range cmds {
		errs[i] = c.Wait()
	}
	seen := map[string]int{}
	for i := range cmds {
		if errs[i] != nil {
			t.Fatalf("helper %d: %v\n%s", i, errs[i], outs[i])
		}
		found := false
		sc := bufio.NewScanner(strings.NewReader(outs[i].String()))
		for sc.Scan() {
			if ip, ok := strings.CutPrefix(sc.Text(), "ALLOCATED "); ok {
				if j, dup := seen[ip]; dup {
					t.Errorf("%s given to helpers %d and %d", ip, j, i)
				}
				seen[ip] = i
				found = true
			}
		}
		if !found {
			t.Fatalf("helper %d printed no address:\n%s", i, outs[i])
		}
	}
	files, _ := filepath.Glob(filepath.Join(root, netDirName, "br0", "addrs", "10.77.*"))
	if len(seen) != 20 || len(files) != 20 {
		t.Fatalf("%d distinct addresses and %d allocation files, want 20 and 20", len(seen), len(files))
	}
}
