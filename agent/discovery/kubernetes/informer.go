package kubernetes

import (
	"context"

	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
)

// newInformer returns an informer over the EndpointSlices of up's Service,
// in its namespace only. Every list and watch call reports its outcome to
// health.
//
// The list-watch is built here rather than by a SharedInformerFactory so
// that health sees each call: the reflector retries a watch refused by a
// stopped API server by itself, without calling the watch error handler,
// so an outage and its end would otherwise go unnoticed.
func newInformer(client Slices, up Upstream, health *apiHealth) cache.SharedIndexInformer {
	slices := client(up.Namespace)
	selector := sliceSelector(up.Service)
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
			opts.LabelSelector = selector
			list, err := slices.List(ctx, opts)
			health.observe(ctx, "list", err)
			return list, err
		},
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			opts.LabelSelector = selector
			w, err := slices.Watch(ctx, opts)
			health.observe(ctx, "watch", err)
			return w, err
		},
	}
	return cache.NewSharedIndexInformerWithOptions(cache.ToListWatcherWithWatchListSemantics(lw, slices),
		&discoveryv1.EndpointSlice{}, cache.SharedIndexInformerOptions{
			ObjectDescription: "EndpointSlices of " + up.String(),
			Indexers:          cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc},
		})
}
