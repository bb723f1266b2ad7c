package kubernetes

import (
	"slices"
	"testing"

	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// conds builds endpoint conditions; nil leaves a condition unset.
func conds(ready, serving, terminating *bool) discoveryv1.EndpointConditions {
	return discoveryv1.EndpointConditions{Ready: ready, Serving: serving, Terminating: terminating}
}

var (
	yes = new(true)
	no  = new(false)

	readyConds   = conds(yes, yes, no)
	leavingConds = conds(no, yes, yes) // serving while terminating
	goneConds    = conds(no, no, yes)  // terminating, no longer serving
	notReady     = conds(no, no, no)
)

func ep(c discoveryv1.EndpointConditions, addrs ...string) discoveryv1.Endpoint {
	return discoveryv1.Endpoint{Addresses: addrs, Conditions: c}
}

func port(name string, number int32) discoveryv1.EndpointPort {
	return discoveryv1.EndpointPort{Name: new(name), Port: new(number)}
}

func slice(name string, family discoveryv1.AddressType, ports []discoveryv1.EndpointPort, eps ...discoveryv1.Endpoint) *discoveryv1.EndpointSlice {
	return &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: name, Namespace: "default"},
		AddressType: family, Ports: ports, Endpoints: eps,
	}
}

func v4(name string, eps ...discoveryv1.Endpoint) *discoveryv1.EndpointSlice {
	return slice(name, discoveryv1.AddressTypeIPv4, []discoveryv1.EndpointPort{port("grpc", 50051)}, eps...)
}

