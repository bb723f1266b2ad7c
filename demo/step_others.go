package demo

import (
	"context"
	"fmt"
	"net"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	lookasidev1 "github.com/roundabout-dev/roundabout/proto/lookaside/v1"
)

// dnsClientApp is the gateway that balances with gRPC's round_robin.
const dnsClientApp = "greetclient-dns"

// stepOthers shows the two fixes Roundabout is compared with: gRPC's
// round_robin over a headless Service resolved through CoreDNS (a client
// change), and the agent's lookaside Resolve (a client that dials what the
// agent hands out).
func (e *Env) stepOthers(ctx context.Context, s *Step) {
	say(e.out, "A second gateway with GRPC_LB_POLICY=round_robin dials greetserver-headless.greet.svc.cluster.local")
	if _, err := e.Kubectl(ctx, "apply", "-k", "demo/manifests/headless"); err != nil {
		s.fail("apply the headless Service and gateway", err)
		return
	}
	if err := e.WaitRollout(ctx, Namespace, dnsClientApp, rolloutTimeout); err != nil {
		s.fail("the round_robin gateway rolls out", err)
		return
	}
	tally, err := e.greetThroughClient(ctx, dnsClientApp, 30)
	if err != nil {
		s.fail("30 requests through the round_robin gateway", err)
		return
	}
	pods := e.chartServers(ctx, tally)
	s.check(len(tally) == 5, "round_robin over CoreDNS reaches all 5 pods", "%s", tallyLine(tally, pods))
	e.lookaside(ctx, s)
}

// lookaside asks the injected agent's Resolve API for 30 addresses of
// greetserver and charts which pods they belong to.
func (e *Env) lookaside(ctx context.Context, s *Step) {
	pod, err := e.OnePod(ctx, clientApp, rolloutTimeout)
	if err != nil {
		s.fail("the injected gateway pod", err)
		return
	}
	addr := net.JoinHostPort(pod.Status.PodIP, fmt.Sprint(lookaside))
	say(e.out, "lookaside: Resolve(greetserver, ROUND_ROBIN) x30 on %s's agent (%s)", pod.Name, addr)
	got, err := resolveMany(ctx, addr, 30)
	if err != nil {
		s.fail("lookaside Resolve", err)
		return
	}
	tally, err := e.byPod(ctx, got)
	if err != nil {
		s.fail("lookaside Resolve", err)
		return
	}
	pods := e.chartServers(ctx, tally)
	s.check(len(tally) == 5 && tally.Total() == 30, "lookaside Resolve hands out all 5 pods", "%s", tallyLine(tally, pods))
}

// resolveMany calls Resolve n times and returns the addresses.
func resolveMany(ctx context.Context, addr string, n int) ([]string, error) {
	conn, err := grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	c := lookasidev1.NewLookasideServiceClient(conn)
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out := make([]string, 0, n)
	for range n {
		resp, err := c.Resolve(ctx, &lookasidev1.ResolveRequest{ServiceName: serverApp,
			RoutingType: lookasidev1.RoutingType_ROUND_ROBIN})
		if err != nil {
			return out, fmt.Errorf("lookaside Resolve on %s: %w", addr, err)
		}
		out = append(out, resp.GetAddress())
	}
	return out, nil
}

// byPod tallies endpoint addresses by the server pod that holds each.
func (e *Env) byPod(ctx context.Context, addrs []string) (Tally, error) {
	pods, err := e.ReadyPods(ctx, Namespace, serverApp)
	if err != nil {
		return nil, err
	}
	byIP := map[string]string{}
	for _, p := range pods {
		byIP[p.Status.PodIP] = p.Name
	}
	t := Tally{}
	for _, a := range addrs {
		host, _, err := net.SplitHostPort(a)
		if err != nil {
			return nil, fmt.Errorf("lookaside Resolve returned %q: %w", a, err)
		}
		name, ok := byIP[host]
		if !ok {
			name = a + " (no ready pod)"
		}
		t[name]++
	}
	return t, nil
}
