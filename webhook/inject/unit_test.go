package inject

import (
	"fmt"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		cfg  Config
		want string // a substring of the error; empty for none
	}{
		{Config{AgentImage: "a"}, ""},
		{Config{AgentImage: "a", ClusterDomain: "corp.example"}, ""},
		{Config{AgentImage: "a", ClusterDomain: "Corp_Example"}, `cluster domain "Corp_Example" is not a DNS subdomain`},
		{Config{AgentImage: "a", ClusterDomain: "cluster.local."}, `cluster domain "cluster.local." is not a DNS subdomain`},
		{Config{}, "agent image is empty"},
		{Config{AgentImage: "a", AdminPort: 70000}, "out of range"},
	}
	for _, tt := range tests {
		err := tt.cfg.Validate()
		if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%+v: Validate() = %v, want %q", tt.cfg, err, tt.want)
		}
	}
	if got := (Config{}).clusterDomain(); got != "cluster.local" {
		t.Errorf("default cluster domain %q, want cluster.local", got)
	}
}

// TestLoopbackAddressesRunOut checks that 254 Services keep their names and
// a 255th is refused, naming the annotation.
func TestLoopbackAddressesRunOut(t *testing.T) {
	entries := func(n int) string {
		var es []string
		for i := range n {
			es = append(es, fmt.Sprintf("s%d:50051", i))
		}
		return strings.Join(es, ",")
	}
	var probs problems
	ups, services := parseUpstreams(entries(254), "demo", "", nil, &probs)
	if len(probs) != 0 || len(ups) != 254 || services[253].ip.String() != "127.0.2.254" {
		t.Fatalf("254 Services: problems %v, %d upstreams, last address %v", probs, len(ups), services[253].ip)
	}
	probs = nil
	parseUpstreams(entries(255), "demo", "", nil, &probs)
	if len(probs) != 1 || !strings.Contains(probs[0].Error(), "annotation roundabout.dev/upstream=") ||
		!strings.Contains(probs[0].Error(), "255 Services keep their names") {
		t.Fatalf("255 Services: problems %v, want one naming the annotation and the count", probs)
	}
}

// TestExplicitListenAddressIsSkipped checks that a Service never gets a
// loopback address another entry listens on explicitly.
func TestExplicitListenAddressIsSkipped(t *testing.T) {
	var probs problems
	ups, _ := parseUpstreams("a:50051, b:50051=127.0.2.1:50051", "demo", "", nil, &probs)
	if len(probs) != 0 || ups[0].listen != "127.0.2.2:50051" {
		t.Fatalf("problems %v, first listen %q; want 127.0.2.2:50051", probs, ups[0].listen)
	}
}

func TestClosestAnnotation(t *testing.T) {
	tests := map[string]string{
		"roundabout.dev/stratgy":        "roundabout.dev/strategy",
		"roundabout.dev/Strategy":       "roundabout.dev/strategy",
		"roundabout.dev/upstreams":      "roundabout.dev/upstream",
		"roundabout.dev/hashheader":     "roundabout.dev/hash-header",
		"roundabout.dev/cpu-request":    "roundabout.dev/agent-cpu-request",
		"roundabout.dev/native-sidecar": "roundabout.dev/native-sidecar",
		"roundabout.dev/colour":         "",
		"roundabout.dev/timeout":        "",
	}
	for key, want := range tests {
		if got := closestAnnotation(key, []string{
			"roundabout.dev/strategy", "roundabout.dev/upstream", "roundabout.dev/hash-header",
			"roundabout.dev/agent-cpu-request", "roundabout.dev/native-sidecar",
		}); got != want {
			t.Errorf("closestAnnotation(%q) = %q, want %q", key, got, want)
		}
	}
}

func TestGOMAXPROCS(t *testing.T) {
	for limit, want := range map[string]string{"10m": "1", "1": "1", "1001m": "2", "1500m": "2", "2": "2", "7": "7"} {
		if got := gomaxprocs(resource.MustParse(limit), true); got != want {
			t.Errorf("CPU limit %s: GOMAXPROCS %s, want %s", limit, got, want)
		}
	}
	if got := gomaxprocs(resource.Quantity{}, false); got != DefaultGOMAXPROCS {
		t.Errorf("no CPU limit: GOMAXPROCS %s, want %s", got, DefaultGOMAXPROCS)
	}
}
