package pool_test

import (
	"fmt"
	"net"
	"slices"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/grpc/codes"

	"github.com/roundabout-dev/roundabout/agent/balancer"
	_ "github.com/roundabout-dev/roundabout/agent/balancer/all"
	"github.com/roundabout-dev/roundabout/agent/discovery"
	"github.com/roundabout-dev/roundabout/agent/pool"
	"github.com/roundabout-dev/roundabout/agent/subset"
	"github.com/roundabout-dev/roundabout/agent/transport"
	"github.com/roundabout-dev/roundabout/greet/greettest"
)

func newPool(t *testing.T, cfg pool.Config) (*pool.Pool, *observer.ObservedLogs) {
	t.Helper()
	core, logs := observer.New(zapcore.InfoLevel)
	cfg.Upstream, cfg.Logger = "greet", zap.New(core)
	b, err := balancer.Get("round-robin")
	if err != nil {
		t.Fatal(err)
	}
	p := pool.New(cfg, b)
	t.Cleanup(func() { p.Close(t.Context()) })
	return p, logs
}

func endpoints(pods []*greettest.Server) []discovery.Endpoint {
	out := make([]discovery.Endpoint, len(pods))
	for i, p := range pods {
		out[i] = discovery.Endpoint{Addr: p.Addr()}
	}
	return out
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestUpdateDiffsTheEndpointSet(t *testing.T) {
	pods := greettest.StartPods(t, []string{"127.0.0.2", "127.0.0.3", "127.0.0.4"}, 0)
	p, logs := newPool(t, pool.Config{})
	p.Update(endpoints(pods))
	eventually(t, "three connected endpoints", func() bool { return p.ReadyCount() == 3 })
	p.Update(endpoints(pods[1:]))
	p.Update(endpoints(pods[1:]))
	if n := p.ReadyCount(); n != 2 {
		t.Fatalf("%d endpoints usable after removing one, want 2", n)
	}
	if n := logs.FilterMessage("endpoint added").Len(); n != 3 {
		t.Fatalf("%d 'endpoint added' lines, want 3", n)
	}
	removed := logs.FilterMessage("endpoint removed").All()
	if len(removed) != 1 || removed[0].ContextMap()["endpoint"] != pods[0].Addr() {
		t.Fatalf("'endpoint removed' lines: %v", removed)
	}
	for range 10 {
		e, _, err := p.Pick(balancer.PickInfo{})
		if err != nil || e.Addr == pods[0].Addr() {
			t.Fatalf("picked %v, %v after removal", e, err)
		}
	}
	if d := p.Debug(); len(d.Endpoints) != 2 || d.Strategy != "round-robin" {
		t.Fatalf("debug snapshot %+v", d)
	}
}

func TestConsecutiveUnavailableEjectsThenReadmits(t *testing.T) {
	pods := greettest.StartPods(t, []string{"127.0.0.2", "127.0.0.3"}, 0)
	p, logs := newPool(t, pool.Config{EjectFailures: 3, EjectBackoff: 200 * time.Millisecond, MaxEjectionPercent: 50})
	p.Update(endpoints(pods))
	eventually(t, "two connected endpoints", func() bool { return p.ReadyCount() == 2 })
	var victim *pool.Endpoint
	for victim == nil || victim.Addr != pods[0].Addr() {
		victim, _, _ = p.Pick(balancer.PickInfo{})
	}
	report(victim, transport.Result{Code: codes.Unavailable})
	report(victim, transport.Result{Code: codes.OK})
	report(victim, transport.Result{Code: codes.Unavailable})
	report(victim, transport.Result{Code: codes.Unavailable})
	if p.ReadyCount() != 2 {
		t.Fatal("ejected after two consecutive failures; a success must reset the count")
	}
	report(victim, transport.Result{Code: codes.Unavailable})
	if p.ReadyCount() != 1 || logs.FilterMessage("endpoint ejected").Len() != 1 {
		t.Fatalf("after 3 consecutive failures: %d usable, %d ejection lines", p.ReadyCount(), logs.FilterMessage("endpoint ejected").Len())
	}
	other, _, _ := p.Pick(balancer.PickInfo{})
	for range 3 {
		report(other, transport.Result{Code: codes.Unavailable})
	}
	if p.ReadyCount() != 1 {
		t.Fatal("ejected the last endpoint beyond the 50% cap")
	}
	eventually(t, "re-admission", func() bool { return p.ReadyCount() == 2 })
	if logs.FilterMessage("endpoint re-admitted").Len() != 1 {
		t.Fatal("no 're-admitted' log line")
	}
}

func TestSetStrategyLogsTheSwap(t *testing.T) {
	p, logs := newPool(t, pool.Config{})
	b, _ := balancer.Get("round-robin")
	p.SetStrategy(b)
	if logs.FilterMessage("strategy changed").Len() != 0 {
		t.Fatal("logged a swap to the same strategy")
	}
	if _, _, err := p.Pick(balancer.PickInfo{}); err != balancer.ErrNoEndpoint {
		t.Fatalf("Pick on an empty pool: %v", err)
	}
}

func TestDialledOnceEveryFirstAttemptEnded(t *testing.T) {
	p, _ := newPool(t, pool.Config{BackoffBase: time.Hour, BackoffMax: time.Hour})
	if !p.Dialled() {
		t.Fatal("an empty pool has something to dial")
	}
	pods := greettest.StartPods(t, []string{"127.0.0.2"}, 0)
	closed, err := net.Listen("tcp", "127.0.0.3:0")
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	p.Update(append(endpoints(pods), discovery.Endpoint{Addr: closed.Addr().String()}))
	eventually(t, "both first attempts ended", p.Dialled)
	if n := p.ReadyCount(); n != 1 {
		t.Fatalf("%d endpoints in the picker once dialled, want the listening one", n)
	}
	// An endpoint that accepts but never answers the handshake holds it.
	silent, err := net.Listen("tcp", "127.0.0.4:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	p.Update(append(endpoints(pods), discovery.Endpoint{Addr: silent.Addr().String()}))
	if p.Dialled() {
		t.Fatal("dialled while an endpoint's handshake is pending")
	}
}

func TestEjectionBackoffIsEarnedBack(t *testing.T) {
	pods := greettest.StartPods(t, []string{"127.0.0.2", "127.0.0.3", "127.0.0.4"}, 0)
	p, logs := newPool(t, pool.Config{EjectFailures: 1, EjectBackoff: 50 * time.Millisecond, MaxEjectionPercent: 50})
	p.Update(endpoints(pods))
	eventually(t, "three connected endpoints", func() bool { return p.ReadyCount() == 3 })
	var e *pool.Endpoint
	for e == nil || e.Addr != pods[0].Addr() {
		e, _, _ = p.Pick(balancer.PickInfo{})
	}
	ejectFor := func() string {
		report(e, transport.Result{Code: codes.Unavailable})
		all := logs.FilterMessage("endpoint ejected").All()
		return fmt.Sprint(all[len(all)-1].ContextMap()["for"])
	}
	if d := ejectFor(); d != "50ms" {
		t.Fatalf("first ejection lasted %s", d)
	}
	eventually(t, "re-admission", func() bool { return p.ReadyCount() == 3 })
	if d := ejectFor(); d != "100ms" {
		t.Fatalf("second ejection right after the first lasted %s, want double", d)
	}
	eventually(t, "re-admission", func() bool { return p.ReadyCount() == 3 })
	deadline := time.Now().Add(5 * time.Second)
	for d := ejectFor(); d != "50ms"; d = ejectFor() { // healthy for a while: back to the base
		if time.Now().After(deadline) {
			t.Fatal("the ejection backoff was never earned back")
		}
		eventually(t, "re-admission", func() bool { return p.ReadyCount() == 3 })
		for range 3 {
			time.Sleep(60 * time.Millisecond)
			report(e, transport.Result{Code: codes.OK})
		}
	}
}

func TestSubsetChosenFromTheDiscoveredSet(t *testing.T) {
	pods := greettest.StartPods(t, []string{"127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6", "127.0.0.7"}, 0)
	all := make([]string, len(pods))
	for i, pod := range pods {
		all[i] = pod.Addr()
	}
	slices.Sort(all)
	p, logs := newPool(t, pool.Config{Subset: pool.Subset{Size: 2, Position: subset.Of(1, 3), From: "--subset-id"}})
	ready := func(want []string) {
		t.Helper()
		eventually(t, fmt.Sprintf("ready endpoints %v", want), func() bool { return slices.Equal(p.ReadyAddrs(), want) })
		if n := len(p.Debug().Endpoints); n != len(want) {
			t.Fatalf("/debug/endpoints lists %d endpoints, want the %d of the subset", n, len(want))
		}
	}
	p.Update(endpoints(pods))
	ready(all[2:4]) // ceil(1·6/3) = 2
	want := pool.SubsetDebug{Size: 2, ID: "1/3", From: "--subset-id", Balance: "exact", Discovered: 6, InSubset: 2}
	if d := p.Debug().Subset; d != want {
		t.Fatalf("subset debug %+v, want %+v", d, want)
	}

	// The last client of three wraps around the sorted set.
	p.SetSubset(pool.Subset{Size: 2, Position: subset.Of(2, 3), From: "--subset-id"})
	ready(all[4:6])
	p.SetSubset(pool.Subset{Size: 2, Position: subset.Of(2, 3), From: "--subset-id"})
	if n := logs.FilterMessage("subset changed").Len(); n != 1 {
		t.Fatalf("%d 'subset changed' lines, want 1: setting the same subset again changes nothing", n)
	}

	// Update re-applies the subset: without the first endpoint, 2/3 of
	// five starts at ceil(10/3) = 4 and wraps.
	p.Update(endpoints(pods[1:]))
	ready([]string{all[1], all[5]})

	hashed := subset.Hashed("gateway-0", func(string) uint64 { return 0 })
	p.SetSubset(pool.Subset{Size: 3, Position: hashed, From: "hash of POD_NAME"})
	ready(all[1:4])
	d := p.Debug().Subset
	if d.ID != "statistical" || d.Balance != pool.StatisticalBalance || d.Discovered != 5 || d.InSubset != 3 {
		t.Fatalf("subset debug %+v, want a statistical subset of 3 of 5", d)
	}

	p.SetSubset(pool.Subset{Size: 0, Position: hashed})
	ready(all[1:])
	if d := p.Debug().Subset; d.InSubset != 5 || d.Size != 0 {
		t.Fatalf("subset debug %+v, want every endpoint", d)
	}
}
