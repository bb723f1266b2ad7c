package discovery

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roundabout-dev/roundabout/localcluster/netns/netnstest"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	k8sdiscovery "github.com/roundabout-dev/roundabout/agent/discovery/kubernetes"
	"github.com/roundabout-dev/roundabout/localcluster/controlplane"
	"github.com/roundabout-dev/roundabout/localcluster/netns"
)

// callTimeout bounds one API call.
const callTimeout = 30 * time.Second

// kubeCluster is etcd and kube-apiserver, shared by every test of the
// package and stopped by TestMain.
type kubeCluster struct {
	*controlplane.Cluster
	client kubernetes.Interface
}

var (
	clusterOnce sync.Once
	shared      *kubeCluster
	sharedErr   error
)

func TestMain(m *testing.M) {
	netns.ReexecFunc(func() int {
		code := m.Run()
		stopCluster()
		return code
	})
}

// slices reads EndpointSlices through the clientset, as any client-go user
// would; the agent binary reads them through RESTSlices (test/kubeagent).
func (c *kubeCluster) slices(ns string) k8sdiscovery.SliceClient {
	return c.client.DiscoveryV1().EndpointSlices(ns)
}

// needCluster returns the running cluster, starting it on first use, or
// skips t when the namespace or the binaries are missing.
func needCluster(t testing.TB) *kubeCluster {
	t.Helper()
	netnstest.Require(t)
	if controlplane.Assets() == "" {
		t.Skip(controlplane.SkipMessage)
	}
	clusterOnce.Do(func() { shared, sharedErr = startCluster() })
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return shared
}

func startCluster() (*kubeCluster, error) {
	c, err := controlplane.Start(controlplane.Assets())
	if err != nil {
		return nil, err
	}
	client, err := kubernetes.NewForConfig(c.Config)
	if err != nil {
		_ = c.Stop()
		return nil, err
	}
	return &kubeCluster{Cluster: c, client: client}, nil
}

func stopCluster() {
	if shared == nil {
		return
	}
	if err := shared.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "stop control plane: %v\n", err)
	}
}

var (
	notDNS     = regexp.MustCompile(`[^a-z0-9-]+`)
	namespaces atomic.Int64
)

// namespace creates a namespace named after t, unique in the run (a
// benchmark function runs more than once).
func (c *kubeCluster) namespace(t testing.TB) string {
	t.Helper()
	base := strings.Trim(notDNS.ReplaceAllString(strings.ToLower(t.Name()), "-"), "-")
	suffix := fmt.Sprintf("-%d", namespaces.Add(1))
	name := strings.Trim(base[:min(len(base), 63-len(suffix))], "-") + suffix
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	if _, err := c.client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create namespace %s: %v", name, err)
	}
	return name
}

// service creates a ClusterIP Service whose ports map name to the same
// target port number.
func (c *kubeCluster) service(t testing.TB, ns, name string, ports map[string]int32) {
	t.Helper()
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
	for pname, p := range ports {
		svc.Spec.Ports = append(svc.Spec.Ports, corev1.ServicePort{Name: pname, Port: p, TargetPort: intstr.FromInt32(p)})
	}
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	if _, err := c.client.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create service %s/%s: %v", ns, name, err)
	}
}

// put creates s, or updates it when it was written before, and keeps the
// written version in s for the next update.
func (c *kubeCluster) put(t testing.TB, s *discoveryv1.EndpointSlice) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	api := c.client.DiscoveryV1().EndpointSlices(s.Namespace)
	var got *discoveryv1.EndpointSlice
	var err error
	if s.ResourceVersion == "" {
		got, err = api.Create(ctx, s, metav1.CreateOptions{})
	} else {
		got, err = api.Update(ctx, s, metav1.UpdateOptions{})
	}
	if err != nil {
		t.Fatalf("write EndpointSlice %s/%s: %v", s.Namespace, s.Name, err)
	}
	*s = *got
}
