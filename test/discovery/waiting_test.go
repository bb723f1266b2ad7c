package discovery

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/roundabout-dev/roundabout/greet/greettest"
)

// failFast bounds how long a call takes to fail while there is no endpoint.
const failFast = time.Second

// TestServiceCreatedLater: before the Service exists, calls fail at once
// with UNAVAILABLE naming the upstream; once its slice is written, calls
// reach the pod.
func TestServiceCreatedLater(t *testing.T) {
	c := needCluster(t)
	ns := c.namespace(t)
	a := startAgent(t, c, fmt.Sprintf("greetserver.%s:%d", ns, greetPort))
	a.waitLog(t, "waiting for service")

	began := time.Now()
	_, err := a.greet(context.Background())
	took := time.Since(began)
	if status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), a.up.String()) {
		t.Errorf("Greet before the Service exists = %v, want UNAVAILABLE naming %s", err, a.up)
	}
	if took > failFast {
		t.Errorf("Greet before the Service exists took %s, want under %s", took, failFast)
	}

	pod := greettest.Start(t, "10.244.0.11:50051", "pod-a")
	c.service(t, ns, "greetserver", map[string]int32{"grpc": greetPort})
	c.put(t, newSlice(ns, "greetserver", "greetserver-1", ready(pod)...))
	a.waitEndpoints(t, pod)
	if got := greettest.Tally(a.greetN(t, 5)); got["pod-a"] != 5 {
		t.Errorf("calls once the Service exists = %v, want 5 on pod-a", got)
	}
	if n := a.logs.FilterMessageSnippet("waiting for service").Len(); n != 1 {
		t.Errorf("'waiting for service' logged %d times, want once", n)
	}
}
