package kubesubset

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/roundabout-dev/roundabout/agent/filewatch/filewatchtest"
	"github.com/roundabout-dev/roundabout/agent/pool"
	"github.com/roundabout-dev/roundabout/greet/greettest"
	"github.com/roundabout-dev/roundabout/localcluster/controlplane/controlplanetest"
	"github.com/roundabout-dev/roundabout/localcluster/netns"
	"github.com/roundabout-dev/roundabout/localcluster/netns/netnstest"
	"github.com/roundabout-dev/roundabout/test/procs"
)

const (
	namespace = "default"
	upstream  = "greetserver"
	peers     = "gateway"
	// settle bounds how long the agents may take to show a change.
	settle = 10 * time.Second
)

// startCluster starts etcd and kube-apiserver and returns a client and the
// path of an admin kubeconfig for the agents.
func startCluster(t *testing.T) (kubernetes.Interface, string) {
	t.Helper()
	netnstest.Require(t)
	return controlplanetest.StartWithKubeconfig(t)
}

// cluster is the API objects the test changes.
type cluster struct {
	t      *testing.T
	client kubernetes.Interface
	port   int32
}

func (c *cluster) createService(name string, port int32) {
	c.t.Helper()
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": name},
			Ports: []corev1.ServicePort{{Name: "grpc", Port: 50051, TargetPort: intstr.FromInt32(port)}}}}
	if _, err := c.client.CoreV1().Services(namespace).Create(context.Background(), svc, metav1.CreateOptions{}); err != nil {
		c.t.Fatal(err)
	}
}

// setSlice creates or replaces the one EndpointSlice of service, listing
// ips as ready on port.
func (c *cluster) setSlice(service string, port int32, ips []string) {
	c.t.Helper()
	name, ready := "grpc", true
	s := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: service + "-a", Namespace: namespace,
			Labels: map[string]string{discoveryv1.LabelServiceName: service}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: &name, Port: &port}},
	}
	for _, ip := range ips {
		s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{Addresses: []string{ip},
			Conditions: discoveryv1.EndpointConditions{Ready: &ready}})
	}
	slices := c.client.DiscoveryV1().EndpointSlices(namespace)
	old, err := slices.Get(context.Background(), s.Name, metav1.GetOptions{})
	if err == nil {
		s.ResourceVersion = old.ResourceVersion
		_, err = slices.Update(context.Background(), s, metav1.UpdateOptions{})
	} else {
		_, err = slices.Create(context.Background(), s, metav1.CreateOptions{})
	}
	if err != nil {
		c.t.Fatal(err)
	}
}

// agent is one client pod's agent.
type agent struct {
	ip    string
	admin string
	proc  *procs.Proc
	vol   *filewatchtest.KubeletDir
}

// debug is the part of /debug/endpoints the test reads.
type debug struct {
	Upstreams []struct {
		Subset    pool.SubsetDebug `json:"subset"`
		Endpoints []struct {
			Addr  string     `json:"addr"`
			State pool.State `json:"state"`
		} `json:"endpoints"`
	} `json:"upstreams"`
}

func (a *agent) debug() (debug, error) {
	var d debug
	resp, err := http.Get("http://" + a.admin + "/debug/endpoints")
	if err != nil {
		return d, err
	}
	defer resp.Body.Close()
	err = json.NewDecoder(resp.Body).Decode(&d)
	if err == nil && len(d.Upstreams) != 1 {
		err = fmt.Errorf("%d upstreams in /debug/endpoints", len(d.Upstreams))
	}
	return d, err
}

// settled is the agent's connected subset once it shows the wanted place
// and size and every endpoint of its subset is connected: nil until then.
func (a *agent) settled(id string, size int) ([]string, error) {
	d, err := a.debug()
	if err != nil {
		return nil, err
	}
	u := d.Upstreams[0]
	if u.Subset.ID != id || u.Subset.From != "peers service "+peers || u.Subset.Balance != "exact" ||
		u.Subset.InSubset != size || len(u.Endpoints) != size {
		return nil, fmt.Errorf("subset %+v with %d endpoints; want id %s, %d endpoints", u.Subset, len(u.Endpoints), id, size)
	}
	var addrs []string
	for _, e := range u.Endpoints {
		if e.State != pool.StateReady {
			return nil, fmt.Errorf("endpoint %s is %s", e.Addr, e.State)
		}
		addrs = append(addrs, e.Addr)
	}
	return addrs, nil
}

