package kubernetes

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/roundabout-dev/roundabout/agent/discovery"
)

const waitFor = 5 * time.Second

// sets receives every set a Source emits.
type sets chan []string

func (s sets) update(eps []discovery.Endpoint) { s <- addrsOf(eps) }

// next returns the next emitted set, or fails after waitFor.
func (s sets) next(t *testing.T) []string {
	t.Helper()
	select {
	case got := <-s:
		return got
	case <-time.After(waitFor):
		t.Fatalf("no endpoint set emitted within %s", waitFor)
		return nil
	}
}

// none checks that nothing is emitted for a while.
func (s sets) none(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case got := <-s:
		t.Fatalf("unexpected endpoint set %v", got)
	case <-time.After(d):
	}
}

func labelled(s *discoveryv1.EndpointSlice, service string) *discoveryv1.EndpointSlice {
	s.Labels = map[string]string{discoveryv1.LabelServiceName: service}
	return s
}

// fakeSlices is the fake clientset's EndpointSlice client. Like the fake
// clientset itself, it declares that it cannot stream an initial list over
// a watch, so the informer lists and then watches.
type fakeSlices struct{ SliceClient }

func (fakeSlices) IsWatchListSemanticsUnSupported() bool { return true }

func startSource(t *testing.T, client *fake.Clientset, log *zap.Logger) sets {
	t.Helper()
	slices := func(ns string) SliceClient { return fakeSlices{client.DiscoveryV1().EndpointSlices(ns)} }
	src := New(slices, Upstream{Service: "greet", Namespace: "default", Port: "grpc"}, log)
	ctx, cancel := context.WithCancel(context.Background())
	got := make(sets, 16)
	done := make(chan error, 1)
	go func() { done <- src.Watch(ctx, got.update) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Watch returned %v, want nil when ctx ends", err)
		}
	})
	return got
}

func TestSourceFollowsSlices(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	client := fake.NewClientset()
	got := startSource(t, client, zap.New(core))
	ctx := context.Background()
	slicesAPI := client.DiscoveryV1().EndpointSlices("default")

	if first := got.next(t); len(first) != 0 {
		t.Fatalf("first set = %v, want empty while the service has no slices", first)
	}
	if n := logs.FilterMessageSnippet("waiting for service").Len(); n != 1 {
		t.Errorf("%d 'waiting for service' lines, want 1", n)
	}
	a := labelled(v4("greet-a", ep(readyConds, "10.0.0.1")), "greet")
	if _, err := slicesAPI.Create(ctx, a, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if set := got.next(t); !slices.Equal(set, []string{"10.0.0.1:50051"}) {
		t.Fatalf("set = %v, want [10.0.0.1:50051]", set)
	}
	a.Annotations = map[string]string{"unrelated": "change"}
	if _, err := slicesAPI.Update(ctx, a, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	got.none(t, 200*time.Millisecond)
	if err := slicesAPI.Delete(ctx, a.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if set := got.next(t); len(set) != 0 {
		t.Fatalf("set after delete = %v, want empty", set)
	}
	if n := logs.FilterMessage("endpoints changed").Len(); n != 3 {
		t.Errorf("%d 'endpoints changed' lines, want 3 (initial, add, delete)", n)
	}
}

func TestTrackerLogsAddedAndRemoved(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	tr := newTracker(Upstream{Service: "greet", Namespace: "default", Port: "50051"}, zap.New(core))
	var emitted [][]string
	update := func(eps []discovery.Endpoint) { emitted = append(emitted, addrsOf(eps)) }
	tr.apply([]*discoveryv1.EndpointSlice{v4("a", ep(readyConds, "10.0.0.1", "10.0.0.2"))}, update)
	tr.apply([]*discoveryv1.EndpointSlice{v4("a", ep(readyConds, "10.0.0.2", "10.0.0.3"))}, update)
	tr.apply([]*discoveryv1.EndpointSlice{v4("b", ep(readyConds, "10.0.0.3", "10.0.0.2"))}, update)
	if len(emitted) != 2 {
		t.Fatalf("emitted %v, want 2 sets (the third is unchanged)", emitted)
	}
	last := logs.FilterMessage("endpoints changed").All()[1].ContextMap()
	if last["added"] != int64(1) || last["removed"] != int64(1) ||
		!slices.Equal(last["added_sample"].([]any), []any{"10.0.0.3:50051"}) ||
		!slices.Equal(last["removed_sample"].([]any), []any{"10.0.0.1:50051"}) {
		t.Errorf("change line = %v, want 10.0.0.3 added and 10.0.0.1 removed", last)
	}
}

func TestAPIHealthLogsOutageAndRecoveryOnce(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	h := newAPIHealth(zap.New(core))
	ctx := context.Background()
	refused := errors.New("connection refused")
	h.observe(ctx, nil)
	for range 3 {
		h.observe(ctx, refused)
	}
	h.observe(ctx, nil)
	h.observe(ctx, nil)
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	h.observe(cancelled, context.Canceled)
	// Neither does a call that succeeds as the watch stops, once it has
	// failed again.
	h.observe(ctx, refused)
	h.observe(cancelled, nil)
	var msgs []string
	for _, e := range logs.All() {
		msgs = append(msgs, e.Message)
	}
	want := []string{"EndpointSlice watch failing, keeping the last endpoints", "EndpointSlice watch resumed",
		"EndpointSlice watch failing, keeping the last endpoints"}
	if !slices.Equal(msgs, want) {
		t.Errorf("log lines = %q, want %q", msgs, want)
	}
}
