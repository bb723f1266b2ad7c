package controlplane_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/roundabout-dev/roundabout/localcluster/netns/netnstest"

	"github.com/miekg/dns"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"
	appsv1 "k8s.io/api/apps/v1"
	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"

	"github.com/roundabout-dev/roundabout/localcluster/controlplane"
	"github.com/roundabout-dev/roundabout/localcluster/netns"
)

const (
	nodeName    = "roundabout-node"
	waitTimeout = time.Minute
	backendPort = 8080
	connections = 20
)

// backends are two addresses of the node namespace that stand for pods.
var backends = []string{netns.PodIP(20), netns.PodIP(21)}

func TestStack(t *testing.T) {
	if controlplane.Assets() == "" {
		t.Skip(controlplane.SkipMessage)
	}
	netnstest.Require(t)
	if !netns.NodeMode() {
		t.Fatal("the namespace is not in node mode: TestMain must call netns.ReexecNode")
	}
	s := startStack(t)
	client := kubernetes.NewForConfigOrDie(s.Config)
	checkNode(t, client)
	serveBackends(t)

	t.Run("ClusterIPThroughKubeProxy", func(t *testing.T) { checkClusterIP(t, client) })
	t.Run("DNS", func(t *testing.T) { checkDNS(t, s, client) })
	t.Run("ServiceAccounts", func(t *testing.T) { checkServiceAccounts(t, s, client) })
	t.Run("Deployment", func(t *testing.T) { checkDeployment(t, client) })
	t.Run("KubernetesService", func(t *testing.T) { checkKubernetesService(t, s) })
	t.Run("ContainerLogs", func(t *testing.T) { checkContainerLogs(t, client) })
	t.Run("Stop", func(t *testing.T) { checkStop(t, s) })
}

func TestStartStackOptions(t *testing.T) {
	dir := t.TempDir()
	for name, tc := range map[string]struct {
		o    controlplane.StackOptions
		want string
	}{
		"NodeIP":   {controlplane.StackOptions{Assets: dir, Dir: dir, NodeName: nodeName, NodeIP: "node"}, "StackOptions.NodeIP"},
		"NodeName": {controlplane.StackOptions{Assets: dir, Dir: dir, NodeIP: netns.NodeIP}, "StackOptions.NodeName"},
		"Dir":      {controlplane.StackOptions{Assets: dir, NodeName: nodeName, NodeIP: netns.NodeIP}, "StackOptions.Dir"},
		"Assets":   {controlplane.StackOptions{Assets: dir, Dir: dir, NodeName: nodeName, NodeIP: netns.NodeIP}, "kube-proxy"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := controlplane.StartStack(context.Background(), tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("StartStack(%+v) = %v, want an error naming %s", tc.o, err, tc.want)
			}
		})
	}
}

// startStack starts the stack and stops it when the test ends, unless the
// test stopped it already.
func startStack(t *testing.T) *controlplane.Stack {
	t.Helper()
	begin := time.Now()
	s, err := controlplane.StartStack(t.Context(), controlplane.StackOptions{Assets: controlplane.Assets(), Dir: t.TempDir(),
		NodeName: nodeName, NodeIP: netns.NodeIP, Log: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatalf("StartStack: %v", err)
	}
	t.Logf("StartStack took %s", time.Since(begin).Round(time.Millisecond))
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return s
}

// checkNode finds the Node StartStack registers, with the address
// kube-proxy needs.
func checkNode(t *testing.T, client kubernetes.Interface) {
	t.Helper()
	node, err := client.CoreV1().Nodes().Get(t.Context(), nodeName, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get Node: %v", err)
	}
	want := []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: netns.NodeIP}}
	if !slices.Equal(node.Status.Addresses, want) {
		t.Fatalf("Node %s addresses = %v, want %v", nodeName, node.Status.Addresses, want)
	}
}

// serveBackends listens on every backend address and answers each
// connection with that address.
func serveBackends(t *testing.T) {
	t.Helper()
	for _, ip := range backends {
		netnstest.AddAddr(t, ip+"/32")
		l, err := net.Listen("tcp", net.JoinHostPort(ip, fmt.Sprint(backendPort)))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				fmt.Fprintln(c, ip)
				c.Close()
			}
		}()
	}
}