// waitBalanced waits until every agent shows its place (its rank among
// the agents) and a connected subset of k of the servers, then checks that
// every server has floor(C·k/S) or ceil(C·k/S) agents connected, and
// returns each agent's subset.
func waitBalanced(t *testing.T, agents []*agent, servers, k int) [][]string {
	t.Helper()
	c := len(agents)
	size := min(k, servers)
	subsets := make([][]string, c)
	deadline := time.Now().Add(settle)
	for i, a := range agents {
		for {
			var err error
			if subsets[i], err = a.settled(fmt.Sprintf("%d/%d", i, c), size); err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("agent %d (%s) did not settle within %s: %v", i, a.ip, settle, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	perServer := map[string]int{}
	for _, s := range subsets {
		for _, addr := range s {
			perServer[addr]++
		}
	}
	lo, hi := c*size/servers, (c*size+servers-1)/servers
	counts := make([]int, 0, len(perServer))
	for _, n := range perServer {
		counts = append(counts, n)
	}
	slices.Sort(counts)
	if len(perServer) < servers && lo > 0 || slices.Min(counts) < lo || slices.Max(counts) > hi {
		t.Fatalf("C=%d agents × k=%d over S=%d servers: %d servers connected, %v agents each; want %d to %d on every server",
			c, size, servers, len(perServer), counts, lo, hi)
	}
	t.Logf("C=%d agents × k=%d over S=%d servers: agents per server %d..%d (want %d..%d)", c, size, servers, counts[0], counts[len(counts)-1], lo, hi)
	return subsets
}

// logChurn logs how many new endpoints each agent connected to.
func logChurn(t *testing.T, what string, before, after [][]string) {
	t.Helper()
	moved := make([]int, len(after))
	for i := range after {
		for _, a := range after[i] {
			if !slices.Contains(before[i], a) {
				moved[i]++
			}
		}
	}
	t.Logf("%s: new connections per agent %v", what, moved)
}

func podIPs(from, n int) []string {
	ips := make([]string, n)
	for i := range ips {
		ips[i] = netns.PodIP(from + i)
	}
	return ips
}

func TestAgentsLearnTheirPlaceFromPeersService(t *testing.T) {
	client, kubeconfig := startCluster(t)
	const clients, servers, k = 8, 20, 5
	pods := greettest.StartPods(t, podIPs(101, servers), 0)
	_, portStr, _ := strings.Cut(pods[0].Addr(), ":")
	port64, _ := strconv.ParseInt(portStr, 10, 32)
	c := &cluster{t: t, client: client, port: int32(port64)}
	c.createService(upstream, c.port)
	c.createService(peers, c.port)
	serverIPs := podIPs(101, servers)
	c.setSlice(upstream, c.port, serverIPs)
	agentIPs := podIPs(51, clients) // sorted: agent i has rank i
	c.setSlice(peers, c.port, agentIPs)

	agents := make([]*agent, clients)
	for i, ip := range agentIPs {
		a := &agent{ip: ip, admin: "127.0.0.1:" + strconv.Itoa(procs.FreePort(t, "127.0.0.1"))}
		a.vol = filewatchtest.NewKubeletDir(t, t.TempDir(), "annotations", `roundabout.dev/subset-size="5"`+"\n")
		listen := "127.0.0.1:" + strconv.Itoa(procs.FreePort(t, "127.0.0.1"))
		a.proc = procs.Start(t, "roundabout-agent",
			[]string{"POD_NAMESPACE=" + namespace, "POD_IP=" + ip, "POD_NAME=gateway-" + strconv.Itoa(i)},
			"--upstream", upstream+":grpc="+listen, "--kubeconfig", kubeconfig, "--admin-addr", a.admin,
			"--annotations-file", a.vol.Path(), "--subset-peers", peers, "--subset-size", strconv.Itoa(k))
		agents[i] = a
	}
	for _, a := range agents {
		procs.WaitHTTP(t, "http://"+a.admin+"/readyz")
	}
	// 8 × 5 over 20: every server has exactly two agents.
	first := waitBalanced(t, agents, servers, k)
	for _, a := range agents {
		if n := strings.Count(a.proc.Out.String(), `"msg":"endpoint added"`); n != k {
			t.Fatalf("agent %s connected to %d endpoints since it started, want %d: discovery waited for its place", a.ip, n, k)
		}
	}

	// The last agent's pod goes away: the other seven renumber.
	if err := agents[clients-1].proc.Stop(t); err != nil {
		t.Fatalf("agent exit: %v", err)
	}
	agents = agents[:clients-1]
	c.setSlice(peers, c.port, agentIPs[:clients-1])
	afterLeave := waitBalanced(t, agents, servers, k)
	logChurn(t, "one of 8 agents gone", first[:clients-1], afterLeave)

	// The subset size changes live, from the annotations file.
	for _, a := range agents {
		a.vol.Write(`roundabout.dev/subset-size="10"` + "\n")
	}
	bigger := waitBalanced(t, agents, servers, 10)

	// A server is added to the upstream Service.
	greettest.StartPods(t, []string{netns.PodIP(101 + servers)}, int(c.port))
	c.setSlice(upstream, c.port, podIPs(101, servers+1))
	added := waitBalanced(t, agents, servers+1, 10)
	logChurn(t, "one server added (20 to 21)", bigger, added)
	for i := range added {
		n := 0
		for _, a := range added[i] {
			if !slices.Contains(bigger[i], a) {
				n++
			}
		}
		if n > 2 {
			t.Fatalf("agent %d opened %d new connections for one added server, want at most 2", i, n)
		}
	}
}

// waitStatistical waits until the agent's /debug/endpoints says its
// balance is only statistical, placed by the hash of its pod name, with
// size of discovered endpoints chosen.
func waitStatistical(t *testing.T, a *agent, discovered, size int) {
	t.Helper()
	deadline := time.Now().Add(settle)
	for {
		d, err := a.debug()
		if err == nil {
			s := d.Upstreams[0].Subset
			if s.ID == "statistical" && s.Balance == pool.StatisticalBalance && s.From == "hash of POD_NAME" &&
				s.Discovered == discovered && s.InSubset == size && len(d.Upstreams[0].Endpoints) == size {
				return
			}
			err = fmt.Errorf("subset %+v", s)
		}
		if time.Now().After(deadline) {
			t.Fatalf("agent %s: no statistical subset of %d of %d within %s: %v", a.ip, size, discovered, settle, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestPeersServiceWithoutPodsKeepsTheStatisticalPlace(t *testing.T) {
	client, kubeconfig := startCluster(t)
	c := &cluster{t: t, client: client, port: 50051}
	c.setSlice(upstream, c.port, podIPs(101, 6))
	a := &agent{ip: netns.PodIP(51), admin: "127.0.0.1:" + strconv.Itoa(procs.FreePort(t, "127.0.0.1"))}
	listen := "127.0.0.1:" + strconv.Itoa(procs.FreePort(t, "127.0.0.1"))
	a.proc = procs.Start(t, "roundabout-agent",
		[]string{"POD_NAMESPACE=" + namespace, "POD_IP=" + a.ip, "POD_NAME=gateway-0"},
		"--upstream", upstream+":grpc="+listen, "--kubeconfig", kubeconfig, "--admin-addr", a.admin,
		"--subset-peers", "misspelt", "--subset-size", "2")
	procs.WaitHTTP(t, "http://"+a.admin+"/readyz")
	waitStatistical(t, a, 6, 2)
	if out := a.proc.Out.String(); !strings.Contains(out, "the peers service lists no pod") {
		t.Fatalf("no log line says the peers service lists no pod:\n%s", out)
	}
}

func TestStatisticalWithoutPlace(t *testing.T) {
	netnstest.Require(t)
	var eps []string
	for _, ip := range podIPs(101, 6) {
		eps = append(eps, ip+":50051")
	}
	a := &agent{ip: "none", admin: "127.0.0.1:" + strconv.Itoa(procs.FreePort(t, "127.0.0.1"))}
	listen := "127.0.0.1:" + strconv.Itoa(procs.FreePort(t, "127.0.0.1"))
	a.proc = procs.Start(t, "roundabout-agent", []string{"POD_NAME=gateway-0"},
		"--upstream", upstream, "--listen", listen, "--endpoints", strings.Join(eps, ","), "--admin-addr", a.admin,
		"--subset-size", "3")
	procs.WaitHTTP(t, "http://"+a.admin+"/readyz")
	waitStatistical(t, a, 6, 3)
	if n := strings.Count(a.proc.Out.String(), "subset balance is only statistical"); n != 1 {
		t.Fatalf("%d log lines say the balance is only statistical, want 1:\n%s", n, a.proc.Out.String())
	}
}
