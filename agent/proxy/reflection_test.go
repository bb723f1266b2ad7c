package proxy_test

import (
	"context"
	"slices"
	"testing"

	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"

	"github.com/roundabout-dev/roundabout/greet/greettest"
)

// listServices asks the server reflection service at addr for its services,
// as `grpcurl -plaintext addr list` does.
func listServices(t *testing.T, addr string) []string {
	t.Helper()
	stream, err := reflectionpb.NewServerReflectionClient(dial(t, addr)).ServerReflectionInfo(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	req := &reflectionpb.ServerReflectionRequest{
		MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{ListServices: "*"},
	}
	if err := stream.Send(req); err != nil {
		t.Fatal(err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	slices.Sort(names)
	return names
}

func TestReflectionThroughTheAgent(t *testing.T) {
	pod := greettest.Start(t, "127.0.0.2:0", "greet-0")
	a := startAgent(t, "round-robin", []string{pod.Addr()})
	direct, via := listServices(t, pod.Addr()), listServices(t, a.addr)
	if !slices.Contains(via, "greet.v1.GreetService") || !slices.Equal(direct, via) {
		t.Fatalf("services through the agent %v, direct %v", via, direct)
	}
}
