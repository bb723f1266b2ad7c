// Package discovery defines where the agent learns its endpoints from.
//
// A Source emits the complete set of endpoints of one upstream every time it
// changes. Sources never dial or balance; the agent diffs each set against
// its connection pool in one place.
package discovery

import "context"

// Endpoint is one server address an upstream resolves to.
type Endpoint struct {
	// Addr is host:port, with IPv6 hosts in brackets.
	Addr string
}

// Source watches one upstream's endpoints.
type Source interface {
	// Watch calls update with the full endpoint set whenever it changes,
	// starting with the current one, until ctx is done. Sets passed to
	// update are never modified afterwards. Watch returns nil when ctx ends,
	// or an error if the source cannot run at all.
	//
	// The first call of update, even with an empty set, means the source
	// has synced: it knows the upstream's endpoints, or that there are none.
	Watch(ctx context.Context, update func([]Endpoint)) error
}

// Checker is a Source that can be stopped from following its endpoints by
// something outside it that an operator must fix, such as a permission
// the API server refuses.
type Checker interface {
	// Check returns nil while the source can follow its endpoints, or an
	// error that names what stops it and how to fix it. The agent is not
	// ready while it is not nil.
	Check() error
}
