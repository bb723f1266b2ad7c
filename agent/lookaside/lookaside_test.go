package lookaside

import (
	"context"
	"net"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	lookasidev1 "github.com/roundabout-dev/roundabout/proto/lookaside/v1"
)

type fixed []string

func (f fixed) ReadyAddrs() []string { return f }

func client(t *testing.T, s *Server) lookasidev1.LookasideServiceClient {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	lookasidev1.RegisterLookasideServiceServer(srv, s)
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	cc, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return lookasidev1.NewLookasideServiceClient(cc)
}

func resolve(t *testing.T, c lookasidev1.LookasideServiceClient, rt lookasidev1.RoutingType, svc, ns string) (string, error) {
	resp, err := c.Resolve(context.Background(), &lookasidev1.ResolveRequest{RoutingType: rt, ServiceName: svc, Namespace: ns})
	return resp.GetAddress(), err
}

func TestResolve(t *testing.T) {
	addrs := fixed{"10.244.0.11:50051", "10.244.0.12:50051", "10.244.0.13:50051"}
	s := New("default", []Target{{Service: "greetserver", Namespace: "default", Endpoints: addrs}})
	draws := []int{2, 0, 2}
	s.intn = func(n int) int { d := draws[0]; draws = draws[1:]; return d }
	c := client(t, s)

	var rr []string
	for range 6 {
		a, err := resolve(t, c, lookasidev1.RoutingType_ROUND_ROBIN, "greetserver", "")
		if err != nil {
			t.Fatal(err)
		}
		rr = append(rr, a)
	}
	if want := strings.Join(append(addrs, addrs...), ","); strings.Join(rr, ",") != want {
		t.Fatalf("ROUND_ROBIN gave %v, want two full rotations", rr)
	}
	for _, want := range []string{addrs[2], addrs[0], addrs[2]} {
		if a, err := resolve(t, c, lookasidev1.RoutingType_RANDOM, "greetserver", "default"); err != nil || a != want {
			t.Fatalf("RANDOM gave %q, %v; want %q from the injected draws", a, err, want)
		}
	}
}

func TestResolveErrors(t *testing.T) {
	s := New("default", []Target{{Service: "empty", Namespace: "default", Endpoints: fixed{}}})
	c := client(t, s)
	cases := []struct {
		svc, ns string
		code    codes.Code
		msg     string
	}{
		{"", "", codes.InvalidArgument, "service_name"},
		{"greetserver", "other", codes.NotFound, "other/greetserver"},
		{"empty", "", codes.Unavailable, "default/empty"},
	}
	for _, tc := range cases {
		_, err := resolve(t, c, lookasidev1.RoutingType_ROUND_ROBIN, tc.svc, tc.ns)
		if st := status.Convert(err); st.Code() != tc.code || !strings.Contains(st.Message(), tc.msg) {
			t.Errorf("Resolve(%q, %q) = %v, want %v naming %q", tc.svc, tc.ns, err, tc.code, tc.msg)
		}
	}
}
