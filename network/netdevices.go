package network

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sort"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// MovedDevice records a linux.netDevices entry berth moved into a container,
// enough to give a physical device its host identity back after the kernel
// returns it. It is stored in the container's state.
type MovedDevice struct {
	HostName string `json:"hostName"`
	Name     string `json:"name"`  // in the container (a %d template resolved)
	Index    int    `json:"index"` // ifindex on the host before the move
	// Kind is the netlink link type; "device" is a physical device, which
	// the kernel moves back to the initial netns when the container's netns
	// dies. Virtual devices (veth, macvlan, ...) are destroyed instead.
	Kind      string   `json:"kind"`
	MAC       string   `json:"mac,omitempty"`
	PermMAC   string   `json:"permMac,omitempty"`
	Addresses []string `json:"addresses,omitempty"` // CIDRs re-added after the move
	Up        bool     `json:"up,omitempty"`        // it was up on the host
}

// MoveNetDevices moves each host interface named by a linux.netDevices key
// into the netns at nsPath, renamed to its name (a trailing "%d" template is
// filled in by the kernel), re-adds its permanent global addresses (the move
// flushes them) and sets it up, as runtime-spec 1.2 asks. It checks every
// entry before moving any. On error it also returns the devices it already
// moved: the spec forbids moving them back out, so the caller records them
// like on success.
func MoveNetDevices(devs map[string]specs.LinuxNetDevice, nsPath string) ([]MovedDevice, error) {
	if len(devs) == 0 {
		return nil, nil
	}
	ns, err := netns.GetFromPath(nsPath)
	if err != nil {
		return nil, fmt.Errorf("network: linux.netDevices: open container netns %s: %w", nsPath, err)
	}
	defer ns.Close()
	host, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("network: linux.netDevices: netlink socket in host netns: %w", err)
	}
	defer host.Close()
	ctr, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("network: linux.netDevices: netlink socket in container netns %s: %w", nsPath, err)
	}
	defer ctr.Close()

	names, targets, err := netDeviceTargets(devs)
	if err != nil {
		return nil, err
	}
	links := map[string]netlink.Link{}
	for _, hn := range names {
		field := fmt.Sprintf("linux.netDevices[%q]", hn)
		l, err := host.LinkByName(hn)
		if isNotFound(err) {
			return nil, fmt.Errorf("network: %s: no interface %q on the host", field, hn)
		}
		if err != nil {
			return nil, fmt.Errorf("network: %s: find interface %q on the host: %w", field, hn, err)
		}
		links[hn] = l
		target := targets[hn]
		if strings.Contains(target, "%d") {
			continue
		}
		if _, err := ctr.LinkByName(target); err == nil {
			return nil, fmt.Errorf("network: %s: an interface named %q already exists in the container netns", field, target)
		} else if !isNotFound(err) {
			return nil, fmt.Errorf("network: %s: look up %q in the container netns: %w", field, target, err)
		}
	}

	var moved []MovedDevice
	for _, hn := range names {
		d, err := moveOne(host, ctr, ns, hn, links[hn], devs[hn].Name)
		if d != nil {
			moved = append(moved, *d)
		}
		if err != nil {
			return moved, err
		}
	}
	return moved, nil
}

// netDeviceTargets checks the names linux.netDevices gives in the
// container: valid, and no two entries under one (templates aside). It
// returns the host names sorted and each one's container name.
func netDeviceTargets(devs map[string]specs.LinuxNetDevice) ([]string, map[string]string, error) {
	names := make([]string, 0, len(devs))
	for n := range devs {
		names = append(names, n)
	}
	sort.Strings(names)
	targets := map[string]string{}
	owner := map[string]string{}
	for _, hn := range names {
		field := fmt.Sprintf("linux.netDevices[%q]", hn)
		target := devs[hn].Name
		if target == "" {
			target = hn
		}
		if err := checkIfName(target, true); err != nil {
			return nil, nil, fmt.Errorf("network: %s: name %q: %w", field, target, err)
		}
		targets[hn] = target
		if strings.Contains(target, "%d") {
			continue
		}
		if other, ok := owner[target]; ok {
			return nil, nil, fmt.Errorf("network: %s: name %q is also given to linux.netDevices[%q]", field, target, other)
		}
		owner[target] = hn
	}
	return names, targets, nil
}

