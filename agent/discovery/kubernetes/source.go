// Package kubernetes is the endpoint source of an upstream that is a
// Kubernetes Service: it watches the Service's EndpointSlices
// (discovery.k8s.io/v1) and emits the merged set of endpoints that can take
// requests.
//
// The watch is limited to the Service's namespace and to the label
// kubernetes.io/service-name=<service>, so the agent needs get, list and
// watch on endpointslices in that namespace and nothing cluster-wide.
package kubernetes

import (
	"context"
	"fmt"
	"strings"

	"go.uber.org/zap"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/roundabout-dev/roundabout/agent/discovery"
)

// Source follows the EndpointSlices of one Service port.
type Source struct {
	client Slices
	up     Upstream
	log    *zap.Logger
	health *apiHealth
}

// New returns the Source of up, read through client (RESTSlices, or a
// clientset's DiscoveryV1().EndpointSlices). log receives one line per
// change of the endpoint set and of the API server's reachability. The
// Source is a discovery.Checker: a refused list or watch is reported by
// Check, with the RoleBinding that fixes it.
func New(client Slices, up Upstream, log *zap.Logger) discovery.Source {
	if log == nil {
		log = zap.NewNop()
	}
	log = log.With(zap.String("upstream", up.String()))
	return &Source{client: client, up: up, log: log, health: newAPIHealth(up, log)}
}

// NewPeers returns a Source of the IP addresses of the pods behind the
// Service service in namespace, read through client, with the same rules
// as New: ready pods, or serving and terminating ones when none is ready.
// The agent learns its place among its peers from it.
func NewPeers(client Slices, namespace, service string, log *zap.Logger) (discovery.Source, error) {
	up := Upstream{Service: service, Namespace: namespace}
	if errs := validation.IsDNS1035Label(service); len(errs) > 0 {
		return nil, fmt.Errorf("service %q: %s", service, strings.Join(errs, "; "))
	}
	if errs := validation.IsDNS1123Label(namespace); len(errs) > 0 {
		return nil, fmt.Errorf("namespace %q: %s", namespace, strings.Join(errs, "; "))
	}
	return New(client, up, log), nil
}

// Check is nil while the Source follows the Service's EndpointSlices, and
// also while the API server is away once they have been listed: the last
// set is kept meanwhile. It is a *ForbiddenError while the API server
// refuses the agent's identity, and the last failure until the first list
// succeeds.
func (s *Source) Check() error { return s.health.check() }

// Watch runs an informer over the Service's EndpointSlices and calls update
// with the merged set after the first sync and after every change of it. An
// API server that cannot be reached never empties the set: the last one is
// kept until the informer has resynced. Watch runs once per Source.
func (s *Source) Watch(ctx context.Context, update func([]discovery.Endpoint)) error {
	health := s.health
	inf := newInformer(s.client, s.up, health)
	changed := make(chan struct{}, 1)
	if _, err := inf.AddEventHandler(notifier(changed)); err != nil {
		return fmt.Errorf("upstream %s: watch EndpointSlices: %w", s.up, err)
	}
	if err := inf.SetWatchErrorHandlerWithContext(health.watchError); err != nil {
		return fmt.Errorf("upstream %s: watch EndpointSlices: %w", s.up, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		inf.RunWithContext(ctx)
	}()
	defer func() { cancel(); <-stopped }()
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		return nil
	}
	health.markSynced()
	lister := discoverylisters.NewEndpointSliceLister(inf.GetIndexer()).EndpointSlices(s.up.Namespace)
	s.follow(ctx, lister, changed, update)
	return nil
}

// follow emits the set from the informer's cache now and after every
// change notification, until ctx ends. Notifications that arrive while a set
// is computed collapse into one.
func (s *Source) follow(ctx context.Context, lister discoverylisters.EndpointSliceNamespaceLister,
	changed <-chan struct{}, update func([]discovery.Endpoint)) {
	t := newTracker(s.up, s.log)
	for {
		slices, err := lister.List(labels.Everything())
		if err != nil {
			s.log.Warn("reading EndpointSlices from the informer cache", zap.Error(err))
		} else {
			t.apply(slices, update)
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		}
	}
}

// notifier signals ch, without blocking, on every add, update and delete.
func notifier(ch chan<- struct{}) cache.ResourceEventHandler {
	notify := func() {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { notify() },
		UpdateFunc: func(any, any) { notify() },
		DeleteFunc: func(any) { notify() },
	}
}

// sliceSelector is the label the endpointslice controller puts on every
// slice of a Service.
func sliceSelector(service string) string {
	return labels.Set{discoveryv1.LabelServiceName: service}.String()
}
