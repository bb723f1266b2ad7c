package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"

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
	h := newAPIHealth(Upstream{Service: "greet", Namespace: "default", Port: "grpc"}, zap.New(core))
	ctx := context.Background()
	refused := errors.New("connection refused")
	h.observe(ctx, "list", nil)
	h.markSynced()
	for range 3 {
		h.observe(ctx, "watch", refused)
	}
	if err := h.check(); err != nil {
		t.Errorf("check = %v while the API server is away after a sync; want nil", err)
	}
	h.observe(ctx, "list", nil)
	h.observe(ctx, "watch", nil)
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	h.observe(cancelled, "watch", context.Canceled)
	// Neither does a call that succeeds as the watch stops, once it has
	// failed again.
	h.observe(ctx, "watch", refused)
	h.observe(cancelled, "watch", nil)
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

func TestAPIHealthUnsyncedReportsTheLastFailure(t *testing.T) {
	h := newAPIHealth(Upstream{Service: "greet", Namespace: "default", Port: "grpc"}, zap.NewNop())
	if err := h.check(); err != nil {
		t.Fatalf("check before any call = %v, want nil", err)
	}
	h.observe(context.Background(), "list", errors.New("dial tcp 10.96.0.1:443: connection refused"))
	err := h.check()
	if err == nil || !strings.Contains(err.Error(), "default/greet") || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("check = %v, want the service and the failure", err)
	}
}

// forbiddenBy is the API server's refusal of verb on the EndpointSlices of
// namespace to user.
func forbiddenBy(user, verb, namespace string) error {
	return apierrors.NewForbidden(schema.GroupResource{Group: "discovery.k8s.io", Resource: "endpointslices"}, "",
		fmt.Errorf("User %q cannot %s resource \"endpointslices\" in API group \"discovery.k8s.io\" in the namespace %q",
			user, verb, namespace))
}

func TestAPIHealthForbiddenIsOneLineAndNotReady(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	h := newAPIHealth(Upstream{Service: "greet", Namespace: "team-a", Port: "grpc"}, zap.New(core))
	ctx := context.Background()
	denied := forbiddenBy("system:serviceaccount:app:client", "list", "team-a")
	for range 3 {
		h.observe(ctx, "list", denied)
		h.watchError(ctx, nil, fmt.Errorf("failed to list: %w", denied))
	}
	var fe *ForbiddenError
	if err := h.check(); !errors.As(err, &fe) {
		t.Fatalf("check = %v, want a *ForbiddenError", err)
	}
	grant := "kubectl create rolebinding roundabout-agent-app-client -n team-a --clusterrole=roundabout-agent " +
		"--serviceaccount=app:client"
	for _, want := range []string{`forbidden to list endpointslices.discovery.k8s.io in namespace "team-a"`,
		`"system:serviceaccount:app:client"`, grant} {
		if !strings.Contains(fe.Error(), want) {
			t.Errorf("check = %q, lacks %q", fe.Error(), want)
		}
	}
	lines := logs.FilterLevelExact(zap.ErrorLevel).All()
	if len(lines) != 1 || logs.Len() != 1 {
		t.Fatalf("%d log lines (%d errors), want one error line for the refusal", logs.Len(), len(lines))
	}
	fields := lines[0].ContextMap()
	if fields["verb"] != "list" || fields["resource"] != "endpointslices.discovery.k8s.io" ||
		fields["namespace"] != "team-a" || fields["grant"] != grant {
		t.Errorf("refusal line fields = %v", fields)
	}

	h.observe(ctx, "list", nil)
	if err := h.check(); err != nil {
		t.Errorf("check = %v once granted, want nil", err)
	}
	if resumed := logs.FilterMessage("EndpointSlice watch resumed").All(); len(resumed) != 1 ||
		resumed[0].ContextMap()["was"] != "forbidden" {
		t.Errorf("resumed lines = %v, want one, from forbidden", resumed)
	}
}

func TestForbiddenGrantNamesTheSubject(t *testing.T) {
	up := Upstream{Service: "greet", Namespace: "team-a", Port: "grpc"}
	const cmd = "kubectl create rolebinding %s -n team-a --clusterrole=roundabout-agent %s"
	for name, tc := range map[string]struct {
		err        error
		verb, want string
	}{
		"service account": {forbiddenBy("system:serviceaccount:app:client", "watch", "team-a"), "watch",
			fmt.Sprintf(cmd, "roundabout-agent-app-client", "--serviceaccount=app:client")},
		"user": {forbiddenBy("Jane.Doe@example.com", "list", "team-a"), "list",
			fmt.Sprintf(cmd, "roundabout-agent-jane.doe-example.com", "--user=Jane.Doe@example.com")},
		"user a shell would split": {forbiddenBy("jane doe", "list", "team-a"), "list",
			fmt.Sprintf(cmd, "roundabout-agent-jane-doe", "--user='jane doe'")},
		"unnamed": {apierrors.NewForbidden(schema.GroupResource{}, "", errors.New("no")), "watch",
			fmt.Sprintf(cmd, "roundabout-agent", "--serviceaccount=<pod-namespace>:<service-account>")},
	} {
		e := newForbiddenError(up, "watch", tc.err)
		if e.Verb != tc.verb || e.Grant() != tc.want {
			t.Errorf("%s: verb %q, grant %q; want %q, %q", name, e.Verb, e.Grant(), tc.verb, tc.want)
		}
	}
}

// The Source reports a refused list through Check, emits nothing, and
// syncs once the list is allowed.
func TestSourceReportsForbiddenUntilGranted(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	client := fake.NewClientset()
	var allowed atomic.Bool
	client.PrependReactor("list", "endpointslices", func(clienttesting.Action) (bool, runtime.Object, error) {
		if allowed.Load() {
			return false, nil, nil
		}
		return true, nil, forbiddenBy("system:serviceaccount:app:client", "list", "default")
	})
	slicesOf := func(ns string) SliceClient { return fakeSlices{client.DiscoveryV1().EndpointSlices(ns)} }
	src := New(slicesOf, Upstream{Service: "greet", Namespace: "default", Port: "grpc"}, zap.New(core))
	ctx, cancel := context.WithCancel(context.Background())
	got := make(sets, 16)
	done := make(chan error, 1)
	go func() { done <- src.Watch(ctx, got.update) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Watch returned %v", err)
		}
	}()
	checker := src.(discovery.Checker)
	deadline := time.Now().Add(waitFor)
	var fe *ForbiddenError
	for !errors.As(checker.Check(), &fe) {
		if time.Now().After(deadline) {
			t.Fatalf("Check = %v, want a *ForbiddenError", checker.Check())
		}
		time.Sleep(10 * time.Millisecond)
	}
	got.none(t, 100*time.Millisecond)
	allowed.Store(true)
	if set := got.next(t); len(set) != 0 {
		t.Fatalf("first set = %v, want empty", set)
	}
	if err := checker.Check(); err != nil {
		t.Fatalf("Check = %v once allowed", err)
	}
	if n := logs.FilterMessageSnippet("forbidden").Len(); n != 1 {
		t.Errorf("%d refusal lines, want 1", n)
	}
}
