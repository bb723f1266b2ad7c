package podrunner

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/roundabout-dev/roundabout/localcluster/netns/netnstest"

	"go.uber.org/zap/zaptest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/roundabout-dev/roundabout/localcluster/controlplane"
	"github.com/roundabout-dev/roundabout/localcluster/netns"
	"github.com/roundabout-dev/roundabout/test/procs"
)

// The pod range of this test stays clear of the addresses sandbox tests use.
const (
	testPodIPFirst = "10.244.0.100"
	testPodIPLast  = "10.244.0.120"
	testNode       = "roundabout-node"
	greetImage     = "ghcr.io/roundabout-dev/greet-server:v0.1.0"
)

// within polls cond every 50 ms until it returns nil, failing the test
// with cond's last error after timeout.
func within(t *testing.T, timeout time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not done after %s: %v", what, timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// startRunner runs Run against the cluster until the test ends.
func startRunner(t *testing.T, client kubernetes.Interface, logAddr string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	cfg := Config{Client: client, NodeName: testNode, NodeIP: netns.NodeIP,
		PodIPFirst: testPodIPFirst, PodIPLast: testPodIPLast, Images: Images{Dir: procs.Dir},
		Dir: t.TempDir(), DNSIP: "10.0.0.10", ClusterDomain: "cluster.local", LogAddr: logAddr,
		Log: zaptest.NewLogger(t)}
	go func() { done <- Run(ctx, cfg) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(40 * time.Second):
			t.Errorf("Run did not return within 40s of its context's end")
		}
	})
}

func greetPod(name string) *corev1.Pod {
	one := int64(5)
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: metav1.NamespaceDefault},
		Spec: corev1.PodSpec{TerminationGracePeriodSeconds: &one, Containers: []corev1.Container{{
			Name: "greet-server", Image: greetImage,
			Env:   []corev1.EnvVar{{Name: "GRPC_PORT", Value: "50051"}, {Name: "POD_NAME", Value: name}},
			Ports: []corev1.ContainerPort{{Name: "grpc", ContainerPort: 50051}},
			ReadinessProbe: &corev1.Probe{PeriodSeconds: 1, ProbeHandler: corev1.ProbeHandler{
				GRPC: &corev1.GRPCAction{Port: 50051}}},
			LivenessProbe: &corev1.Probe{PeriodSeconds: 2, ProbeHandler: corev1.ProbeHandler{
				TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromString("grpc")}}},
		}}},
	}
}

func TestRunPodsAgainstAPIServer(t *testing.T) {
	netnstest.Require(t)
	if !netns.NodeMode() {
		t.Skip("needs the node namespace of netns.ReexecNode")
	}
	if controlplane.Assets() == "" {
		t.Skip(controlplane.SkipMessage)
	}
	bin := greetServer(t)
	c, err := controlplane.Start(controlplane.Assets())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Stop() })
	client := kubernetes.NewForConfigOrDie(c.Config)
	logAddr := net.JoinHostPort(netns.NodeIP, strconv.Itoa(procs.FreePort(t, netns.NodeIP)))
	startRunner(t, client, logAddr)
	ctx := context.Background()
	pods := client.CoreV1().Pods(metav1.NamespaceDefault)

	checkNode(t, client, logAddr)
	gp := greetPod("greet")
	gp.Spec.Subdomain = "greets"
	gp.Spec.HostAliases = []corev1.HostAlias{{IP: "127.0.2.1", Hostnames: []string{"up.default.svc.cluster.local", "up"}}}
	if _, err := pods.Create(ctx, gp, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod := waitReady(t, pods, "greet")
	checkHealth(t, pod.Status.PodIP)
	checkHosts(t, bin, pod)
	checkLogs(t, client, logAddr)
	checkEvents(t, client, pod)
	if n := processesOf(bin); n != 1 {
		t.Fatalf("%d greet-server processes run, want 1", n)
	}
	checkInvalidImage(t, pods)
	grace := int64(5)
	if err := pods.Delete(ctx, "greet", metav1.DeleteOptions{GracePeriodSeconds: &grace}); err != nil {
		t.Fatal(err)
	}
	within(t, 20*time.Second, "pod greet removed from the API", func() error { return gone(pods, "greet") })
	within(t, 5*time.Second, "greet-server process ended", func() error {
		if n := processesOf(bin); n != 0 {
			return fmt.Errorf("%d greet-server processes still run", n)
		}
		return nil
	})
}

