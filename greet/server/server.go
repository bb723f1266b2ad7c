package server

import (
	"context"
	"math/rand/v2"
	"net"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"

	greetv1 "github.com/roundabout-dev/roundabout/proto/greet/v1"
)

// Server is a gRPC server carrying GreetService, grpc.health.v1 and server reflection.
type Server struct {
	grpc   *grpc.Server
	health *health.Server
	log    *zap.Logger
}

// Option adjusts a Server built by New.
type Option func(*options)

type options struct {
	rand     func() float64
	grpcOpts []grpc.ServerOption
}

// WithRand replaces the random source that decides which RPCs fail under
// Config.FailRate. f must return numbers in [0, 1) and be safe for concurrent use.
func WithRand(f func() float64) Option {
	return func(o *options) { o.rand = f }
}

// WithGRPCOptions passes extra options, such as interceptors, to grpc.NewServer.
// Their interceptors run outside the fault injection ones, so they see every
// RPC, including those delayed or failed on purpose.
func WithGRPCOptions(opts ...grpc.ServerOption) Option {
	return func(o *options) { o.grpcOpts = append(o.grpcOpts, opts...) }
}

// New builds a Server for cfg. It does not listen; call Serve or Run.
func New(cfg Config, log *zap.Logger, opts ...Option) *Server {
	o := options{rand: rand.Float64}
	for _, opt := range opts {
		opt(&o)
	}
	f := faults{delay: cfg.Delay, failRate: cfg.FailRate, rand: o.rand}
	grpcOpts := append(o.grpcOpts,
		grpc.ChainUnaryInterceptor(f.unary),
		grpc.ChainStreamInterceptor(f.stream))
	s := &Server{grpc: grpc.NewServer(grpcOpts...), health: health.NewServer(), log: log}
	greetv1.RegisterGreetServiceServer(s.grpc, NewService(Identity{Name: cfg.PodName, IP: cfg.PodIP}))
	healthpb.RegisterHealthServer(s.grpc, s.health)
	reflection.Register(s.grpc)
	s.health.SetServingStatus(greetv1.GreetService_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_SERVING)
	return s
}

// Serve accepts connections on lis until the server stops. It returns nil
// after Shutdown or Stop.
func (s *Server) Serve(lis net.Listener) error {
	s.log.Info("serving gRPC", zap.String("address", lis.Addr().String()))
	return s.grpc.Serve(lis)
}

// Run serves on lis until ctx ends, then shuts down within timeout.
func (s *Server) Run(ctx context.Context, lis net.Listener, timeout time.Duration) error {
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(lis) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.Shutdown(timeout)
	return <-errc
}

// Shutdown reports NOT_SERVING, then lets in-flight RPCs finish for at most
// timeout before closing every connection. It reports whether the drain completed.
func (s *Server) Shutdown(timeout time.Duration) bool {
	s.health.Shutdown()
	s.log.Info("draining gRPC server", zap.Duration("timeout", timeout))
	done := make(chan struct{})
	go func() {
		s.grpc.GracefulStop()
		close(done)
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-done:
		s.log.Info("gRPC server drained")
		return true
	case <-timer.C:
		s.log.Warn("drain timed out, closing remaining connections", zap.Duration("timeout", timeout))
		s.grpc.Stop()
		<-done
		return false
	}
}

// Stop closes the listeners and every connection at once, cancelling in-flight RPCs.
func (s *Server) Stop() {
	s.grpc.Stop()
	s.log.Info("gRPC server stopped")
}
