package server_test

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/roundabout-dev/roundabout/greet/greettest"
	"github.com/roundabout-dev/roundabout/greet/server"
	greetv1 "github.com/roundabout-dev/roundabout/proto/greet/v1"
)

const wantPod = "from pod: name(greet-a), ip(127.0.0.2)."

func dial(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("NewClient(%s): %v", addr, err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

func startGreet(t *testing.T, opts ...greettest.Option) (*greettest.Server, greetv1.GreetServiceClient) {
	t.Helper()
	srv := greettest.Start(t, "127.0.0.2:0", "greet-a", opts...)
	return srv, greetv1.NewGreetServiceClient(dial(t, srv.Addr()))
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestGreetNamesThePod(t *testing.T) {
	_, client := startGreet(t)
	resp, err := client.Greet(testContext(t), &greetv1.GreetRequest{FirstName: "Ada", LastName: "Lovelace"})
	if err != nil {
		t.Fatalf("Greet: %v", err)
	}
	want := "response from Greet rpc: Hello, Ada Lovelace " + wantPod
	if resp.GetResult() != want {
		t.Errorf("result = %q, want %q", resp.GetResult(), want)
	}
}

func TestEmptyFirstNameIsInvalidArgument(t *testing.T) {
	_, client := startGreet(t)
	ctx := testContext(t)
	_, err := client.Greet(ctx, &greetv1.GreetRequest{LastName: "Lovelace"})
	assertInvalid(t, err, "first_name")
	stream, err := client.GreetManyTimes(ctx, &greetv1.GreetManyTimesRequest{})
	if err == nil {
		_, err = stream.Recv()
	}
	assertInvalid(t, err, "greeting.first_name")
}

func TestGreetManyTimesCountIsBounded(t *testing.T) {
	_, client := startGreet(t)
	for _, count := range []int32{-1, server.MaxCount + 1} {
		req := &greetv1.GreetManyTimesRequest{Greeting: &greetv1.GreetRequest{FirstName: "Ada"}, Count: count}
		stream, err := client.GreetManyTimes(testContext(t), req)
		if err == nil {
			_, err = stream.Recv()
		}
		assertInvalid(t, err, "count")
	}
}

func assertInvalid(t *testing.T, err error, field string) {
	t.Helper()
	st := status.Convert(err)
	if st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), field) {
		t.Errorf("status = %v %q, want InvalidArgument naming %s", st.Code(), st.Message(), field)
	}
}

func TestGreetManyTimesStreamsFromOnePod(t *testing.T) {
	_, client := startGreet(t)
	for _, tc := range []struct{ count, want int32 }{{0, server.DefaultCount}, {3, 3}} {
		req := &greetv1.GreetManyTimesRequest{Greeting: &greetv1.GreetRequest{FirstName: "Ada"}, Count: tc.count}
		stream, err := client.GreetManyTimes(testContext(t), req)
		if err != nil {
			t.Fatalf("GreetManyTimes: %v", err)
		}
		results := recvAll(t, stream)
		if len(results) != int(tc.want) {
			t.Errorf("count %d: got %d responses, want %d", tc.count, len(results), tc.want)
		}
		assertAllFromPod(t, results)
	}
}

func recvAll(t *testing.T, stream grpc.ServerStreamingClient[greetv1.GreetResponse]) []string {
	t.Helper()
	var results []string
	for {
		resp, err := stream.Recv()
		if err == io.EOF {
			return results
		}
		if err != nil {
			t.Fatalf("Recv: %v", err)
		}
		results = append(results, resp.GetResult())
	}
}

func assertAllFromPod(t *testing.T, results []string) {
	t.Helper()
	for _, r := range results {
		if !strings.HasSuffix(r, wantPod) {
			t.Errorf("result %q does not end with %q", r, wantPod)
		}
	}
}

func TestLongGreetGreetsEveryone(t *testing.T) {
	_, client := startGreet(t)
	stream, err := client.LongGreet(testContext(t))
	if err != nil {
		t.Fatalf("LongGreet: %v", err)
	}
	for _, name := range []string{"Ada", "Grace"} {
		if err := stream.Send(&greetv1.GreetRequest{FirstName: name}); err != nil {
			t.Fatalf("Send: %v", err)
		}
	}
	resp, err := stream.CloseAndRecv()
	if err != nil {
		t.Fatalf("CloseAndRecv: %v", err)
	}
	want := "response from LongGreet rpc: Hello, Ada, Grace " + wantPod
	if resp.GetResult() != want {
		t.Errorf("result = %q, want %q", resp.GetResult(), want)
	}
}

func TestGreetEveryoneAnswersEachMessage(t *testing.T) {
	_, client := startGreet(t)
	stream, err := client.GreetEveryone(testContext(t))
	if err != nil {
		t.Fatalf("GreetEveryone: %v", err)
	}
	var results []string
	for _, name := range []string{"Ada", "Grace", "Barbara"} {
		if err := stream.Send(&greetv1.GreetRequest{FirstName: name}); err != nil {
			t.Fatalf("Send: %v", err)
		}
		resp, err := stream.Recv()
		if err != nil {
			t.Fatalf("Recv: %v", err)
		}
		if !strings.Contains(resp.GetResult(), "Hello, "+name+" ") {
			t.Errorf("result %q does not greet %s", resp.GetResult(), name)
		}
		results = append(results, resp.GetResult())
	}
	assertAllFromPod(t, results)
	if err := stream.CloseSend(); err != nil {
		t.Fatalf("CloseSend: %v", err)
	}
	if _, err := stream.Recv(); err != io.EOF {
		t.Errorf("Recv after CloseSend = %v, want EOF", err)
	}
}
