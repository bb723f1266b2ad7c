package webhook_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/zapr"
	"go.uber.org/zap/zaptest"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/roundabout-dev/roundabout/api/annotations"
	"github.com/roundabout-dev/roundabout/webhook/inject"
	"github.com/roundabout-dev/roundabout/webhook/server"
)

const (
	callTimeout    = 30 * time.Second
	injectDeadline = time.Minute
)

// The webhook's namespace, its configuration and the namespace of the
// pods it injects, named afresh by each run of TestWebhookThroughAPIServer.
var webhookNamespace, webhookConfig, appNamespace string

// TestWebhookThroughAPIServer starts the webhook, lets the API server call
// it over TLS, and runs the scenarios in order; the last stops the webhook.
func TestWebhookThroughAPIServer(t *testing.T) {
	needControlPlane(t)
	c := newClient(t)
	port := freePort(t)
	webhookNamespace, webhookConfig = unique("roundabout-test-system"), unique("roundabout-webhook-test")
	appNamespace = unique("webhook-test")
	createNamespaces(t, c, webhookNamespace, appNamespace)
	createWebhookConfig(t, port)
	stop, exited := startWebhook(t, port)

	var bundle []byte
	t.Run("CABundlePatched", func(t *testing.T) { bundle = checkCABundle(t, c, port, exited) })
	t.Run("AnnotatedPodStoredWithAgent", func(t *testing.T) { checkInjected(t, c) })
	t.Run("BadAnnotationDenied", func(t *testing.T) { checkDenied(t, c) })
	t.Run("CertificateSecretShared", func(t *testing.T) { checkSecret(t, c, bundle) })
	stop()
	t.Run("WebhookDownPodsStillCreated", func(t *testing.T) { checkFailOpen(t, c) })
}

func newClient(t *testing.T) client.Client {
	t.Helper()
	c, err := client.New(config, client.Options{})
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	return c
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), callTimeout)
	t.Cleanup(cancel)
	return c
}

func createNamespaces(t *testing.T, c client.Client, names ...string) {
	t.Helper()
	for _, n := range names {
		if err := c.Create(ctx(t), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: n}}); err != nil {
			t.Fatalf("create namespace %s: %v", n, err)
		}
	}
}

// createWebhookConfig registers deploy/'s configuration, except that the
// API server reaches the webhook by URL on loopback. It has no caBundle:
// the webhook must patch its own, into every entry.
func createWebhookConfig(t *testing.T, port int) {
	t.Helper()
	createDeployWebhookConfig(t, webhookConfig, port, nil, webhookNamespace, appNamespace)
}

// startWebhook runs the real server in-process. The returned function stops
// it and waits for it to return; the channel is closed if it returns first.
func startWebhook(t *testing.T, port int) (func(), <-chan struct{}) {
	t.Helper()
	runCtx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	opts := server.Options{
		Inject:            inject.Config{AgentImage: "ghcr.io/roundabout-dev/roundabout-agent:test"},
		Namespace:         webhookNamespace,
		ServiceName:       "roundabout-webhook",
		ExtraHosts:        []string{"127.0.0.1"},
		SecretName:        "roundabout-webhook-certs",
		WebhookConfigName: webhookConfig,
		TLSMode:           server.TLSSelfSigned,
		Host:              "127.0.0.1",
		Port:              port,
		MetricsAddr:       "0",
		HealthAddr:        "0",
		ShutdownTimeout:   5 * time.Second,
	}
	exited := make(chan struct{})
	go func() {
		done <- server.Run(runCtx, config, opts, zapr.NewLogger(zaptest.NewLogger(t)))
		close(exited)
	}()
	var once bool
	stop := func() {
		if once {
			return
		}
		once = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("webhook returned %v after stop", err)
			}
		case <-time.After(callTimeout):
			t.Error("webhook did not stop within 30s of its context ending")
		}
	}
	t.Cleanup(stop)
	return stop, exited
}

// checkCABundle waits for the webhook to patch the caBundle into every
// entry and checks that the certificate it serves verifies against it.
func checkCABundle(t *testing.T, c client.Client, port int, exited <-chan struct{}) []byte {
	var bundle []byte
	eventually(t, "caBundle patched into "+webhookConfig, func() error {
		select {
		case <-exited:
			t.Fatal("the webhook server returned before patching the caBundle (see its log)")
		default:
		}
		cfg := &admissionregistrationv1.MutatingWebhookConfiguration{}
		if err := c.Get(ctx(t), types.NamespacedName{Name: webhookConfig}, cfg); err != nil {
			return err
		}
		bundle = cfg.Webhooks[0].ClientConfig.CABundle
		for _, w := range cfg.Webhooks {
			if len(w.ClientConfig.CABundle) == 0 {
				return errors.New("caBundle of " + w.Name + " still empty")
			}
			if !bytes.Equal(w.ClientConfig.CABundle, bundle) {
				return errors.New("caBundle of " + w.Name + " differs from " + cfg.Webhooks[0].Name + "'s")
			}
		}
		return nil
	})
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(bundle) {
		t.Fatalf("caBundle holds no PEM certificate: %q", bundle)
	}
	eventually(t, "TLS handshake verified by the caBundle", func() error {
		conn, err := tls.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port), &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"})
		if err == nil {
			conn.Close()
		}
		return err
	})
	return bundle
}

