package subset

import (
	"net/netip"
	"testing"
)

func TestPlace(t *testing.T) {
	self := netip.MustParseAddr("10.244.0.10")
	tests := []struct {
		name  string
		peers []string
		want  Position
	}{
		{"alone, not listed yet", nil, Of(0, 1)},
		{"listed", []string{"10.244.0.9", "10.244.0.10", "10.244.0.11"}, Of(1, 3)},
		{"not ready yet: counted anyway", []string{"10.244.0.9", "10.244.0.11"}, Of(1, 3)},
		{"numeric, not string, order", []string{"10.244.0.9", "10.244.0.100", "10.244.0.2"}, Of(2, 4)},
		{"listed twice", []string{"10.244.0.10", "10.244.0.10", "10.244.0.1"}, Of(1, 2)},
		{"other family and garbage ignored", []string{"fd00::1", "10.244.0.1", "nonsense"}, Of(1, 2)},
	}
	for _, tt := range tests {
		if got := Place(tt.peers, self); got != tt.want {
			t.Errorf("%s: Place = %v, want %v", tt.name, got, tt.want)
		}
	}
	if got := Place([]string{"fd00::2", "10.0.0.1", "fd00::3"}, netip.MustParseAddr("fd00::3")); got != Of(1, 2) {
		t.Errorf("IPv6: Place = %v, want 1/2", got)
	}
}
