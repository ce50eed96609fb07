// Package network gives a container berth's built-in network and moves
// linux.netDevices into it.
//
// The built-in network is asked for with annotations:
//
//	berth.net.bridge   host bridge to attach to; its presence turns the network on.
//	                   Created (holding the gateway address) when missing, and
//	                   removed with its last container when berth created it.
//	berth.net.address  IPv4 CIDR or bare IP; default: allocated from the subnet
//	berth.net.gateway  IPv4 with or without prefix; default: the existing
//	                   bridge's address, or 10.77.0.1/16 for a bridge berth creates
//	berth.net.mtu      default: the bridge's MTU
//	berth.net.mac      default: chosen by the kernel
//	berth.net.ifname   default: eth0
//
// The container gets one end of a veth pair ("bv" + a hash of the state root
// and id on the host side), its address, the default route via the gateway,
// and lo up. Allocations live in <stateRoot>/.network/<bridge>/, under a
// flock, so they hold across berth processes. Only IPv4 is configured, and
// allocation is per state root: berth roots sharing one bridge must give
// their containers explicit addresses.
//
// The caller's network namespace is the host side; the container's is
// reached by path through netlink sockets opened in it, so no thread has to
// switch namespaces. The package knows nothing of berth's command line or
// container state: the caller stores Result and MovedDevice in its state and
// hands them back on delete.
package network
