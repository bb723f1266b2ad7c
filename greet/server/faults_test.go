package server

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// sequence returns values in order, then repeats the last one.
func sequence(values ...float64) func() float64 {
	i := 0
	return func() float64 {
		v := values[min(i, len(values)-1)]
		i++
		return v
	}
}

func TestFaultsFailRateUsesRandomSource(t *testing.T) {
	f := faults{failRate: 0.3, rand: sequence(0.29, 0.3, 0.0, 0.99)}
	info := &grpc.UnaryServerInfo{FullMethod: greetPrefix + "Greet"}
	ok := func(context.Context, any) (any, error) { return "ok", nil }
	want := []codes.Code{codes.Unavailable, codes.OK, codes.Unavailable, codes.OK}
	for i, code := range want {
		_, err := f.unary(context.Background(), nil, info, ok)
		if got := status.Code(err); got != code {
			t.Errorf("call %d: code = %v, want %v", i, got, code)
		}
	}
}

func TestFaultsSpareOtherServices(t *testing.T) {
	f := faults{failRate: 1, delay: time.Hour, rand: sequence(0)}
	info := &grpc.UnaryServerInfo{FullMethod: "/grpc.health.v1.Health/Check"}
	resp, err := f.unary(context.Background(), nil, info, func(context.Context, any) (any, error) { return "ok", nil })
	if err != nil || resp != "ok" {
		t.Fatalf("health check = %v, %v; want ok, nil", resp, err)
	}
}

func TestSleepStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := sleep(ctx, time.Hour); status.Code(err) != codes.Canceled {
		t.Fatalf("sleep on a cancelled context = %v, want Canceled", err)
	}
}
