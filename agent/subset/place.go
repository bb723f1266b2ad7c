package subset

import (
	"net/netip"
	"slices"
)

// Place is the position of the client at self among the IP addresses of
// its peers: i is the rank of self among the distinct peer addresses of
// its family, sorted, and C their number. self counts whether or not it
// is listed, so a client whose pod is not ready yet still has a place.
// Addresses that do not parse are ignored.
func Place(peers []string, self netip.Addr) Position {
	self = self.Unmap()
	ips := []netip.Addr{self}
	for _, p := range peers {
		a, err := netip.ParseAddr(p)
		if err != nil {
			continue
		}
		// A dual-stack pod is listed once per family; count it once.
		if a = a.Unmap(); a.Is4() == self.Is4() {
			ips = append(ips, a)
		}
	}
	slices.SortFunc(ips, netip.Addr.Compare)
	ips = slices.Compact(ips)
	i, _ := slices.BinarySearchFunc(ips, self, netip.Addr.Compare)
	return Of(i, len(ips))
}
