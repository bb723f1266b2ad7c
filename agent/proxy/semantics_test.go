package proxy_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"

	greetv1 "github.com/roundabout-dev/roundabout/proto/greet/v1"
)

const bigSize = 16 << 20

// echoServer is a GreetService whose behaviour is chosen by the request, so
// that one server exercises every part of the protocol the proxy carries.
type echoServer struct {
	greetv1.UnimplementedGreetServiceServer
	cancelled chan struct{}
	sent      atomic.Int64 // bytes of GreetManyTimes messages handed to the transport
}

func (s *echoServer) Greet(ctx context.Context, req *greetv1.GreetRequest) (*greetv1.GreetResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	grpc.SetHeader(ctx, metadata.Pairs("x-header-echo", strings.Join(md.Get("x-echo"), ","), "x-bin-bin", "\x00\x01\x02"))
	grpc.SetTrailer(ctx, metadata.Pairs("x-trailer-echo", strings.Join(md.Get("x-echo"), ",")))
	switch req.GetFirstName() {
	case "details":
		st, _ := status.New(codes.FailedPrecondition, "précondition: ünmet").WithDetails(
			&errdetails.ErrorInfo{Reason: "TEST_REASON", Domain: "roundabout.dev", Metadata: map[string]string{"k": "v"}})
		return nil, st.Err()
	case "sleep":
		<-ctx.Done()
		return nil, status.FromContextError(ctx.Err()).Err()
	case "big":
		return &greetv1.GreetResponse{Result: strings.Repeat("b", bigSize)}, nil
	}
	return &greetv1.GreetResponse{Result: fmt.Sprintf("hello %s (%d bytes)", req.GetFirstName(), len(req.GetLastName()))}, nil
}

func (s *echoServer) GreetManyTimes(req *greetv1.GreetManyTimesRequest, stream greetv1.GreetService_GreetManyTimesServer) error {
	stream.SetTrailer(metadata.Pairs("x-count", fmt.Sprint(req.GetCount())))
	for i := range req.GetCount() {
		msg := fmt.Sprintf("%s #%d", req.GetGreeting().GetFirstName(), i)
		if err := stream.Send(&greetv1.GreetResponse{Result: msg}); err != nil {
			return err
		}
		s.sent.Add(int64(len(msg)))
	}
	return nil
}

func (s *echoServer) LongGreet(stream greetv1.GreetService_LongGreetServer) error {
	var names []string
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return stream.SendAndClose(&greetv1.GreetResponse{Result: strings.Join(names, "+")})
		}
		if err != nil {
			return err
		}
		names = append(names, req.GetFirstName())
	}
}

func (s *echoServer) GreetEveryone(stream greetv1.GreetService_GreetEveryoneServer) error {
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			if status.Code(err) == codes.Canceled {
				close(s.cancelled)
			}
			return err
		}
		if err := stream.Send(&greetv1.GreetResponse{Result: "hi " + req.GetFirstName()}); err != nil {
			return err
		}
	}
}

func startEcho(t *testing.T, addr string) (*echoServer, string) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.MaxRecvMsgSize(64<<20), grpc.MaxSendMsgSize(64<<20))
	es := &echoServer{cancelled: make(chan struct{})}
	greetv1.RegisterGreetServiceServer(srv, es)
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	return es, ln.Addr().String()
}

// outcome is everything a client can observe of one call.
type outcome struct {
	Results  []string
	Header   metadata.MD
	Trailer  metadata.MD
	Code     codes.Code
	Message  string
	Details  []string
	BodySize int
}

func observe(out *outcome, err error) {
	st := status.Convert(err)
	out.Code, out.Message = st.Code(), st.Message()
	for _, d := range st.Details() {
		if m, ok := d.(proto.Message); ok {
			out.Details = append(out.Details, fmt.Sprintf("%T %v", m, m))
		}
	}
	delete(out.Header, "date")
	delete(out.Header, "content-type")
}

// scenario runs one call shape against a target and reports what it saw.
type scenario func(t *testing.T, c greetv1.GreetServiceClient) outcome

