// Package static provides endpoint sources that do not come from
// Kubernetes: a fixed list (--endpoints) and a watched file
// (--endpoints-file).
package static

import (
	"context"
	"errors"

	"github.com/roundabout-dev/roundabout/agent/discovery"
)

// fixed is a Source whose set never changes.
type fixed struct {
	addrs []string
}

// New returns a Source that emits addrs once, validated with ParseAddr,
// deduplicated and sorted. The error names the first bad entry, or says
// that the list is empty.
func New(addrs []string) (discovery.Source, error) {
	parsed, err := ParseAddrs(addrs)
	if err != nil {
		return nil, err
	}
	if len(parsed) == 0 {
		return nil, errors.New("no endpoints given")
	}
	return &fixed{addrs: parsed}, nil
}

// Watch emits the set once and waits for ctx to end.
func (f *fixed) Watch(ctx context.Context, update func([]discovery.Endpoint)) error {
	update(toEndpoints(f.addrs))
	<-ctx.Done()
	return nil
}

// toEndpoints returns a new slice, so the caller may keep it.
func toEndpoints(addrs []string) []discovery.Endpoint {
	eps := make([]discovery.Endpoint, len(addrs))
	for i, a := range addrs {
		eps[i] = discovery.Endpoint{Addr: a}
	}
	return eps
}
