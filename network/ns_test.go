package network

import (
	"fmt"
	"os"
	"runtime"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// The tests never touch the machine's own interfaces: every bridge, veth and
// address lives in a network namespace a test made, and closing the
// namespace's last handle destroys it with all its virtual interfaces.

// testNS is a network namespace owned by one test.
type testNS struct {
	h    netns.NsHandle
	path string
}

func newNS(t *testing.T) *testNS {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create network namespaces")
	}
	type out struct {
		h   netns.NsHandle
		err error
	}
	c := make(chan out, 1)
	go func() {
		// Never unlocked: the thread, now in the new namespace, exits with
		// this goroutine instead of going back to the scheduler.
		runtime.LockOSThread()
		h, err := netns.New()
		c <- out{h, err}
	}()
	o := <-c
	if o.err != nil {
		t.Fatalf("unshare network namespace: %v", o.err)
	}
	n := &testNS{h: o.h, path: fmt.Sprintf("/proc/%d/fd/%d", os.Getpid(), int(o.h))}
	t.Cleanup(func() { n.h.Close() })
	return n
}

// do runs fn on a thread inside the namespace, as if the process lived there.
func (n *testNS) do(fn func() error) error {
	c := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: see newNS
		if err := netns.Set(n.h); err != nil {
			c <- fmt.Errorf("setns: %w", err)
			return
		}
		c <- fn()
	}()
	return <-c
}

// nl is a netlink handle inside the namespace for checking what is there.
func (n *testNS) nl(t *testing.T) *netlink.Handle {
	t.Helper()
	h, err := netlink.NewHandleAt(n.h)
	if err != nil {
		t.Fatalf("netlink handle in test netns: %v", err)
	}
	t.Cleanup(h.Close)
	return h
}

func (n *testNS) mustDo(t *testing.T, what string, fn func() error) {
	t.Helper()
	if err := n.do(fn); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// linkNames lists the interfaces in a namespace.
func linkNames(t *testing.T, h *netlink.Handle) map[string]netlink.Link {
	t.Helper()
	ls, err := h.LinkList()
	if err != nil {
		t.Fatalf("list links: %v", err)
	}
	m := map[string]netlink.Link{}
	for _, l := range ls {
		m[l.Attrs().Name] = l
	}
	return m
}