// CheckNetDevices checks linux.netDevices against each other and against
// the built-in network of cfg (nil: none) before anything is made: valid
// container names, no two entries under one name, none under the name the
// veth's container end takes.
func CheckNetDevices(devs map[string]specs.LinuxNetDevice, cfg *Config) error {
	names, targets, err := netDeviceTargets(devs)
	if err != nil || cfg == nil {
		return err
	}
	ifName, from := cfg.IfName, ""
	if ifName == "" {
		ifName, from = DefaultIfName, " (the default)"
	}
	for _, hn := range names {
		if targets[hn] == ifName {
			return fmt.Errorf("network: annotation %s %q%s: linux.netDevices[%q] moves an interface in under that name", AnnotationIfName, ifName, from, hn)
		}
	}
	return nil
}

func moveOne(host, ctr *netlink.Handle, ns netns.NsHandle, hn string, l netlink.Link, target string) (*MovedDevice, error) {
	field := fmt.Sprintf("linux.netDevices[%q]", hn)
	if target == "" {
		target = hn
	}
	a := l.Attrs()
	d := &MovedDevice{
		HostName: hn,
		Name:     target,
		Index:    a.Index,
		Kind:     l.Type(),
		MAC:      a.HardwareAddr.String(),
		PermMAC:  a.PermHWAddr.String(),
		Up:       a.Flags&net.FlagUp != 0,
	}
	addrs, err := host.AddrList(l, netlink.FAMILY_ALL)
	if err != nil {
		return nil, fmt.Errorf("network: %s: list addresses of %s: %w", field, hn, err)
	}
	for _, ad := range addrs {
		// The spec keeps permanent addresses of global scope only: link-local
		// ones the kernel makes again, dynamic ones belong to their daemon.
		if ad.Flags&unix.IFA_F_PERMANENT != 0 && ad.Scope == unix.RT_SCOPE_UNIVERSE {
			d.Addresses = append(d.Addresses, ad.IPNet.String())
		}
	}
	var before map[int]bool
	if strings.Contains(target, "%d") {
		before = map[int]bool{}
		if ls, err := ctr.LinkList(); err == nil {
			for _, x := range ls {
				before[x.Attrs().Index] = true
			}
		}
	}

	// One request moves and renames, as "ip link set X netns N name Y"
	// does: the new name is used in the container netns, so the host name
	// may be taken there, and a %d template is resolved by the kernel.
	req := nl.NewNetlinkRequest(unix.RTM_SETLINK, unix.NLM_F_ACK)
	msg := nl.NewIfInfomsg(unix.AF_UNSPEC)
	msg.Index = int32(a.Index)
	req.AddData(msg)
	req.AddData(nl.NewRtAttr(unix.IFLA_NET_NS_FD, nl.Uint32Attr(uint32(ns))))
	req.AddData(nl.NewRtAttr(unix.IFLA_IFNAME, nl.ZeroTerminated(target)))
	if _, err := req.Execute(unix.NETLINK_ROUTE, 0); err != nil {
		err = fmt.Errorf("network: %s: move %s into container netns as %s: %w", field, hn, target, err)
		// The kernel moves before it renames; a failed rename leaves the
		// device in the container under its host name.
		if still, lerr := host.LinkByIndex(a.Index); isNotFound(lerr) || (lerr == nil && still.Attrs().Name != hn) {
			d.Name = hn
			return d, err
		}
		return nil, err
	}

	var cl netlink.Link
	if before == nil {
		cl, err = ctr.LinkByName(target)
	} else {
		cl, err = findNew(ctr, before, a.HardwareAddr)
	}
	if err != nil {
		// It is in the container netns; report it moved under its template.
		return d, fmt.Errorf("network: %s: find %s in container netns after the move: %w", field, target, err)
	}
	d.Name = cl.Attrs().Name
	for _, s := range d.Addresses {
		ipn, err := netlink.ParseIPNet(s)
		if err != nil {
			continue
		}
		if err := ctr.AddrAdd(cl, &netlink.Addr{IPNet: ipn}); err != nil && !errors.Is(err, unix.EEXIST) {
			return d, fmt.Errorf("network: %s: add address %s to %s in container netns: %w", field, s, d.Name, err)
		}
	}
	if err := ctr.LinkSetUp(cl); err != nil {
		return d, fmt.Errorf("network: %s: set %s up in container netns: %w", field, d.Name, err)
	}
	return d, nil
}

