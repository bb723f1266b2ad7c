package kubernetes

import (
	"context"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
)

// SliceClient lists and watches the EndpointSlices of one namespace. The
// typed client-go interface (clientset.DiscoveryV1().EndpointSlices(ns))
// satisfies it, and so does the client RESTSlices returns.
type SliceClient interface {
	List(ctx context.Context, opts metav1.ListOptions) (*discoveryv1.EndpointSliceList, error)
	Watch(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error)
}

// Slices returns the SliceClient of a namespace.
type Slices func(namespace string) SliceClient

var (
	sliceScheme = runtime.NewScheme()
	sliceCodecs = serializer.NewCodecFactory(sliceScheme)
	sliceParams = runtime.NewParameterCodec(sliceScheme)
)

func init() {
	utilruntime.Must(discoveryv1.AddToScheme(sliceScheme))
}

// RESTSlices reads EndpointSlices through a REST client that knows only
// discovery.k8s.io/v1. The agent uses it instead of a clientset, whose
// every API group would add tens of MiB to a sidecar that needs one.
func RESTSlices(cfg *rest.Config) (Slices, error) {
	c := rest.CopyConfig(cfg)
	c.GroupVersion = &discoveryv1.SchemeGroupVersion
	c.APIPath = "/apis"
	c.NegotiatedSerializer = sliceCodecs.WithoutConversion()
	if c.UserAgent == "" {
		c.UserAgent = rest.DefaultKubernetesUserAgent()
	}
	rc, err := rest.RESTClientFor(c)
	if err != nil {
		return nil, err
	}
	return func(ns string) SliceClient { return &restSlices{rc: rc, ns: ns} }, nil
}

type restSlices struct {
	rc *rest.RESTClient
	ns string
}

func (s *restSlices) request(opts *metav1.ListOptions) *rest.Request {
	r := s.rc.Get().Namespace(s.ns).Resource("endpointslices").VersionedParams(opts, sliceParams)
	if opts.TimeoutSeconds != nil {
		r = r.Timeout(time.Duration(*opts.TimeoutSeconds) * time.Second)
	}
	return r
}

func (s *restSlices) List(ctx context.Context, opts metav1.ListOptions) (*discoveryv1.EndpointSliceList, error) {
	out := &discoveryv1.EndpointSliceList{}
	return out, s.request(&opts).Do(ctx).Into(out)
}

func (s *restSlices) Watch(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
	opts.Watch = true
	return s.request(&opts).Watch(ctx)
}
