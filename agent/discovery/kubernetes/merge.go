package kubernetes

import (
	"net"
	"slices"
	"strconv"

	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/roundabout-dev/roundabout/agent/discovery"
)

// merge returns the endpoint set of one Service port from all of the
// Service's EndpointSlices, deduplicated and sorted. With an empty port it
// returns the pods' IP addresses alone, whatever ports the slices list.
//
// Endpoints whose ready condition is true are used. When no endpoint of any
// slice is ready, those that are serving and terminating are used instead,
// as kube-proxy does, so that a Service whose pods are all shutting down
// keeps answering until they are gone.
func merge(slices []*discoveryv1.EndpointSlice, port string) []discovery.Endpoint {
	ready, fallback := map[string]bool{}, map[string]bool{}
	for _, s := range slices {
		p, ok := targetPort(s, port)
		if !ok {
			continue
		}
		for _, e := range s.Endpoints {
			addAddrs(e, p, ready, fallback)
		}
	}
	if len(ready) > 0 {
		return sorted(ready)
	}
	return sorted(fallback)
}

// addAddrs records e's addresses as ready, or as a fallback when e is
// serving and terminating.
func addAddrs(e discoveryv1.Endpoint, port string, ready, fallback map[string]bool) {
	c := e.Conditions
	isReady := c.Ready == nil || *c.Ready
	serving := c.Serving == nil || *c.Serving
	terminating := c.Terminating != nil && *c.Terminating
	for _, a := range e.Addresses {
		addr := a
		if port != "" {
			addr = net.JoinHostPort(a, port)
		}
		switch {
		case isReady:
			ready[addr] = true
		case serving && terminating:
			fallback[addr] = true
		}
	}
}

// targetPort resolves the upstream port on one slice. A port name matches
// the slice port of that name. A port number matches the slice port with
// that number, or the only port of a single-port slice: the slice lists the
// pods' target port, which may differ from the Service port the upstream
// names. A slice of a multi-port Service whose target ports differ from the
// Service ports therefore needs the port name. FQDN slices, deprecated and
// never written by the endpointslice controller, are skipped.
func targetPort(s *discoveryv1.EndpointSlice, port string) (string, bool) {
	if s.AddressType != discoveryv1.AddressTypeIPv4 && s.AddressType != discoveryv1.AddressTypeIPv6 {
		return "", false
	}
	if port == "" {
		return "", true
	}
	if !isDigits(port) {
		return portNamed(s.Ports, port)
	}
	if p, ok := portNumbered(s.Ports, port); ok {
		return p, true
	}
	if len(s.Ports) == 1 && s.Ports[0].Port != nil {
		return strconv.Itoa(int(*s.Ports[0].Port)), true
	}
	return "", false
}

func portNamed(ports []discoveryv1.EndpointPort, name string) (string, bool) {
	for _, p := range ports {
		if p.Name != nil && *p.Name == name && p.Port != nil {
			return strconv.Itoa(int(*p.Port)), true
		}
	}
	return "", false
}

func portNumbered(ports []discoveryv1.EndpointPort, number string) (string, bool) {
	for _, p := range ports {
		if p.Port != nil && strconv.Itoa(int(*p.Port)) == number {
			return number, true
		}
	}
	return "", false
}

// sorted returns the keys of set as endpoints, in address order.
func sorted(set map[string]bool) []discovery.Endpoint {
	addrs := make([]string, 0, len(set))
	for a := range set {
		addrs = append(addrs, a)
	}
	slices.Sort(addrs)
	eps := make([]discovery.Endpoint, len(addrs))
	for i, a := range addrs {
		eps[i] = discovery.Endpoint{Addr: a}
	}
	return eps
}