// findNew finds the link that appeared in the container netns since before.
func findNew(h *netlink.Handle, before map[int]bool, mac net.HardwareAddr) (netlink.Link, error) {
	ls, err := h.LinkList()
	if err != nil {
		return nil, err
	}
	for _, l := range ls {
		if !before[l.Attrs().Index] && l.Attrs().HardwareAddr.String() == mac.String() {
			return l, nil
		}
	}
	return nil, errors.New("no new interface with its MAC address")
}

// ReclaimNetDevices moves each device of moved that is still in the
// container's network namespace ns back into the caller's, under its host
// name, with its recorded addresses and up state. It returns the devices it
// did not move (not found in ns under their container name and kind, or
// refused), for ReturnNetDevices to look for once the netns is gone.
//
// Call it as the first step of delete, while the container's init still
// holds ns: once the netns dies the kernel destroys a virtual device and
// hands a physical one to the initial netns under its container name.
// runtime-spec (config-linux.md, "Namespace Lifecycle and Container
// Termination") says the runtime MUST NOT move a device out *before
// deletion*: the rule keeps a runtime from taking a device away from a
// container that still runs and may use it. Delete is the point where the
// container is given up and its processes are killed next, so returning the
// device as part of it keeps the rule; it also stays a best effort, as the
// spec foresees: a container whose processes are already gone has no netns
// left to take it from.
func ReclaimNetDevices(moved []MovedDevice, ns *os.File) (left []MovedDevice, err error) {
	if len(moved) == 0 {
		return nil, nil
	}
	hostNS, err := netns.Get()
	if err != nil {
		return moved, fmt.Errorf("network: linux.netDevices: open own netns: %w", err)
	}
	defer hostNS.Close()
	ctrNS := netns.NsHandle(int(ns.Fd()))
	if hostNS.Equal(ctrNS) {
		// Not a netns of the container's own: nothing was moved out of here.
		return moved, nil
	}
	host, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return moved, fmt.Errorf("network: linux.netDevices: netlink socket in host netns: %w", err)
	}
	defer host.Close()
	ctr, err := netlink.NewHandleAt(ctrNS, unix.NETLINK_ROUTE)
	if err != nil {
		return moved, fmt.Errorf("network: linux.netDevices: netlink socket in container netns: %w", err)
	}
	defer ctr.Close()
	// The move is asked of the container netns, where the device's index
	// means something; the handle's own socket cannot carry a raw request.
	sock, err := nl.GetNetlinkSocketAt(ctrNS, netns.None(), unix.NETLINK_ROUTE)
	if err != nil {
		return moved, fmt.Errorf("network: linux.netDevices: netlink socket in container netns: %w", err)
	}
	defer sock.Close()
	sockets := map[int]*nl.SocketHandle{unix.NETLINK_ROUTE: {Socket: sock}}

	var errs []error
	for _, d := range moved {
		ok, err := reclaimOne(host, ctr, sockets, hostNS, &d)
		if err != nil {
			errs = append(errs, err)
		}
		if !ok {
			left = append(left, d)
		}
	}
	return left, errors.Join(errs...)
}

// reclaimOne moves d out of the container netns; ok is false when d is
// still there (or was never found).
func reclaimOne(host, ctr *netlink.Handle, sockets map[int]*nl.SocketHandle, hostNS netns.NsHandle, d *MovedDevice) (ok bool, err error) {
	field := fmt.Sprintf("linux.netDevices[%q]", d.HostName)
	l, err := ctr.LinkByName(d.Name)
	if isNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("network: %s: find %s in container netns: %w", field, d.Name, err)
	}
	// The container may have renamed its interfaces: a device of another
	// kind (or another NIC) under that name is not the one berth moved in.
	if l.Type() != d.Kind || (d.PermMAC != "" && l.Attrs().PermHWAddr.String() != d.PermMAC) {
		return false, nil
	}
	if other, err := host.LinkByName(d.HostName); err == nil {
		return false, fmt.Errorf("network: %s: cannot move %s back: its host name %s is now taken by interface %d", field, d.Name, d.HostName, other.Attrs().Index)
	}
	// One request moves and renames, as MoveNetDevices does the other way:
	// the container name may be taken on the host.
	req := nl.NewNetlinkRequest(unix.RTM_SETLINK, unix.NLM_F_ACK)
	req.Sockets = sockets
	msg := nl.NewIfInfomsg(unix.AF_UNSPEC)
	msg.Index = int32(l.Attrs().Index)
	req.AddData(msg)
	req.AddData(nl.NewRtAttr(unix.IFLA_NET_NS_FD, nl.Uint32Attr(uint32(hostNS))))
	req.AddData(nl.NewRtAttr(unix.IFLA_IFNAME, nl.ZeroTerminated(d.HostName)))
	if _, err := req.Execute(unix.NETLINK_ROUTE, 0); err != nil {
		if _, lerr := ctr.LinkByIndex(l.Attrs().Index); lerr == nil {
			return false, fmt.Errorf("network: %s: move %s back to the host as %s: %w", field, d.Name, d.HostName, err)
		}
		// Moved, not renamed: restore below finds it under either name.
		err = fmt.Errorf("network: %s: move %s back to the host as %s: %w", field, d.Name, d.HostName, err)
		if back, lerr := findReturned(host, d); lerr == nil && back != nil {
			return true, errors.Join(err, restore(host, back, d))
		}
		return true, err
	}
	back, err := host.LinkByName(d.HostName)
	if err != nil {
		return true, fmt.Errorf("network: %s: find %s on the host after the move: %w", field, d.HostName, err)
	}
	return true, restore(host, back, d)
}