// createService makes a Service without a selector and an EndpointSlice
// listing backends; clusterIP "None" makes it headless.
func createService(t *testing.T, client kubernetes.Interface, name, clusterIP string) *corev1.Service {
	t.Helper()
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: metav1.NamespaceDefault},
		Spec: corev1.ServiceSpec{ClusterIP: clusterIP, Ports: []corev1.ServicePort{{Name: "echo", Port: 80}}}}
	svc, err := client.CoreV1().Services(svc.Namespace).Create(t.Context(), svc, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create Service %s: %v", name, err)
	}
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: svc.Namespace,
			Labels: map[string]string{discoveryv1.LabelServiceName: name}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("echo"), Port: ptr.To[int32](backendPort)}},
	}
	for _, ip := range backends {
		slice.Endpoints = append(slice.Endpoints, discoveryv1.Endpoint{Addresses: []string{ip},
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}})
	}
	if _, err := client.DiscoveryV1().EndpointSlices(svc.Namespace).Create(t.Context(), slice, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create EndpointSlice %s: %v", name, err)
	}
	return svc
}

// checkClusterIP dials a Service's ClusterIP, which only kube-proxy's
// rules make reachable, and finds that each new connection may go to
// another backend.
func checkClusterIP(t *testing.T, client kubernetes.Interface) {
	svc := createService(t, client, "echo", "")
	addr := net.JoinHostPort(svc.Spec.ClusterIP, "80")
	eventually(t, "kube-proxy to program "+addr, func() error { _, err := echo(addr); return err })
	tally := map[string]int{}
	for range connections {
		from, err := echo(addr)
		if err != nil {
			t.Fatalf("connection to %s: %v", addr, err)
		}
		tally[from]++
	}
	t.Logf("%d connections to %s: %v", connections, addr, tally)
	for _, ip := range backends {
		if tally[ip] == 0 {
			t.Errorf("no connection to %s reached backend %s: %v", addr, ip, tally)
		}
	}
}

// echo opens one connection to addr and returns what the backend says.
func echo(addr string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line), err
}

// checkDNS asks CoreDNS, through the kube-dns ClusterIP, for a Service's
// ClusterIP over UDP and TCP and for a headless Service's endpoints.
func checkDNS(t *testing.T, s *controlplane.Stack, client kubernetes.Interface) {
	svc := createService(t, client, "echo-dns", "")
	headless := createService(t, client, "echo-headless", corev1.ClusterIPNone)
	server := net.JoinHostPort(s.DNSIP, "53")
	for _, proto := range []string{"udp", "tcp"} {
		name := fmt.Sprintf("%s.%s.svc.%s.", svc.Name, svc.Namespace, s.ClusterDomain)
		eventually(t, proto+" "+name+" A "+svc.Spec.ClusterIP, func() error {
			return wantA(proto, server, name, []string{svc.Spec.ClusterIP})
		})
	}
	name := fmt.Sprintf("%s.%s.svc.%s.", headless.Name, headless.Namespace, s.ClusterDomain)
	eventually(t, name+" A "+strings.Join(backends, ","), func() error { return wantA("udp", server, name, backends) })
}

