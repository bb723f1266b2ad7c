package kubeagent

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/roundabout-dev/roundabout/localcluster/netns/netnstest"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/roundabout-dev/roundabout/agent/filewatch/filewatchtest"
	"github.com/roundabout-dev/roundabout/localcluster/controlplane/controlplanetest"
	"github.com/roundabout-dev/roundabout/localcluster/netns"
	lookasidev1 "github.com/roundabout-dev/roundabout/proto/lookaside/v1"
	"github.com/roundabout-dev/roundabout/test/procs"
)

// startCluster starts etcd and kube-apiserver and returns a client and the
// path of an admin kubeconfig for the agent.
func startCluster(t *testing.T) (kubernetes.Interface, string) {
	t.Helper()
	netnstest.Require(t)
	return controlplanetest.StartWithKubeconfig(t)
}

func createService(t *testing.T, c kubernetes.Interface, port int32) {
	t.Helper()
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "greetserver", Namespace: "default"},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "grpc", Port: 50051, TargetPort: intstr.FromInt32(port)}}}}
	if _, err := c.CoreV1().Services("default").Create(context.Background(), svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// slice is the Service's one EndpointSlice, listing addrs as ready.
func slice(port int32, addrs []string) *discoveryv1.EndpointSlice {
	name, ready := "grpc", true
	s := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: "greetserver-a", Namespace: "default",
			Labels: map[string]string{discoveryv1.LabelServiceName: "greetserver"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: &name, Port: &port}},
	}
	for _, a := range addrs {
		host := strings.Split(a, ":")[0]
		s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{Addresses: []string{host},
			Conditions: discoveryv1.EndpointConditions{Ready: &ready}})
	}
	return s
}

func TestAgentFollowsAServiceThroughTheAPIServer(t *testing.T) {
	client, kubeconfig := startCluster(t)
	servers := procs.GreetServers(t, netns.PodIP(21), netns.PodIP(22), netns.PodIP(23))
	port64, _ := strconv.ParseInt(strings.Split(servers[0], ":")[1], 10, 32)
	port := int32(port64)
	createService(t, client, port)
	es := slice(port, servers)
	es, err := client.DiscoveryV1().EndpointSlices("default").Create(context.Background(), es, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	vol := filewatchtest.NewKubeletDir(t, t.TempDir(), "annotations", `roundabout.dev/strategy="round-robin"`+"\n")
	listen := "127.0.0.1:" + strconv.Itoa(procs.FreePort(t, "127.0.0.1"))
	admin := "127.0.0.1:" + strconv.Itoa(procs.FreePort(t, "127.0.0.1"))
	look := "127.0.0.1:" + strconv.Itoa(procs.FreePort(t, "127.0.0.1"))
	agent := procs.Start(t, "roundabout-agent", []string{"POD_NAMESPACE=default"},
		"--upstream", "greetserver:grpc="+listen, "--kubeconfig", kubeconfig, "--admin-addr", admin,
		"--lookaside-addr", look, "--annotations-file", vol.Path())
	procs.WaitHTTP(t, "http://"+admin+"/readyz")

	gw := procs.Gateway(t, listen)
	if got := procs.Post(t, gw, 30); got["greet-0"] != 10 || got["greet-1"] != 10 || got["greet-2"] != 10 {
		t.Fatalf("30 POSTs spread %v, want 10 per pod", got)
	}

	t.Run("Resolve", func(t *testing.T) { checkResolve(t, look, servers) })

	t.Run("scale up", func(t *testing.T) {
		extra := extraServer(t, port)
		es.Endpoints = slice(port, append(servers, extra)).Endpoints
		if _, err := client.DiscoveryV1().EndpointSlices("default").Update(context.Background(), es, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for procs.Post(t, gw, 4)["greet-3"] == 0 {
			if time.Now().After(deadline) {
				t.Fatal("the added pod got no traffic")
			}
		}
	})

	t.Run("live strategy swap", func(t *testing.T) {
		vol.Write(`roundabout.dev/strategy="least-request"` + "\n")
		deadline := time.Now().Add(2 * time.Second)
		for !strings.Contains(agent.Out.String(), `"to":"least-request"`) {
			if time.Now().After(deadline) {
				t.Fatalf("no strategy change logged within 2s:\n%s", agent.Out.String())
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// extraServer starts a fourth greet-server, greet-3, on the Service's port.
func extraServer(t *testing.T, port int32) string {
	addr := netns.PodIP(24) + ":" + strconv.Itoa(int(port))
	procs.Start(t, "greet-server", []string{"POD_NAME=greet-3", "POD_IP=" + netns.PodIP(24), "GRPC_PORT=" + strconv.Itoa(int(port))})
	procs.WaitTCP(t, addr)
	return addr
}

func checkResolve(t *testing.T, addr string, servers []string) {
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	c := lookasidev1.NewLookasideServiceClient(cc)
	resolve := func(rt lookasidev1.RoutingType, svc string) (string, error) {
		resp, err := c.Resolve(context.Background(), &lookasidev1.ResolveRequest{RoutingType: rt, ServiceName: svc})
		return resp.GetAddress(), err
	}
	var rr []string
	for range len(servers) {
		a, err := resolve(lookasidev1.RoutingType_ROUND_ROBIN, "greetserver")
		if err != nil {
			t.Fatal(err)
		}
		rr = append(rr, a)
	}
	slices.Sort(rr)
	if !slices.Equal(rr, servers) {
		t.Fatalf("ROUND_ROBIN over %d calls gave %v, want each of %v once", len(servers), rr, servers)
	}
	for range 20 {
		if a, err := resolve(lookasidev1.RoutingType_RANDOM, "greetserver"); err != nil || !slices.Contains(servers, a) {
			t.Fatalf("RANDOM gave %q, %v", a, err)
		}
	}
	_, err = resolve(lookasidev1.RoutingType_ROUND_ROBIN, "nope")
	if st := status.Convert(err); st.Code() != codes.NotFound || !strings.Contains(st.Message(), "default/nope") {
		t.Fatalf("unknown service: %v", err)
	}
}
