package sticky

import (
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	greetserver "github.com/roundabout-dev/roundabout/greet/server"

	"go.uber.org/zap/zaptest"

	"github.com/roundabout-dev/roundabout/greet/gateway"
	"github.com/roundabout-dev/roundabout/greet/greettest"
)

const (
	// requests is how many POST /greet calls each scenario sends.
	requests = 30
	// podPort is the port every pod listens on when it is free.
	podPort = 50051
	// dnsName resolves to every pod's IP in the round-robin scenario.
	dnsName = "greetserver.test"
)

var podHosts = []string{"127.0.0.2", "127.0.0.3", "127.0.0.4"}

// TestConnectionBalancingSticksToOnePod is the problem: kube-proxy balances
// connections, the gateway opens one, so every call lands on the same pod.
func TestConnectionBalancingSticksToOnePod(t *testing.T) {
	pods := greettest.StartPods(t, podHosts, podPort)
	lb := greettest.StartConnBalancer(t, "127.0.0.1:0", addrs(pods)...)
	h := newGateway(t, hostPortConfig(t, lb.Addr()))

	tally := greettest.Tally(greetN(t, h, requests))
	got := sortedDesc(greettest.Requests(pods))
	t.Logf("pods %v behind %s; per pod: %v; responses by pod: %v; balancer connections per pod: %v",
		addrs(pods), lb.Addr(), greettest.Requests(pods), tally, lb.Connections())
	if want := []int64{requests, 0, 0}; !slices.Equal(got, want) {
		t.Errorf("requests per pod (sorted) = %v, want %v: one connection, one pod", got, want)
	}
	if len(tally) != 1 {
		t.Errorf("responses came from %d pods (%v), want exactly 1", len(tally), tally)
	}
}

// TestConnectionBalancerSpreadsConnections shows the balancer in front is not
// at fault: three gateways, three connections, three different pods.
func TestConnectionBalancerSpreadsConnections(t *testing.T) {
	pods := greettest.StartPods(t, podHosts, podPort)
	lb := greettest.StartConnBalancer(t, "127.0.0.1:0", addrs(pods)...)
	var names []string
	for range pods {
		names = append(names, greetN(t, newGateway(t, hostPortConfig(t, lb.Addr())), requests/len(pods))...)
	}
	tally := greettest.Tally(names)
	t.Logf("responses by pod: %v; balancer connections per pod: %v", tally, lb.Connections())
	if len(tally) != len(pods) {
		t.Errorf("three gateways reached %d pods (%v), want %d", len(tally), tally, len(pods))
	}
}

// TestRoundRobinSpreadsRequests is the goal: a client that balances per
// request over every pod address splits the same calls evenly.
func TestRoundRobinSpreadsRequests(t *testing.T) {
	pods := greettest.StartPods(t, podHosts, podPort)
	_, port, _ := net.SplitHostPort(pods[0].Addr())
	cfg := hostPortConfig(t, net.JoinHostPort(dnsName, port))
	cfg.LBPolicy = gateway.PolicyRoundRobin
	cfg.DNSServer = startDNS(t, dnsName+".", podHosts)
	h := newGateway(t, cfg)
	warmUp(t, h, pods)

	before := greettest.Requests(pods)
	tally := greettest.Tally(greetN(t, h, requests))
	got := subtract(greettest.Requests(pods), before)
	t.Logf("pods %v via %s; per pod: %v; responses by pod: %v", addrs(pods), cfg.Target(), got, tally)
	if want := []int64{10, 10, 10}; !slices.Equal(got, want) {
		t.Errorf("requests per pod = %v, want %v", got, want)
	}
	for _, p := range pods {
		if tally[p.PodName()] != requests/len(pods) {
			t.Errorf("responses by pod = %v, want %d from each", tally, requests/len(pods))
			break
		}
	}
}

// warmUp sends requests until every pod has answered one, which happens once
// round_robin has a ready connection to each; from then on it cycles through
// all of them. The loop is bounded in count and time.
func warmUp(t *testing.T, h http.Handler, pods []*greettest.Server) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; i < 200 && time.Now().Before(deadline); i++ {
		if !slices.Contains(greettest.Requests(pods), 0) {
			return
		}
		greetN(t, h, 1)
	}
	t.Fatalf("round_robin did not reach every pod: requests per pod %v", greettest.Requests(pods))
}

// greetN sends n POST /greet requests one after another and returns the pod
// name of each response.
func greetN(t *testing.T, h http.Handler, n int) []string {
	t.Helper()
	names := make([]string, 0, n)
	for i := range n {
		rec := httptest.NewRecorder()
		body := `{"first_name":"Ada","last_name":"Lovelace ` + strconv.Itoa(i) + `"}`
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/greet", strings.NewReader(body)))
		name, ok := greetserver.PodName(rec.Body.String())
		if rec.Code != http.StatusOK || !ok {
			t.Fatalf("request %d: got %d %q, want 200 with a pod name", i, rec.Code, rec.Body.String())
		}
		names = append(names, name)
	}
	return names
}

func newGateway(t *testing.T, cfg gateway.Config) http.Handler {
	t.Helper()
	gw, err := gateway.New(cfg, zaptest.NewLogger(t))
	if err != nil {
		t.Fatalf("gateway.New: %v", err)
	}
	t.Cleanup(func() { _ = gw.Close() })
	return gw.Handler()
}

func hostPortConfig(t *testing.T, addr string) gateway.Config {
	t.Helper()
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("SplitHostPort(%s): %v", addr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		t.Fatalf("port of %s: %v", addr, err)
	}
	return gateway.Config{ServerHost: host, ServerPort: port, Timeout: 5 * time.Second, LBPolicy: gateway.PolicyPickFirst}
}

func addrs(pods []*greettest.Server) []string {
	out := make([]string, len(pods))
	for i, p := range pods {
		out[i] = p.Addr()
	}
	return out
}

func sortedDesc(counts []int64) []int64 {
	out := slices.Clone(counts)
	slices.Sort(out)
	slices.Reverse(out)
	return out
}

func subtract(after, before []int64) []int64 {
	out := make([]int64, len(after))
	for i := range after {
		out[i] = after[i] - before[i]
	}
	return out
}