// wantA asks server for the A records of name and compares them with want.
func wantA(proto, server, name string, want []string) error {
	msg := new(dns.Msg).SetQuestion(name, dns.TypeA)
	resp, _, err := (&dns.Client{Net: proto, Timeout: 2 * time.Second}).Exchange(msg, server)
	if err != nil {
		return err
	}
	var got []string
	for _, rr := range resp.Answer {
		if a, ok := rr.(*dns.A); ok {
			got = append(got, a.A.String())
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		return fmt.Errorf("%s A = %v (rcode %s), want %v", name, got, dns.RcodeToString[resp.Rcode], want)
	}
	return nil
}

// checkServiceAccounts finds the default ServiceAccount the controller
// manager makes, a token for it that the API server accepts, and the CA
// published in every namespace.
func checkServiceAccounts(t *testing.T, s *controlplane.Stack, client kubernetes.Interface) {
	ctx := t.Context()
	tr, err := client.CoreV1().ServiceAccounts("default").CreateToken(ctx, "default",
		&authnv1.TokenRequest{Spec: authnv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](600)}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("TokenRequest for default/default: %v", err)
	}
	review, err := client.AuthenticationV1().TokenReviews().Create(ctx,
		&authnv1.TokenReview{Spec: authnv1.TokenReviewSpec{Token: tr.Status.Token}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("TokenReview: %v", err)
	}
	if want := "system:serviceaccount:default:default"; !review.Status.Authenticated || review.Status.User.Username != want {
		t.Errorf("token authenticates as %+v, want %s", review.Status, want)
	}
	ca, err := os.ReadFile(s.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "kube-root-ca.crt in default holding "+s.CAFile, func() error {
		cm, err := client.CoreV1().ConfigMaps("default").Get(ctx, "kube-root-ca.crt", metav1.GetOptions{})
		if err == nil && cm.Data["ca.crt"] != string(ca) {
			err = errors.New("ca.crt differs from CAFile")
		}
		return err
	})
}

// checkDeployment finds a Deployment's ReplicaSet and Pods, admitted with
// their service account token volume and left unbound: no scheduler runs.
func checkDeployment(t *testing.T, client kubernetes.Interface) {
	ctx := t.Context()
	labels := map[string]string{"app": "idle"}
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "idle", Namespace: metav1.NamespaceDefault},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](2), Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "idle", Image: "example.invalid/idle:v1"}}}}}}
	if _, err := client.AppsV1().Deployments(d.Namespace).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create Deployment: %v", err)
	}
	eventually(t, "2 pending pods of Deployment idle", func() error {
		pods, err := client.CoreV1().Pods(d.Namespace).List(ctx, metav1.ListOptions{LabelSelector: "app=idle"})
		if err != nil {
			return err
		}
		if len(pods.Items) != 2 {
			return fmt.Errorf("%d pods", len(pods.Items))
		}
		for _, p := range pods.Items {
			if err := checkPod(&p); err != nil {
				return err
			}
		}
		return nil
	})
}

// checkPod checks a pod of Deployment idle: owned by a ReplicaSet, pending,
// unbound, with the kube-api-access volume the ServiceAccount admission
// plugin adds.
func checkPod(p *corev1.Pod) error {
	owner := metav1.GetControllerOf(p)
	switch {
	case owner == nil || owner.Kind != "ReplicaSet" || !strings.HasPrefix(owner.Name, "idle-"):
		return fmt.Errorf("pod %s: controller %+v, want a ReplicaSet idle-*", p.Name, owner)
	case p.Status.Phase != corev1.PodPending || p.Spec.NodeName != "":
		return fmt.Errorf("pod %s: phase %q on node %q, want Pending and unbound", p.Name, p.Status.Phase, p.Spec.NodeName)
	case !slices.ContainsFunc(p.Spec.Volumes, func(v corev1.Volume) bool { return strings.HasPrefix(v.Name, "kube-api-access-") }):
		return fmt.Errorf("pod %s: no kube-api-access volume: is the ServiceAccount admission plugin off?", p.Name)
	}
	return nil
}

// checkKubernetesService reaches the API server the way a pod does: through
// the kubernetes Service's ClusterIP, with the kubeconfig's credentials,
// trusting CAFile only.
func checkKubernetesService(t *testing.T, s *controlplane.Stack) {
	cfg, err := clientcmd.BuildConfigFromFlags("", s.Kubeconfig)
	if err != nil {
		t.Fatalf("load %s: %v", s.Kubeconfig, err)
	}
	cfg.Host = "https://10.0.0.1:443"
	cfg.TLSClientConfig = rest.TLSClientConfig{CAFile: s.CAFile, CertData: cfg.CertData, KeyData: cfg.KeyData}
	cfg.Timeout = 5 * time.Second
	client := kubernetes.NewForConfigOrDie(cfg)
	eventually(t, "GET "+cfg.Host+"/version", func() error {
		v, err := client.Discovery().ServerVersion()
		if err == nil && v.GitVersion == "" {
			err = errors.New("empty gitVersion")
		}
		return err
	})
}

