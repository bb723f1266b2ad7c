package all_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/roundabout-dev/roundabout/agent/balancer"
	_ "github.com/roundabout-dev/roundabout/agent/balancer/all"
	"github.com/roundabout-dev/roundabout/agent/balancer/internal/balancertest"
	"github.com/roundabout-dev/roundabout/agent/balancer/leastrequest"
	"github.com/roundabout-dev/roundabout/agent/balancer/peakewma"
	"github.com/roundabout-dev/roundabout/agent/balancer/random"
	"github.com/roundabout-dev/roundabout/agent/balancer/ringhash"
	"github.com/roundabout-dev/roundabout/agent/balancer/roundrobin"
)

var want = []string{leastrequest.Name, peakewma.Name, random.Name, ringhash.Name, roundrobin.Name}

func TestRegistersExactlyTheFiveStrategies(t *testing.T) {
	if got := balancer.Names(); !slices.Equal(got, want) {
		t.Fatalf("Names() = %v; want %v", got, want)
	}
	documented := []string{"least-request", "peak-ewma", "random", "ring-hash", "round-robin"}
	if !slices.Equal(want, documented) {
		t.Fatalf("Name constants are %v; want the names documented for --strategy and the annotation, %v", want, documented)
	}
}

func TestEveryStrategyPicks(t *testing.T) {
	for _, name := range want {
		b, err := balancer.Get(name)
		if err != nil {
			t.Fatalf("Get(%q): %v", name, err)
		}
		if b.Name() != name {
			t.Errorf("Get(%q) returned the %q builder", name, b.Name())
		}
		eps := balancertest.Endpoints(3)
		ep, err := b.Build(eps).Pick(balancer.PickInfo{HashKey: "k", HasHashKey: true})
		if err != nil || !slices.ContainsFunc(eps, func(e balancer.Endpoint) bool { return e.Addr == ep.Addr }) {
			t.Errorf("%s: Pick = %q, %v; want one of the endpoints", name, ep.Addr, err)
		}
	}
}

func TestUnknownStrategyListsAllowedNames(t *testing.T) {
	_, err := balancer.Get("least-connections")
	if err == nil {
		t.Fatal(`Get("least-connections") succeeded; want an error`)
	}
	msg := err.Error()
	if !strings.Contains(msg, `"least-connections"`) || !strings.Contains(msg, strings.Join(want, ", ")) {
		t.Fatalf("error %q should name the bad value and list %v", msg, want)
	}
}
