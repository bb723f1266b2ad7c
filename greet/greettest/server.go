package greettest

import (
	"context"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
	"google.golang.org/grpc"

	"github.com/roundabout-dev/roundabout/greet/server"
	greetv1 "github.com/roundabout-dev/roundabout/proto/greet/v1"
)

// stopTimeout bounds the graceful drain of Server.Stop.
const stopTimeout = 5 * time.Second

// Server is one in-process greet server standing for one pod.
type Server struct {
	pod      server.Identity
	srv      *server.Server
	lis      *connTracker
	requests atomic.Int64
	served   chan struct{} // closed when Serve returns
	stopOnce sync.Once
}

// Option adjusts a Server started by Start, Serve or StartPods.
type Option func(*options)

type options struct {
	podIP    string
	delay    time.Duration
	failRate float64
	rand     func() float64
}

// WithPodIP sets the IP reported in responses; the default is the listener's IP.
func WithPodIP(ip string) Option { return func(o *options) { o.podIP = ip } }

// WithDelay adds d before every response message, like GREET_DELAY.
func WithDelay(d time.Duration) Option { return func(o *options) { o.delay = d } }

// WithFailRate answers a rate share of RPCs with UNAVAILABLE, like
// GREET_FAIL_RATE. rand, when not nil, replaces the random source.
func WithFailRate(rate float64, rand func() float64) Option {
	return func(o *options) { o.failRate, o.rand = rate, rand }
}

// Start listens on addr (for example "127.0.0.2:0") and serves as pod podName.
func Start(tb testing.TB, addr, podName string, opts ...Option) *Server {
	tb.Helper()
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		tb.Fatalf("greettest: listening on %s: %v", addr, err)
	}
	return Serve(tb, lis, podName, opts...)
}

// Serve serves on lis as pod podName until Stop, Kill or the end of the test.
func Serve(tb testing.TB, lis net.Listener, podName string, opts ...Option) *Server {
	tb.Helper()
	o := options{podIP: hostOf(lis.Addr())}
	for _, opt := range opts {
		opt(&o)
	}
	s := &Server{pod: server.Identity{Name: podName, IP: o.podIP}, lis: track(lis), served: make(chan struct{})}
	log := zaptest.NewLogger(tb, zaptest.Level(zap.WarnLevel)).With(zap.String("pod", podName))
	cfg := server.Config{PodName: podName, PodIP: o.podIP, Delay: o.delay, FailRate: o.failRate}
	s.srv = server.New(cfg, log, s.serverOptions(o)...)
	go func() {
		defer close(s.served)
		_ = s.srv.Serve(s.lis)
	}()
	tb.Cleanup(s.Stop)
	return s
}

func (s *Server) serverOptions(o options) []server.Option {
	opts := []server.Option{server.WithGRPCOptions(
		grpc.ChainUnaryInterceptor(s.countUnary), grpc.ChainStreamInterceptor(s.countStream))}
	if o.rand != nil {
		opts = append(opts, server.WithRand(o.rand))
	}
	return opts
}

// Addr is the address the server listens on, e.g. "127.0.0.2:50051".
func (s *Server) Addr() string { return s.lis.Addr().String() }

// PodName is the pod name the server puts in its responses.
func (s *Server) PodName() string { return s.pod.Name }

// PodIP is the pod IP the server puts in its responses.
func (s *Server) PodIP() string { return s.pod.IP }

// Requests counts the GreetService RPCs this server has received, including
// those failed on purpose.
func (s *Server) Requests() int64 { return s.requests.Load() }

// Stop drains the server gracefully, like a pod receiving SIGTERM: clients get
// GOAWAY and in-flight RPCs finish. It returns once the server has stopped.
func (s *Server) Stop() {
	s.stopOnce.Do(func() { s.srv.Shutdown(stopTimeout) })
	<-s.served
}

// Kill closes the listener and every accepted TCP connection at once, with no
// HTTP/2 GOAWAY, like a pod whose process crashed. It returns once the server has stopped.
func (s *Server) Kill() {
	s.stopOnce.Do(func() {
		s.lis.closeAll()
		s.srv.Stop()
	})
	<-s.served
}

func (s *Server) countUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	s.count(info.FullMethod)
	return h(ctx, req)
}

func (s *Server) countStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	s.count(info.FullMethod)
	return h(srv, ss)
}

func (s *Server) count(method string) {
	if strings.HasPrefix(method, "/"+greetv1.GreetService_ServiceDesc.ServiceName+"/") {
		s.requests.Add(1)
	}
}

func hostOf(addr net.Addr) string {
	if tcp, ok := addr.(*net.TCPAddr); ok {
		return tcp.IP.String()
	}
	return addr.String()
}