// ReturnWait bounds how long ReturnNetDevices waits for the kernel to hand a
// physical device back: a netns is dismantled asynchronously after its last
// process exits.
var ReturnWait = 2 * time.Second

// ReturnNetDevices gives moved physical devices their host name, addresses
// and up state back once the kernel has returned them to the caller's
// netns. Call it after the container's processes are gone, for the devices
// ReclaimNetDevices could not move back.
//
// It never moves a device out of a container netns: it is the fallback for
// a netns already dead (or held by someone else), whose devices the kernel
// deals with, moving physical devices to the initial netns (under their
// container name, or dev%d on a clash) and destroying virtual ones. So a
// virtual device, or one whose netns is still held, is skipped, not an
// error.
func ReturnNetDevices(moved []MovedDevice) error {
	if len(moved) == 0 {
		return nil
	}
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("network: linux.netDevices: netlink socket in host netns: %w", err)
	}
	defer h.Close()
	deadline := time.Now().Add(ReturnWait)
	var errs []error
	for _, d := range moved {
		l, err := findReturned(h, &d)
		for l == nil && err == nil && d.Kind == "device" && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
			l, err = findReturned(h, &d)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("network: linux.netDevices[%q]: %w", d.HostName, err))
			continue
		}
		if l != nil {
			errs = append(errs, restore(h, l, &d))
		}
	}
	return errors.Join(errs...)
}

// findReturned finds d in the host netns: by permanent MAC when the device
// has one, else by its old ifindex (kept by the kernel when free) together
// with its MAC or one of its names.
func findReturned(h *netlink.Handle, d *MovedDevice) (netlink.Link, error) {
	ls, err := h.LinkList()
	if err != nil {
		return nil, fmt.Errorf("list interfaces: %w", err)
	}
	for _, l := range ls {
		a := l.Attrs()
		if d.PermMAC != "" && a.PermHWAddr.String() == d.PermMAC {
			return l, nil
		}
		if a.Index == d.Index && (a.HardwareAddr.String() == d.MAC || a.Name == d.Name || a.Name == d.HostName) {
			return l, nil
		}
	}
	return nil, nil
}

func restore(h *netlink.Handle, l netlink.Link, d *MovedDevice) error {
	field := fmt.Sprintf("linux.netDevices[%q]", d.HostName)
	name := l.Attrs().Name
	if name != d.HostName {
		if other, err := h.LinkByName(d.HostName); err == nil {
			return fmt.Errorf("network: %s: returned as %s, and its name %s is now taken by interface %d", field, name, d.HostName, other.Attrs().Index)
		}
		// The kernel refuses to rename an interface that is up.
		if err := h.LinkSetDown(l); err != nil {
			return fmt.Errorf("network: %s: set %s down: %w", field, name, err)
		}
		if err := h.LinkSetName(l, d.HostName); err != nil {
			return fmt.Errorf("network: %s: rename %s back to %s: %w", field, name, d.HostName, err)
		}
	}
	for _, s := range d.Addresses {
		ipn, err := netlink.ParseIPNet(s)
		if err != nil {
			continue
		}
		if err := h.AddrAdd(l, &netlink.Addr{IPNet: ipn}); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("network: %s: add address %s back to %s: %w", field, s, d.HostName, err)
		}
	}
	if d.Up {
		if err := h.LinkSetUp(l); err != nil {
			return fmt.Errorf("network: %s: set %s up: %w", field, d.HostName, err)
		}
	}
	return nil
}
