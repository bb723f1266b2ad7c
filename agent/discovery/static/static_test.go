package static

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/roundabout-dev/roundabout/agent/discovery"
)

func TestNewEmitsSortedSetOnce(t *testing.T) {
	src, err := New([]string{"10.0.0.2:80", "10.0.0.1:80", "10.0.0.2:80"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	sets := make(chan []discovery.Endpoint, 2)
	done := make(chan error, 1)
	go func() { done <- src.Watch(ctx, func(eps []discovery.Endpoint) { sets <- eps }) }()

	got := receiveSet(t, sets)
	checkSet(t, got, "10.0.0.1:80", "10.0.0.2:80")
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Watch after cancel = %v, want nil", err)
		}
	case <-time.After(waitTimeout):
		t.Fatal("Watch did not return after cancel")
	}
	if len(sets) != 0 {
		t.Fatalf("fixed source emitted %d more sets, want none", len(sets))
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name  string
		addrs []string
		want  string
	}{
		{"empty", nil, "no endpoints given"},
		{"bad entry", []string{"10.0.0.1:80", "10.0.0.2:99999"}, `"10.0.0.2:99999"`},
		{"blank entry", []string{"10.0.0.1:80", ""}, `endpoint "": missing port`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.addrs)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New(%q) error = %v, want one containing %q", tt.addrs, err, tt.want)
			}
		})
	}
}

const waitTimeout = 5 * time.Second

func receiveSet(t *testing.T, sets <-chan []discovery.Endpoint) []discovery.Endpoint {
	t.Helper()
	select {
	case s := <-sets:
		return s
	case <-time.After(waitTimeout):
		t.Fatalf("no endpoint set within %v", waitTimeout)
		return nil
	}
}

func checkSet(t *testing.T, got []discovery.Endpoint, want ...string) {
	t.Helper()
	addrs := make([]string, len(got))
	for i, e := range got {
		addrs[i] = e.Addr
	}
	if strings.Join(addrs, ",") != strings.Join(want, ",") {
		t.Fatalf("endpoint set = %q, want %q", addrs, want)
	}
}
