// Package lookaside serves the Resolve API: a client that picks and dials
// endpoints itself asks the agent for one address of a Service the agent
// watches, chosen from the same endpoint cache the proxy balances over.
package lookaside

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync/atomic"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	lookasidev1 "github.com/roundabout-dev/roundabout/proto/lookaside/v1"
)

// Endpoints is the endpoint cache of one upstream.
type Endpoints interface {
	// ReadyAddrs lists the usable endpoints' host:port, sorted.
	ReadyAddrs() []string
}

// Target is one watched Service and its endpoint cache.
type Target struct {
	Service   string
	Namespace string
	Endpoints Endpoints
}

// Server answers Resolve from the targets it was given.
type Server struct {
	lookasidev1.UnimplementedLookasideServiceServer
	namespace string
	targets   map[string]*target
	// intn draws the RANDOM choice; replaceable in tests.
	intn func(n int) int
}

type target struct {
	Target
	next atomic.Uint64
}

// New returns a server over targets. A request without a namespace means
// defaultNamespace, the agent's own.
func New(defaultNamespace string, targets []Target) *Server {
	s := &Server{namespace: defaultNamespace, targets: map[string]*target{}, intn: rand.IntN}
	for _, t := range targets {
		s.targets[key(t.Namespace, t.Service)] = &target{Target: t}
	}
	return s
}

func key(namespace, service string) string { return namespace + "/" + service }

// Resolve returns one ready address of the requested Service: the next in
// rotation for ROUND_ROBIN (and when no routing type is given), a uniformly
// random one for RANDOM.
func (s *Server) Resolve(_ context.Context, req *lookasidev1.ResolveRequest) (*lookasidev1.ResolveResponse, error) {
	if req.GetServiceName() == "" {
		return nil, status.Error(codes.InvalidArgument, "service_name is required")
	}
	ns := req.GetNamespace()
	if ns == "" {
		ns = s.namespace
	}
	t, ok := s.targets[key(ns, req.GetServiceName())]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "service %s/%s is not watched by this agent", ns, req.GetServiceName())
	}
	addrs := t.Endpoints.ReadyAddrs()
	if len(addrs) == 0 {
		return nil, status.Errorf(codes.Unavailable, "service %s/%s has no ready endpoint", ns, req.GetServiceName())
	}
	i, err := s.choose(t, req.GetRoutingType(), len(addrs))
	if err != nil {
		return nil, err
	}
	return &lookasidev1.ResolveResponse{Address: addrs[i]}, nil
}

func (s *Server) choose(t *target, rt lookasidev1.RoutingType, n int) (int, error) {
	switch rt {
	case lookasidev1.RoutingType_ROUTING_TYPE_UNSPECIFIED, lookasidev1.RoutingType_ROUND_ROBIN:
		return int((t.next.Add(1) - 1) % uint64(n)), nil
	case lookasidev1.RoutingType_RANDOM:
		return s.intn(n), nil
	}
	return 0, status.Error(codes.InvalidArgument, fmt.Sprintf("routing_type %d: allowed: ROUND_ROBIN, RANDOM", rt))
}
