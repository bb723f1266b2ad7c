package controlplane

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"text/template"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

// managedBy marks the kube-dns EndpointSlice as this package's, so the
// endpointslice controller leaves it alone.
const managedBy = "test-cluster.roundabout.dev"

// corefile serves the cluster domain and reverse zones from the API, on the
// node address only. There is no forward plugin: nothing outside exists.
var corefile = template.Must(template.New("Corefile").Parse(`.:53 {
    bind {{.NodeIP}}
    errors
    health {{.Health}}
    ready {{.Ready}}
    kubernetes {{.Domain}} in-addr.arpa ip6.arpa {
        kubeconfig {{.Kubeconfig}}
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 5
    }
}
`))

// startCoreDNS runs CoreDNS on o.NodeIP:53 and waits until its kubernetes
// plugin has synced with the API server and it answers for the kubernetes
// Service over UDP and TCP. Readiness alone is not enough: the ready
// endpoint serves before the DNS listeners are bound.
func (s *Stack) startCoreDNS(ctx context.Context, o StackOptions) error {
	health, err := freeAddr()
	if err != nil {
		return fmt.Errorf("coredns: health port: %w", err)
	}
	ready, err := freeAddr()
	if err != nil {
		return fmt.Errorf("coredns: ready port: %w", err)
	}
	conf := filepath.Join(o.Dir, "Corefile")
	f, err := os.Create(conf)
	if err != nil {
		return fmt.Errorf("coredns: %w", err)
	}
	err = corefile.Execute(f, map[string]string{"NodeIP": o.NodeIP, "Health": health, "Ready": ready,
		"Domain": clusterDomain, "Kubeconfig": s.Kubeconfig})
	if err := errors.Join(err, f.Close()); err != nil {
		return fmt.Errorf("coredns: write %s: %w", conf, err)
	}
	addr := net.JoinHostPort(o.NodeIP, "53")
	return s.runProcess(ctx, "coredns", filepath.Join(o.Assets, "coredns"), []string{"-conf", conf}, addr,
		all(healthy("http://"+ready+"/ready"), resolves(addr, "kubernetes.default.svc."+clusterDomain+".", apiServiceIP)))
}

// publishDNS makes CoreDNS the cluster's DNS: Service kube-system/kube-dns
// at DNSIP, with no selector, and an EndpointSlice naming the node.
func (s *Stack) publishDNS(ctx context.Context, o StackOptions) error {
	client, err := kubernetes.NewForConfig(s.Config)
	if err != nil {
		return err
	}
	svc, slice := dnsService(s.DNSIP), dnsEndpoints(o.NodeIP)
	if _, err := client.CoreV1().Services(svc.Namespace).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("coredns: create Service %s/%s: %w", svc.Namespace, svc.Name, err)
	}
	if _, err := client.DiscoveryV1().EndpointSlices(slice.Namespace).Create(ctx, slice, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("coredns: create EndpointSlice %s/%s: %w", slice.Namespace, slice.Name, err)
	}
	s.log.Info("kube-dns published", zap.String("clusterIP", s.DNSIP), zap.String("endpoint", o.NodeIP))
	return nil
}

func dnsService(clusterIP string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: metav1.NamespaceSystem, Name: "kube-dns",
			Labels: map[string]string{"k8s-app": "kube-dns"}},
		Spec: corev1.ServiceSpec{
			ClusterIP: clusterIP,
			Ports: []corev1.ServicePort{
				{Name: "dns", Protocol: corev1.ProtocolUDP, Port: 53},
				{Name: "dns-tcp", Protocol: corev1.ProtocolTCP, Port: 53},
			},
		},
	}
}

func dnsEndpoints(nodeIP string) *discoveryv1.EndpointSlice {
	return &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Namespace: metav1.NamespaceSystem, Name: "kube-dns-node",
			Labels: map[string]string{discoveryv1.LabelServiceName: "kube-dns", discoveryv1.LabelManagedBy: managedBy}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints: []discoveryv1.Endpoint{{Addresses: []string{nodeIP},
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}},
		Ports: []discoveryv1.EndpointPort{
			{Name: ptr.To("dns"), Protocol: ptr.To(corev1.ProtocolUDP), Port: ptr.To[int32](53)},
			{Name: ptr.To("dns-tcp"), Protocol: ptr.To(corev1.ProtocolTCP), Port: ptr.To[int32](53)},
		},
	}
}
