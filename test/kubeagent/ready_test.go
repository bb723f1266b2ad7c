package kubeagent

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/yaml"

	"github.com/roundabout-dev/roundabout/localcluster/controlplane"
	"github.com/roundabout-dev/roundabout/localcluster/netns"
	greetv1 "github.com/roundabout-dev/roundabout/proto/greet/v1"
	"github.com/roundabout-dev/roundabout/test/procs"
)

// names numbers the namespaces a run creates, so that every run of a test
// uses names of its own.
var names atomic.Int64

// namespace creates a namespace named base-<n>, unique in the run.
func namespace(t *testing.T, c kubernetes.Interface, base string) string {
	t.Helper()
	name := fmt.Sprintf("%s-%d", base, names.Add(1))
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if _, err := c.CoreV1().Namespaces().Create(context.Background(), ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return name
}

// serviceIn creates the Service greetserver in ns, its port "grpc" going
// to port.
func serviceIn(t *testing.T, c kubernetes.Interface, ns string, port int32) {
	t.Helper()
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "greetserver", Namespace: ns},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "grpc", Port: 50051, TargetPort: intstr.FromInt32(port)}}}}
	if _, err := c.CoreV1().Services(ns).Create(context.Background(), svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// serviceAccountKubeconfig creates the ServiceAccount ns/name and writes a
// kubeconfig that authenticates as it with a token, to the API server of
// the admin kubeconfig: what an injected agent's pod credentials are.
func serviceAccountKubeconfig(t *testing.T, c kubernetes.Interface, adminKubeconfig, ns, name string) string {
	t.Helper()
	ctx := context.Background()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
	if _, err := c.CoreV1().ServiceAccounts(ns).Create(ctx, sa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	expiry := int64(3600)
	tr, err := c.CoreV1().ServiceAccounts(ns).CreateToken(ctx, name,
		&authnv1.TokenRequest{Spec: authnv1.TokenRequestSpec{ExpirationSeconds: &expiry}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.LoadFromFile(adminKubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cfg.AuthInfos = map[string]*clientcmdapi.AuthInfo{"sa": {Token: tr.Status.Token}}
	for _, kc := range cfg.Contexts {
		kc.AuthInfo = "sa"
	}
	path := filepath.Join(t.TempDir(), "sa-kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// createAgentClusterRole creates the agent's ClusterRole as the deployment
// defines it.
func createAgentClusterRole(t *testing.T, c kubernetes.Interface) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "deploy", "base", "agent-rbac.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var role rbacv1.ClusterRole
	if err := yaml.UnmarshalStrict(data, &role); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RbacV1().ClusterRoles().Create(context.Background(), &role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// readyz returns the agent's /readyz status code and body.
func readyz(admin string) (int, string) {
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get("http://" + admin + "/readyz")
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// waitReadyz waits up to limit for /readyz to answer code with a body that
// contains want, and returns the body.
func waitReadyz(t *testing.T, admin string, code int, want string, limit time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		got, body := readyz(admin)
		if got == code && strings.Contains(body, want) {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz answered %d %q for %s; want %d with %q", got, body, limit, code, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkFailsFast makes a call through the agent at listen and checks that
// it fails within 1 s with UNAVAILABLE naming upstream.
func checkFailsFast(t *testing.T, listen, upstream string) {
	t.Helper()
	cc, err := grpc.NewClient(listen, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	for range 5 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		start := time.Now()
		_, err = greetv1.NewGreetServiceClient(cc).Greet(ctx, &greetv1.GreetRequest{FirstName: "Down"})
		cancel()
		if st := status.Convert(err); st.Code() != codes.Unavailable || !strings.Contains(st.Message(), strconv.Quote(upstream)) {
			t.Fatalf("call: %v; want UNAVAILABLE naming upstream %q", err, upstream)
		}
		if d := time.Since(start); d > time.Second {
			t.Fatalf("call failed after %s, want at once", d)
		}
	}
}

func freeAddr(t *testing.T) string {
	return "127.0.0.1:" + strconv.Itoa(procs.FreePort(t, "127.0.0.1"))
}

// TestForbiddenUntilRoleBindingGranted runs the agent as a service account
// with no RoleBinding in the upstream's namespace: it is not ready, /readyz
// and one log line name the refused permission and the RoleBinding to
// create; once that very command has run, the agent turns ready on its
// own, and with no endpoints its calls fail at once.
func TestForbiddenUntilRoleBindingGranted(t *testing.T) {
	client, adminKubeconfig := startCluster(t)
	createAgentClusterRole(t, client)
	app, team := namespace(t, client, "app"), namespace(t, client, "team")
	serviceIn(t, client, team, 50051)
	kubeconfig := serviceAccountKubeconfig(t, client, adminKubeconfig, app, "client")
	listen, admin := freeAddr(t), freeAddr(t)
	upstream := "greetserver." + team + ":grpc"
	agent := procs.Start(t, "roundabout-agent", []string{"POD_NAMESPACE=" + app},
		"--upstream", upstream+"="+listen, "--kubeconfig", kubeconfig, "--admin-addr", admin)

	body := waitReadyz(t, admin, http.StatusServiceUnavailable, "forbidden", 20*time.Second)
	t.Logf("/readyz while forbidden:\n%s", body)
	grant := fmt.Sprintf("kubectl create rolebinding roundabout-agent-%s-client -n %s --clusterrole=roundabout-agent --serviceaccount=%s:client",
		app, team, app)
	for _, want := range []string{"upstream " + upstream + ": ", "endpointslices.discovery.k8s.io",
		fmt.Sprintf("in namespace %q", team), fmt.Sprintf(`as "system:serviceaccount:%s:client"`, app), grant} {
		if !strings.Contains(body, want) {
			t.Errorf("/readyz body lacks %q", want)
		}
	}
	// The reflector retries meanwhile; the refusal stays one line.
	time.Sleep(3 * time.Second)
	if code, _ := readyz(admin); code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz %d while still forbidden", code)
	}
	const refused = `"msg":"EndpointSlice watch forbidden`
	if n := strings.Count(agent.Out.String(), refused); n != 1 {
		t.Fatalf("%d refusal log lines, want 1:\n%s", n, agent.Out.String())
	}
	for _, field := range []string{`"verb":"`, `"resource":"endpointslices.discovery.k8s.io"`,
		fmt.Sprintf(`"namespace":%q`, team), fmt.Sprintf(`"grant":%q`, grant)} {
		if !strings.Contains(agent.Out.String(), field) {
			t.Errorf("refusal log line lacks %s", field)
		}
	}

	cmd := strings.Fields(body[strings.Index(body, "kubectl create rolebinding"):])
	kubectl := exec.Command(filepath.Join(controlplane.Assets(), "kubectl"), append(cmd[1:], "--kubeconfig", adminKubeconfig)...)
	if out, err := kubectl.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(cmd, " "), err, out)
	}
	granted := time.Now()
	waitReadyz(t, admin, http.StatusOK, "ok", time.Minute)
	t.Logf("ready %s after the RoleBinding was created", time.Since(granted).Round(time.Millisecond))
	out := agent.Out.String()
	if strings.Count(out, refused) != 1 || strings.Count(out, `"msg":"EndpointSlice watch resumed"`) != 1 {
		t.Errorf("want one refusal and one resumed line:\n%s", out)
	}
	checkFailsFast(t, listen, upstream)
}

// TestOnlyEndpointDownIsReadyThroughTheAPIServer: a Service whose one
// ready endpoint refuses connections leaves the agent ready within 3 s of
// its start, failing calls at once, and it stays ready.
func TestOnlyEndpointDownIsReadyThroughTheAPIServer(t *testing.T) {
	client, kubeconfig := startCluster(t)
	ns := namespace(t, client, "down")
	port := int32(procs.FreePort(t, netns.PodIP(25)))
	serviceIn(t, client, ns, port)
	es := slice(port, []string{netns.PodIP(25)})
	es.Namespace = ns
	if _, err := client.DiscoveryV1().EndpointSlices(ns).Create(context.Background(), es, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	listen, admin := freeAddr(t), freeAddr(t)
	upstream := "greetserver." + ns + ":grpc"
	start := time.Now()
	procs.Start(t, "roundabout-agent", nil, "--upstream", upstream+"="+listen, "--kubeconfig", kubeconfig,
		"--admin-addr", admin)
	waitReadyz(t, admin, http.StatusOK, "ok", 3*time.Second)
	t.Logf("ready %s after start with its only endpoint down", time.Since(start).Round(time.Millisecond))
	checkFailsFast(t, listen, upstream)
	for end := time.Now().Add(2 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if code, body := readyz(admin); code != http.StatusOK {
			t.Fatalf("/readyz turned %d %s", code, body)
		}
	}
}