// checkContainerLogs reads a container's log the way kubectl logs does:
// the API server asks the node's InternalIP on its kubelet port, over TLS
// with a certificate no CA vouches for.
func checkContainerLogs(t *testing.T, client kubernetes.Interface) {
	ctx := t.Context()
	kubelet := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "log of %s\n", r.URL.Path)
	}))
	l, err := net.Listen("tcp", net.JoinHostPort(netns.NodeIP, "0"))
	if err != nil {
		t.Fatal(err)
	}
	kubelet.Listener = l
	kubelet.StartTLS()
	defer kubelet.Close()
	node, err := client.CoreV1().Nodes().Get(ctx, nodeName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	node.Status.DaemonEndpoints.KubeletEndpoint.Port = int32(l.Addr().(*net.TCPAddr).Port)
	if _, err := client.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("set the kubelet port: %v", err)
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "logs", Namespace: metav1.NamespaceDefault},
		Spec: corev1.PodSpec{NodeName: nodeName, Containers: []corev1.Container{{Name: "c", Image: "example.invalid/c:v1"}}}}
	if _, err := client.CoreV1().Pods(pod.Namespace).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create Pod: %v", err)
	}
	got, err := client.CoreV1().Pods(pod.Namespace).GetLogs(pod.Name, &corev1.PodLogOptions{Container: "c"}).DoRaw(ctx)
	if want := "log of /containerLogs/default/logs/c\n"; err != nil || string(got) != want {
		t.Errorf("logs of default/logs/c = %q, %v; want %q", got, err, want)
	}
}

// checkStop stops the stack and finds none of its processes and no
// listener on the API server's port.
func checkStop(t *testing.T, s *controlplane.Stack) {
	pids := s.Pids()
	if len(pids) != 3 {
		t.Errorf("stack runs %v, want kube-controller-manager, kube-proxy and coredns", pids)
	}
	api, err := url.Parse(s.Config.Host)
	if err != nil {
		t.Fatal(err)
	}
	begin := time.Now()
	if err := s.Stop(); err != nil {
		t.Errorf("Stop: %v", err)
	}
	t.Logf("Stop took %s", time.Since(begin).Round(time.Millisecond))
	for name, pid := range pids {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("%s (pid %d) still exists after Stop: kill -0: %v", name, pid, err)
		}
	}
	if c, err := net.DialTimeout("tcp", api.Host, time.Second); err == nil {
		c.Close()
		t.Errorf("%s still accepts connections after Stop", api)
	}
}

// eventually polls check until it succeeds or waitTimeout passes.
func eventually(t *testing.T, what string, check func() error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		err := check()
		if err == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v", what, err)
		case <-tick.C:
		}
	}
}

// TestStartStackFailure holds CoreDNS's port, so the last component fails
// to start, and finds the error naming it with its log, and every
// component started before it stopped, in reverse order.
func TestStartStackFailure(t *testing.T) {
	if controlplane.Assets() == "" {
		t.Skip(controlplane.SkipMessage)
	}
	netnstest.Require(t)
	busy, err := net.ListenPacket("udp", net.JoinHostPort(netns.NodeIP, "53"))
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	core, logs := observer.New(zapcore.InfoLevel)
	log := zap.New(zapcore.NewTee(core, zaptest.NewLogger(t).Core()))
	_, err = controlplane.StartStack(t.Context(), controlplane.StackOptions{Assets: controlplane.Assets(), Dir: t.TempDir(),
		NodeName: nodeName, NodeIP: netns.NodeIP, Log: log})
	if err == nil {
		t.Fatal("StartStack succeeded with CoreDNS's port taken")
	}
	t.Logf("StartStack: %v", err)
	for _, want := range []string{"coredns", "last lines of", "address already in use"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q", want)
		}
	}
	var stopped []string
	for _, e := range logs.FilterMessage("component stopped").All() {
		stopped = append(stopped, fmt.Sprint(e.ContextMap()["component"]))
	}
	want := []string{"coredns", "kube-proxy", "kube-controller-manager", "kube-apiserver", "etcd"}
	if !slices.Equal(stopped, want) {
		t.Errorf("stopped %v, want %v", stopped, want)
	}
}
