package netns_test

import (
	"net"
	"net/netip"
	"os"
	"testing"

	"github.com/roundabout-dev/roundabout/localcluster/netns"
	"github.com/roundabout-dev/roundabout/localcluster/netns/netnstest"
)

func TestMain(m *testing.M) { netnstest.Reexec(m) }

// TestPodAddressesAreLocal binds two addresses of the namespace's network
// and connects one to the other.
func TestPodAddressesAreLocal(t *testing.T) {
	netnstest.Require(t)
	lis, err := net.Listen("tcp", net.JoinHostPort(netns.PodIP(11), "0"))
	if err != nil {
		t.Fatalf("listen on %s: %v", netns.PodIP(11), err)
	}
	defer lis.Close()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(netns.PodIP(12))}}
	c, err := d.Dial("tcp", lis.Addr().String())
	if err != nil {
		t.Fatalf("dial %s from %s: %v", lis.Addr(), netns.PodIP(12), err)
	}
	c.Close()
}

// TestNoRouteOut checks that the namespace is private: the host's
// interfaces other than loopback are not in it.
func TestNoRouteOut(t *testing.T) {
	netnstest.Require(t)
	ifaces, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	if len(ifaces) != 1 || ifaces[0].Name != "lo" {
		t.Errorf("interfaces = %v, want only lo", ifaces)
	}
}

func TestPodIPInCIDR(t *testing.T) {
	prefix := netip.MustParsePrefix(netns.CIDR)
	for _, n := range []int{1, 10, 159, 254} {
		if a := netip.MustParseAddr(netns.PodIP(n)); !prefix.Contains(a) {
			t.Errorf("PodIP(%d) = %s, not in %s", n, a, prefix)
		}
	}
}

// TestOwnPIDNamespace checks that the binary is the first process of its
// PID namespace, which is what stops everything it started when it exits.
func TestOwnPIDNamespace(t *testing.T) {
	netnstest.Require(t)
	if pid := os.Getpid(); pid != 1 {
		t.Errorf("pid = %d, want 1 in a PID namespace of its own", pid)
	}
}

func TestAddAddrIPv6(t *testing.T) {
	netnstest.AddAddr(t, "fd00:10:244::11/128")
	lis, err := net.Listen("tcp", "[fd00:10:244::11]:0")
	if err != nil {
		t.Fatalf("listen on the added address: %v", err)
	}
	defer lis.Close()
	c, err := net.Dial("tcp", lis.Addr().String())
	if err != nil {
		t.Fatalf("dial %s: %v", lis.Addr(), err)
	}
	c.Close()
}