var scenarios = map[string]scenario{
	"unary with metadata both ways": func(t *testing.T, c greetv1.GreetServiceClient) (o outcome) {
		ctx := metadata.AppendToOutgoingContext(context.Background(), "x-echo", "one", "x-echo", "two")
		resp, err := c.Greet(ctx, &greetv1.GreetRequest{FirstName: "Ada"}, grpc.Header(&o.Header), grpc.Trailer(&o.Trailer))
		o.Results = append(o.Results, resp.GetResult())
		observe(&o, err)
		return o
	},
	"status with binary details": func(t *testing.T, c greetv1.GreetServiceClient) (o outcome) {
		_, err := c.Greet(context.Background(), &greetv1.GreetRequest{FirstName: "details"}, grpc.Trailer(&o.Trailer))
		observe(&o, err)
		return o
	},
	"deadline expires at the server": func(t *testing.T, c greetv1.GreetServiceClient) (o outcome) {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		_, err := c.Greet(ctx, &greetv1.GreetRequest{FirstName: "sleep"})
		observe(&o, err)
		o.Message = ""
		return o
	},
	"16 MiB request and response": func(t *testing.T, c greetv1.GreetServiceClient) (o outcome) {
		big := strings.Repeat("r", bigSize)
		resp, err := c.Greet(context.Background(), &greetv1.GreetRequest{FirstName: "x", LastName: big})
		o.Results = append(o.Results, resp.GetResult())
		observe(&o, err)
		resp, err = c.Greet(context.Background(), &greetv1.GreetRequest{FirstName: "big"})
		o.BodySize = len(resp.GetResult())
		observe(&o, err)
		return o
	},
	"server streaming with trailer": func(t *testing.T, c greetv1.GreetServiceClient) (o outcome) {
		stream, err := c.GreetManyTimes(context.Background(), &greetv1.GreetManyTimesRequest{Greeting: &greetv1.GreetRequest{FirstName: "S"}, Count: 50})
		if err != nil {
			t.Fatal(err)
		}
		for {
			resp, err := stream.Recv()
			if err != nil {
				o.Trailer = stream.Trailer()
				if !errors.Is(err, io.EOF) {
					observe(&o, err)
				}
				return o
			}
			o.Results = append(o.Results, resp.GetResult())
		}
	},
	"client streaming": func(t *testing.T, c greetv1.GreetServiceClient) (o outcome) {
		stream, err := c.LongGreet(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for i := range 20 {
			if err := stream.Send(&greetv1.GreetRequest{FirstName: fmt.Sprint(i)}); err != nil {
				t.Fatal(err)
			}
		}
		resp, err := stream.CloseAndRecv()
		o.Results = append(o.Results, resp.GetResult())
		observe(&o, err)
		return o
	},
	"bidi streaming": func(t *testing.T, c greetv1.GreetServiceClient) (o outcome) {
		stream, err := c.GreetEveryone(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for i := range 20 {
			if err := stream.Send(&greetv1.GreetRequest{FirstName: fmt.Sprint(i)}); err != nil {
				t.Fatal(err)
			}
			resp, err := stream.Recv()
			if err != nil {
				t.Fatal(err)
			}
			o.Results = append(o.Results, resp.GetResult())
		}
		stream.CloseSend()
		_, err = stream.Recv()
		if !errors.Is(err, io.EOF) {
			observe(&o, err)
		}
		return o
	},
}

func TestSemanticsMatchDirectCalls(t *testing.T) {
	_, direct := startEcho(t, "127.0.0.2:0")
	a := startAgent(t, "round-robin", []string{direct})
	opts := grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20), grpc.MaxCallSendMsgSize(64<<20))
	viaDirect := greetv1.NewGreetServiceClient(dialWith(t, direct, opts))
	viaAgent := greetv1.NewGreetServiceClient(dialWith(t, a.addr, opts))
	for name, run := range scenarios {
		t.Run(name, func(t *testing.T) {
			want := run(t, viaDirect)
			got := run(t, viaAgent)
			if d := diffOutcome(want, got); d != "" {
				t.Fatalf("through the agent differs from direct: %s", d)
			}
		})
	}
}

func diffOutcome(want, got outcome) string {
	w, g := describe(want), describe(got)
	if w != g {
		return fmt.Sprintf("\nwant %.2000s\ngot  %.2000s", w, g)
	}
	return ""
}

// describe renders an outcome with its metadata spelled out, since
// metadata.MD redacts values when formatted.
func describe(o outcome) string {
	md := func(m metadata.MD) string {
		keys := slices.Sorted(maps.Keys(m))
		var b strings.Builder
		for _, k := range keys {
			fmt.Fprintf(&b, "%s=%q;", k, m[k])
		}
		return b.String()
	}
	return fmt.Sprintf("results=%d:%q header=%s trailer=%s code=%v message=%q details=%q body=%d",
		len(o.Results), o.Results, md(o.Header), md(o.Trailer), o.Code, o.Message, o.Details, o.BodySize)
}

func TestClientCancellationReachesServer(t *testing.T) {
	es, direct := startEcho(t, "127.0.0.2:0")
	a := startAgent(t, "round-robin", []string{direct})
	c := greetClient(t, a.addr)
	ctx, cancel := context.WithCancel(context.Background())
	stream, err := c.GreetEveryone(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&greetv1.GreetRequest{FirstName: "a"}); err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case <-es.cancelled:
	case <-time.After(5 * time.Second):
		t.Fatal("the server never saw the client's cancellation")
	}
}

func TestUnknownServiceAnswersAsTheServerDoes(t *testing.T) {
	_, direct := startEcho(t, "127.0.0.2:0")
	a := startAgent(t, "round-robin", []string{direct})
	call := func(addr string) error {
		return dial(t, addr).Invoke(context.Background(), "/no.such.Service/Method", &emptypb.Empty{}, &emptypb.Empty{})
	}
	want, got := status.Convert(call(direct)), status.Convert(call(a.addr))
	if want.Code() != codes.Unimplemented || got.Code() != want.Code() || got.Message() != want.Message() {
		t.Fatalf("through the agent %v, direct %v", got, want)
	}
}

func dialWith(t *testing.T, addr string, opts ...grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	opts = append(opts, grpc.WithTransportCredentials(insecureCreds()))
	cc, err := grpc.NewClient(addr, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}
