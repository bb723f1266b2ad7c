package podrunner

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"sync"
)

// ipam hands out pod IPs from a range, round robin: an address freed by a
// deleted pod is given again only after the rest of the range has been, so
// a new pod never gets an address that connections of a just-deleted one
// may still be aimed at.
type ipam struct {
	mu    sync.Mutex
	first uint32
	size  uint32
	next  uint32            // offset of the next address to try
	used  map[uint32]string // offset -> owner
}

// newIPAM returns an allocator for first..last, both IPv4 and included.
func newIPAM(first, last string) (*ipam, error) {
	a, err := parseIPv4(first)
	if err != nil {
		return nil, fmt.Errorf("first address: %w", err)
	}
	b, err := parseIPv4(last)
	if err != nil {
		return nil, fmt.Errorf("last address: %w", err)
	}
	if b < a {
		return nil, fmt.Errorf("last address %s comes before first address %s", last, first)
	}
	return &ipam{first: a, size: b - a + 1, used: map[uint32]string{}}, nil
}

func parseIPv4(s string) (uint32, error) {
	ip, err := netip.ParseAddr(s)
	if err != nil || !ip.Is4() {
		return 0, fmt.Errorf("%q is not an IPv4 address", s)
	}
	b := ip.As4()
	return binary.BigEndian.Uint32(b[:]), nil
}

func formatIPv4(v uint32) string {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], v)
	return netip.AddrFrom4(b).String()
}

// allocate returns a free address for owner.
func (a *ipam) allocate(owner string) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for range a.size {
		off := a.next
		a.next = (a.next + 1) % a.size
		if _, taken := a.used[off]; !taken {
			a.used[off] = owner
			return formatIPv4(a.first + off), nil
		}
	}
	return "", errors.New("no pod IP left: every address of the range is in use")
}

// release frees ip; addresses outside the range are ignored.
func (a *ipam) release(ip string) {
	v, err := parseIPv4(ip)
	if err != nil || v < a.first || v-a.first >= a.size {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.used, v-a.first)
}

// contains reports whether ip lies in the range.
func (a *ipam) contains(ip string) bool {
	v, err := parseIPv4(ip)
	return err == nil && v >= a.first && v-a.first < a.size
}