func annotatedPod(extra map[string]string) *corev1.Pod {
	ann := map[string]string{annotations.Inject: annotations.InjectEnabled, annotations.Upstream: "greetserver:50051"}
	for k, v := range extra {
		ann[k] = v
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "greetclient-", Namespace: appNamespace, Annotations: ann},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "gateway", Image: "ghcr.io/roundabout-dev/greet-gateway:test",
			Env: []corev1.EnvVar{{Name: "GRPC_SERVER_HOST", Value: "127.0.0.1"}},
		}}},
	}
}

// checkInjected creates annotated pods until one is stored with the agent:
// the API server may take a moment to use the new configuration, and with
// failurePolicy Ignore the pods before that are created as they are.
func checkInjected(t *testing.T, c client.Client) {
	var stored *corev1.Pod
	eventually(t, "an annotated pod stored with the agent", func() error {
		pod := annotatedPod(nil)
		if err := c.Create(ctx(t), pod); err != nil {
			return err
		}
		if pod.Annotations[annotations.Status] != annotations.StatusInjected {
			return errors.New("pod " + pod.Name + " stored without the agent")
		}
		stored = pod
		return nil
	})
	if len(stored.Spec.InitContainers) == 0 || stored.Spec.InitContainers[0].Name != inject.AgentContainerName {
		t.Fatalf("v1.37 API server: want the agent as the first init container, got init containers %v", names(stored.Spec.InitContainers))
	}
	agent := stored.Spec.InitContainers[0]
	if agent.RestartPolicy == nil || *agent.RestartPolicy != corev1.ContainerRestartPolicyAlways || agent.StartupProbe == nil {
		t.Errorf("agent is not a native sidecar with a startup probe: restartPolicy %v, startupProbe %v", agent.RestartPolicy, agent.StartupProbe)
	}
	if len(stored.Spec.HostAliases) != 1 {
		t.Fatalf("hostAliases %+v; want one entry, for greetserver", stored.Spec.HostAliases)
	}
	listen := "--listen=" + stored.Spec.HostAliases[0].IP + ":50051"
	if !hasArg(agent.Args, "--upstream=greetserver."+appNamespace+":50051") || !hasArg(agent.Args, listen) {
		t.Errorf("agent args %v lack the upstream and %s, the address its hosts entry names", agent.Args, listen)
	}
}

func checkDenied(t *testing.T, c client.Client) {
	err := c.Create(ctx(t), annotatedPod(map[string]string{annotations.Strategy: "fastest"}))
	if err == nil {
		t.Fatal("pod with an unknown strategy was created; want it denied")
	}
	for _, want := range []string{"denied the request", `roundabout.dev/strategy="fastest"`, "round-robin"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("creation error %q lacks %q", err, want)
		}
	}
}

// checkSecret checks that the certificates live in the Secret replicas
// share, and that the caBundle came from it.
func checkSecret(t *testing.T, c client.Client, bundle []byte) {
	s := &corev1.Secret{}
	if err := c.Get(ctx(t), types.NamespacedName{Namespace: webhookNamespace, Name: "roundabout-webhook-certs"}, s); err != nil {
		t.Fatalf("certificate Secret: %v", err)
	}
	if string(s.Data["ca-bundle.crt"]) != string(bundle) {
		t.Error("the caBundle differs from the Secret's ca-bundle.crt")
	}
}

// checkFailOpen: with the webhook stopped, the API server cannot call it and
// failurePolicy Ignore lets an annotated pod through, unmodified.
func checkFailOpen(t *testing.T, c client.Client) {
	pod := annotatedPod(nil)
	began := time.Now()
	if err := c.Create(ctx(t), pod); err != nil {
		t.Fatalf("pod creation with the webhook down: %v; want it created (failurePolicy Ignore)", err)
	}
	if len(pod.Spec.InitContainers) != 0 || len(pod.Spec.Containers) != 1 || pod.Annotations[annotations.Status] != "" {
		t.Errorf("pod created with the webhook down was modified: init %v, containers %v", names(pod.Spec.InitContainers), names(pod.Spec.Containers))
	}
	t.Logf("pod created in %s with the webhook down", time.Since(began).Round(time.Millisecond))
}

func eventually(t *testing.T, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(injectDeadline)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s: %v", what, injectDeadline, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func names(cs []corev1.Container) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return out
}

func hasArg(args []string, want string) bool {
	for _, a := range args {
		if a == want {
			return true
		}
	}
	return false
}