func TestMerge(t *testing.T) {
	twoPorts := []discoveryv1.EndpointPort{port("http", 8080), port("grpc", 9090)}
	tests := map[string]struct {
		slices []*discoveryv1.EndpointSlice
		port   string
		want   []string
	}{
		"no slices": {nil, "50051", []string{}},
		"two slices merged and sorted": {[]*discoveryv1.EndpointSlice{
			v4("a", ep(readyConds, "10.0.0.3"), ep(readyConds, "10.0.0.1")),
			v4("b", ep(readyConds, "10.0.0.2")),
		}, "50051", []string{"10.0.0.1:50051", "10.0.0.2:50051", "10.0.0.3:50051"}},
		"address in two slices once": {[]*discoveryv1.EndpointSlice{
			v4("a", ep(readyConds, "10.0.0.1")), v4("b", ep(readyConds, "10.0.0.1", "10.0.0.2")),
		}, "50051", []string{"10.0.0.1:50051", "10.0.0.2:50051"}},
		"named port": {[]*discoveryv1.EndpointSlice{
			slice("a", discoveryv1.AddressTypeIPv4, twoPorts, ep(readyConds, "10.0.0.1")),
		}, "grpc", []string{"10.0.0.1:9090"}},
		"named port per slice": {[]*discoveryv1.EndpointSlice{
			slice("a", discoveryv1.AddressTypeIPv4, twoPorts, ep(readyConds, "10.0.0.1")),
			slice("b", discoveryv1.AddressTypeIPv4, []discoveryv1.EndpointPort{port("grpc", 7070)}, ep(readyConds, "10.0.0.2")),
		}, "grpc", []string{"10.0.0.1:9090", "10.0.0.2:7070"}},
		"unknown port name": {[]*discoveryv1.EndpointSlice{
			slice("a", discoveryv1.AddressTypeIPv4, twoPorts, ep(readyConds, "10.0.0.1")),
		}, "metrics", []string{}},
		"number matches one of several ports": {[]*discoveryv1.EndpointSlice{
			slice("a", discoveryv1.AddressTypeIPv4, twoPorts, ep(readyConds, "10.0.0.1")),
		}, "9090", []string{"10.0.0.1:9090"}},
		"number absent from a multi-port slice": {[]*discoveryv1.EndpointSlice{
			slice("a", discoveryv1.AddressTypeIPv4, twoPorts, ep(readyConds, "10.0.0.1")),
		}, "50051", []string{}},
		"single port slices with different target ports": {[]*discoveryv1.EndpointSlice{
			slice("a", discoveryv1.AddressTypeIPv4, []discoveryv1.EndpointPort{port("", 8080)}, ep(readyConds, "10.0.0.1")),
			slice("b", discoveryv1.AddressTypeIPv4, []discoveryv1.EndpointPort{port("", 8081)}, ep(readyConds, "10.0.0.2")),
		}, "80", []string{"10.0.0.1:8080", "10.0.0.2:8081"}},
		"port without number": {[]*discoveryv1.EndpointSlice{
			slice("a", discoveryv1.AddressTypeIPv4, []discoveryv1.EndpointPort{{Name: new("grpc")}}, ep(readyConds, "10.0.0.1")),
		}, "grpc", []string{}},
		"IPv6 and IPv4": {[]*discoveryv1.EndpointSlice{
			slice("a6", discoveryv1.AddressTypeIPv6, []discoveryv1.EndpointPort{port("grpc", 50051)}, ep(readyConds, "fd00::1")),
			v4("a4", ep(readyConds, "10.0.0.1")),
		}, "grpc", []string{"10.0.0.1:50051", "[fd00::1]:50051"}},
		"FQDN skipped": {[]*discoveryv1.EndpointSlice{
			slice("f", discoveryv1.AddressTypeFQDN, []discoveryv1.EndpointPort{port("grpc", 50051)}, ep(readyConds, "greet.example.com")),
		}, "grpc", []string{}},
		"nil conditions are ready": {[]*discoveryv1.EndpointSlice{
			v4("a", ep(conds(nil, nil, nil), "10.0.0.1")),
		}, "50051", []string{"10.0.0.1:50051"}},
		"ready beats terminating": {[]*discoveryv1.EndpointSlice{
			v4("a", ep(readyConds, "10.0.0.1"), ep(leavingConds, "10.0.0.2"), ep(notReady, "10.0.0.3")),
		}, "50051", []string{"10.0.0.1:50051"}},
		"none ready: serving and terminating": {[]*discoveryv1.EndpointSlice{
			v4("a", ep(leavingConds, "10.0.0.1"), ep(goneConds, "10.0.0.2")),
			v4("b", ep(notReady, "10.0.0.3"), ep(conds(no, nil, yes), "10.0.0.4")),
		}, "50051", []string{"10.0.0.1:50051", "10.0.0.4:50051"}},
		"ready in another slice disables the fallback": {[]*discoveryv1.EndpointSlice{
			v4("a", ep(leavingConds, "10.0.0.1")), v4("b", ep(readyConds, "10.0.0.2")),
		}, "50051", []string{"10.0.0.2:50051"}},
		"peers: IP addresses whatever the ports": {[]*discoveryv1.EndpointSlice{
			slice("a", discoveryv1.AddressTypeIPv4, twoPorts, ep(readyConds, "10.0.0.2"), ep(notReady, "10.0.0.9")),
			slice("b", discoveryv1.AddressTypeIPv4, nil, ep(readyConds, "10.0.0.1", "10.0.0.2")),
			slice("f", discoveryv1.AddressTypeFQDN, nil, ep(readyConds, "gateway.example.com")),
		}, "", []string{"10.0.0.1", "10.0.0.2"}},
		"not ready and not terminating is never used": {[]*discoveryv1.EndpointSlice{
			v4("a", ep(conds(no, yes, nil), "10.0.0.1"), ep(notReady, "10.0.0.2")),
		}, "50051", []string{}},
	}
	for name, tc := range tests {
		got := addrsOf(merge(tc.slices, tc.port))
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: merge = %v, want %v", name, got, tc.want)
		}
	}
}

func TestNewPeersValidates(t *testing.T) {
	if _, err := NewPeers(nil, "team-a", "gateway-peers", nil); err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][2]string{{"team-a", "Gateway"}, {"", "gateway"}, {"team_a", "gateway"}} {
		if _, err := NewPeers(nil, bad[0], bad[1], nil); err == nil {
			t.Errorf("NewPeers(%q, %q) accepted", bad[0], bad[1])
		}
	}
	if got := (Upstream{Service: "gateway", Namespace: "team-a"}).String(); got != "gateway.team-a" {
		t.Errorf("peers upstream String() = %q", got)
	}
}
