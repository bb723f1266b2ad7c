package kubernetes

import (
	"slices"

	"go.uber.org/zap"
	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/roundabout-dev/roundabout/agent/discovery"
)

// sampleSize caps how many added or removed addresses one log line lists.
const sampleSize = 5

// tracker turns the slices in the informer's cache into emitted endpoint
// sets, emitting only sets that differ from the last one.
type tracker struct {
	up      Upstream
	log     *zap.Logger
	last    []string // addresses of the last emitted set
	emitted bool
	waiting bool // the Service has no slices
}

func newTracker(up Upstream, log *zap.Logger) *tracker { return &tracker{up: up, log: log} }

// apply merges the Service's slices and emits the set if it changed.
func (t *tracker) apply(all []*discoveryv1.EndpointSlice, update func([]discovery.Endpoint)) {
	t.noteWaiting(len(all) == 0)
	eps := merge(all, t.up.Port)
	addrs := addrsOf(eps)
	if t.emitted && slices.Equal(addrs, t.last) {
		return
	}
	t.logChange(addrs)
	t.last, t.emitted = addrs, true
	update(eps)
}

// noteWaiting logs when the Service has no slices, and when they appear.
func (t *tracker) noteWaiting(none bool) {
	switch {
	case none && !t.waiting && t.up.Port == "":
		t.log.Info("waiting for service: it has no EndpointSlices yet",
			zap.String("service", t.up.Service), zap.String("namespace", t.up.Namespace))
	case none && !t.waiting:
		t.log.Info("waiting for service: it has no EndpointSlices yet; RPCs fail with UNAVAILABLE until it has",
			zap.String("service", t.up.Service), zap.String("namespace", t.up.Namespace))
	case !none && t.waiting:
		t.log.Info("service found", zap.String("service", t.up.Service), zap.String("namespace", t.up.Namespace))
	}
	t.waiting = none
}

func (t *tracker) logChange(addrs []string) {
	added, removed := diff(t.last, addrs), diff(addrs, t.last)
	t.log.Info("endpoints changed", zap.Int("endpoints", len(addrs)),
		zap.Int("added", len(added)), zap.Strings("added_sample", sample(added)),
		zap.Int("removed", len(removed)), zap.Strings("removed_sample", sample(removed)))
}

// diff returns the sorted addresses of b that are not in the sorted a.
func diff(a, b []string) []string {
	var out []string
	for _, x := range b {
		if _, found := slices.BinarySearch(a, x); !found {
			out = append(out, x)
		}
	}
	return out
}

func sample(addrs []string) []string { return addrs[:min(len(addrs), sampleSize)] }

func addrsOf(eps []discovery.Endpoint) []string {
	out := make([]string, len(eps))
	for i, e := range eps {
		out[i] = e.Addr
	}
	return out
}
