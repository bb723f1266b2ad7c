package main

import (
	"fmt"
	"net"

	"go.uber.org/zap"
	"google.golang.org/grpc"

	"github.com/roundabout-dev/roundabout/agent/lookaside"
	lookasidev1 "github.com/roundabout-dev/roundabout/proto/lookaside/v1"
)

// listenLookaside binds --lookaside-addr, when given, for the Resolve API
// over every Kubernetes upstream's endpoints.
func (a *agent) listenLookaside() error {
	if a.cfg.LookasideAddr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", a.cfg.LookasideAddr)
	if err != nil {
		return fmt.Errorf("--lookaside-addr %s: %w", a.cfg.LookasideAddr, err)
	}
	var targets []lookaside.Target
	for _, u := range a.upstreams {
		if u.target.service != "" {
			targets = append(targets, lookaside.Target{Service: u.target.service, Namespace: u.target.namespace, Endpoints: u.pool})
		}
	}
	a.lookaside = grpc.NewServer()
	lookasidev1.RegisterLookasideServiceServer(a.lookaside, lookaside.New(podNamespace(), targets))
	a.lookLn = ln
	return nil
}

func (a *agent) serveLookaside(errc chan<- error) {
	if a.lookaside == nil {
		return
	}
	a.log.Info("serving lookaside Resolve", zap.String("addr", a.lookLn.Addr().String()))
	a.wg.Go(func() {
		if err := a.lookaside.Serve(a.lookLn); err != nil {
			errc <- fmt.Errorf("lookaside: %w", err)
		}
	})
}