// checkNode asserts the Node that Run registered.
func checkNode(t *testing.T, client kubernetes.Interface, logAddr string) {
	t.Helper()
	var node *corev1.Node
	within(t, 20*time.Second, "node registered", func() (err error) {
		node, err = client.CoreV1().Nodes().Get(context.Background(), testNode, metav1.GetOptions{})
		return err
	})
	_, port, _ := net.SplitHostPort(logAddr)
	if got := strconv.Itoa(int(node.Status.DaemonEndpoints.KubeletEndpoint.Port)); got != port {
		t.Errorf("kubelet endpoint port = %s, want %s", got, port)
	}
	if !nodeReady(node) || len(node.Status.Addresses) == 0 || node.Status.Addresses[0].Address != netns.NodeIP {
		t.Errorf("node status = %+v, want Ready with InternalIP %s", node.Status, netns.NodeIP)
	}
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

type podClient interface {
	Get(ctx context.Context, name string, opts metav1.GetOptions) (*corev1.Pod, error)
}

// waitReady waits for pod name to be bound, Running and Ready with an IP
// of the test's range.
func waitReady(t *testing.T, pods podClient, name string) *corev1.Pod {
	t.Helper()
	var pod *corev1.Pod
	within(t, 60*time.Second, "pod "+name+" running and ready", func() (err error) {
		pod, err = pods.Get(context.Background(), name, metav1.GetOptions{})
		switch {
		case err != nil:
			return err
		case pod.Spec.NodeName != testNode:
			return fmt.Errorf("not bound: nodeName %q", pod.Spec.NodeName)
		case pod.Status.Phase != corev1.PodRunning || !podReady(&pod.Status):
			return fmt.Errorf("phase %s, conditions %+v, containers %+v", pod.Status.Phase,
				pod.Status.Conditions, pod.Status.ContainerStatuses)
		}
		return nil
	})
	ips, _ := newIPAM(testPodIPFirst, testPodIPLast)
	if !ips.contains(pod.Status.PodIP) || len(pod.Status.PodIPs) != 1 || pod.Status.HostIP != netns.NodeIP {
		t.Fatalf("podIP %q, podIPs %v, hostIP %q: want one IP in %s..%s on %s", pod.Status.PodIP,
			pod.Status.PodIPs, pod.Status.HostIP, testPodIPFirst, testPodIPLast, netns.NodeIP)
	}
	return pod
}

// checkHealth calls the gRPC health service of the pod from the node.
func checkHealth(t *testing.T, ip string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := grpc.NewClient(net.JoinHostPort(ip, "50051"), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health check of %s: %v, %v; want SERVING", ip, resp, err)
	}
}

// checkHosts reads /etc/hosts as the pod's container sees it, through
// /proc/<pid>/root, and expects the kubelet's file: the pod IP with its
// FQDN and hostname, then the pod's hostAliases.
func checkHosts(t *testing.T, bin string, pod *corev1.Pod) {
	t.Helper()
	pids := pidsOf(bin)
	if len(pids) != 1 {
		t.Fatalf("%d processes run %s, want 1", len(pids), bin)
	}
	got, err := os.ReadFile(filepath.Join("/proc", pids[0], "root", "etc", "hosts"))
	if err != nil {
		t.Fatal(err)
	}
	want := pod.Status.PodIP + "\tgreet.greets.default.svc.cluster.local\tgreet\n\n" +
		"# Entries added by HostAliases.\n127.0.2.1\tup.default.svc.cluster.local\tup\n"
	if !strings.HasPrefix(string(got), "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n") ||
		!strings.HasSuffix(string(got), "\n"+want) {
		t.Errorf("/etc/hosts in the pod:\n%s\nwant it to end with:\n%s", got, want)
	}
}

// checkLogs reads the server's start-up line from the log endpoint, both
// directly and through kube-apiserver.
func checkLogs(t *testing.T, client kubernetes.Interface, logAddr string) {
	t.Helper()
	const want = "starting greet-server"
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // self-signed, as kubelets are
	resp, err := hc.Get("https://" + logAddr + "/containerLogs/default/greet/greet-server")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
		t.Fatalf("GET /containerLogs: %d %q, want 200 with %q", resp.StatusCode, body, want)
	}
	data, err := client.CoreV1().Pods("default").GetLogs("greet", &corev1.PodLogOptions{}).DoRaw(context.Background())
	if err != nil || !strings.Contains(string(data), want) {
		t.Fatalf("pods/log through kube-apiserver: %q, %v; want %q", data, err, want)
	}
}

// checkEvents asserts the events of the pod's start.
func checkEvents(t *testing.T, client kubernetes.Interface, pod *corev1.Pod) {
	t.Helper()
	within(t, 10*time.Second, "Scheduled and Started events", func() error {
		list, err := client.CoreV1().Events(pod.Namespace).List(context.Background(), metav1.ListOptions{
			FieldSelector: "involvedObject.uid=" + string(pod.UID)})
		if err != nil {
			return err
		}
		seen := map[string]bool{}
		for _, e := range list.Items {
			seen[e.Reason] = true
		}
		if !seen[reasonScheduled] || !seen[reasonStarted] {
			return fmt.Errorf("events %v", seen)
		}
		return nil
	})
}

// checkInvalidImage creates a pod whose image has no binary and waits for
// the waiting reason that names the pod and the field.
func checkInvalidImage(t *testing.T, pods interface {
	podClient
	Create(context.Context, *corev1.Pod, metav1.CreateOptions) (*corev1.Pod, error)
	Delete(context.Context, string, metav1.DeleteOptions) error
}) {
	t.Helper()
	bad := greetPod("bad")
	bad.Spec.Containers[0].Image = "ghcr.io/roundabout-dev/no-such-binary:v1"
	if _, err := pods.Create(context.Background(), bad, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	within(t, 30*time.Second, "pod bad waiting with ErrImageNeverPull", func() error {
		pod, err := pods.Get(context.Background(), "bad", metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, cs := range pod.Status.ContainerStatuses {
			if w := cs.State.Waiting; w != nil && w.Reason == "ErrImageNeverPull" &&
				strings.Contains(w.Message, "default/bad") && strings.Contains(w.Message, "spec.containers[0].image") {
				return nil
			}
		}
		return fmt.Errorf("phase %s, container statuses %+v", pod.Status.Phase, pod.Status.ContainerStatuses)
	})
	if err := pods.Delete(context.Background(), "bad", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	within(t, 20*time.Second, "pod bad removed from the API", func() error { return gone(pods, "bad") })
}

func gone(pods podClient, name string) error {
	_, err := pods.Get(context.Background(), name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return fmt.Errorf("still there (err %v)", err)
}

// processesOf counts the processes running the binary bin.
func processesOf(bin string) int { return len(pidsOf(bin)) }

// pidsOf lists the processes running the binary bin.
func pidsOf(bin string) []string {
	entries, _ := os.ReadDir("/proc")
	var pids []string
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if err == nil && strings.TrimSuffix(exe, " (deleted)") == bin {
			pids = append(pids, e.Name())
		}
	}
	return pids
}
