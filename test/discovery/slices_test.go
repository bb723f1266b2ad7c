package discovery

import (
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/roundabout-dev/roundabout/greet/greettest"
)

// greetPort is the port every greet server of these tests listens on.
const greetPort = 50051

// newSlice returns an IPv4 EndpointSlice of service, labelled as the
// endpointslice controller labels it, with one port "grpc".
func newSlice(ns, service, name string, eps ...discoveryv1.Endpoint) *discoveryv1.EndpointSlice {
	return &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns,
			Labels: map[string]string{discoveryv1.LabelServiceName: service}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{slicePort("grpc", greetPort)},
		Endpoints:   eps,
	}
}

func slicePort(name string, number int32) discoveryv1.EndpointPort {
	return discoveryv1.EndpointPort{Name: new(name), Port: new(number)}
}

// ready lists pods as ready, serving and not terminating.
func ready(pods ...*greettest.Server) []discoveryv1.Endpoint {
	return endpoints(true, true, false, pods)
}

// terminating lists pods as shutting down: not ready, still serving.
func terminating(pods ...*greettest.Server) []discoveryv1.Endpoint {
	return endpoints(false, true, true, pods)
}

// stopping lists pods as shutting down and no longer serving.
func stopping(pods ...*greettest.Server) []discoveryv1.Endpoint {
	return endpoints(false, false, true, pods)
}

func endpoints(ready, serving, terminating bool, pods []*greettest.Server) []discoveryv1.Endpoint {
	eps := make([]discoveryv1.Endpoint, len(pods))
	for i, p := range pods {
		eps[i] = discoveryv1.Endpoint{Addresses: []string{p.PodIP()}, Conditions: discoveryv1.EndpointConditions{
			Ready: new(ready), Serving: new(serving), Terminating: new(terminating)}}
	}
	return eps
}
