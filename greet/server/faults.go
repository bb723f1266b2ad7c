package server

import (
	"context"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	greetv1 "github.com/roundabout-dev/roundabout/proto/greet/v1"
)

// greetPrefix selects the RPCs that faults apply to: health checks and
// reflection stay fast and healthy whatever GREET_DELAY and GREET_FAIL_RATE say.
var greetPrefix = "/" + greetv1.GreetService_ServiceDesc.ServiceName + "/"

// faults injects latency and failures into GreetService RPCs.
type faults struct {
	delay    time.Duration
	failRate float64
	// rand returns a number in [0, 1); an RPC fails when it is below failRate.
	rand func() float64
}

func (f faults) fail() bool {
	return f.failRate > 0 && f.rand() < f.failRate
}

// unary delays every unary response and fails a failRate share of calls.
func (f faults) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if !strings.HasPrefix(info.FullMethod, greetPrefix) {
		return handler(ctx, req)
	}
	if err := sleep(ctx, f.delay); err != nil {
		return nil, err
	}
	if f.fail() {
		return nil, status.Error(codes.Unavailable, "injected failure (GREET_FAIL_RATE)")
	}
	return handler(ctx, req)
}

// stream fails a failRate share of streams and delays every message sent on the others.
func (f faults) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if !strings.HasPrefix(info.FullMethod, greetPrefix) {
		return handler(srv, ss)
	}
	if f.fail() {
		if err := sleep(ss.Context(), f.delay); err != nil {
			return err
		}
		return status.Error(codes.Unavailable, "injected failure (GREET_FAIL_RATE)")
	}
	if f.delay > 0 {
		ss = delayedStream{ServerStream: ss, delay: f.delay}
	}
	return handler(srv, ss)
}

// delayedStream waits before each message it sends.
type delayedStream struct {
	grpc.ServerStream
	delay time.Duration
}

func (s delayedStream) SendMsg(m any) error {
	if err := sleep(s.Context(), s.delay); err != nil {
		return err
	}
	return s.ServerStream.SendMsg(m)
}

// sleep waits for d, or returns the gRPC status of ctx's error if ctx ends first.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return status.FromContextError(ctx.Err()).Err()
	}
}
