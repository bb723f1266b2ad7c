package server

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/roundabout-dev/roundabout/webhook/certs"
)

// Load of the latency measurement: a fixed arrival rate, as the API server
// sends pod creations, for a bounded number of requests.
const (
	loadRate     = 200 // requests per second
	loadDuration = 3 * time.Second
	loadRequests = loadRate * int(loadDuration/time.Second)
	p99Target    = 5 * time.Millisecond
)

// TestAdmissionLatencyAt200RPS drives the real webhook server (controller-
// runtime's, with the certificate from webhook/certs) over TLS on loopback
// at 200 requests per second for 3 seconds, every request an annotated pod
// to inject, and reports p50 and p99 against the 5 ms target. It fails on
// any wrong answer; the latency target is reported, not enforced, since the
// machine is shared (set ROUNDABOUT_WEBHOOK_ENFORCE_P99=1 to enforce it).
func TestAdmissionLatencyAt200RPS(t *testing.T) {
	if testing.Short() {
		t.Skip("fixed-rate latency run; skipped with -short")
	}
	url, httpClient := startTLSWebhook(t)
	body := reviewBody(t, enabled("greetserver:50051"))
	warmUp(t, httpClient, url, body)
	lat := runAtFixedRate(t, httpClient, url, body)
	p50, p99 := percentile(lat, 50), percentile(lat, 99)
	t.Logf("admission over TLS at %d req/s for %s: n=%d p50=%s p90=%s p99=%s max=%s (target p99 <= %s)",
		loadRate, loadDuration, len(lat), p50, percentile(lat, 90), p99, lat[len(lat)-1], p99Target)
	if p99 > p99Target && enforceP99() {
		t.Errorf("p99 %s is over the %s target", p99, p99Target)
	}
}

func enforceP99() bool {
	v, _ := strconv.ParseBool(os.Getenv("ROUNDABOUT_WEBHOOK_ENFORCE_P99"))
	return v
}

// startTLSWebhook serves the handler the way Run does and returns its URL
// and a client that trusts the caBundle the certificate manager made.
func startTLSWebhook(t *testing.T) (string, *http.Client) {
	t.Helper()
	certMgr, roots := testCertificates(t)
	port := freePort(t)
	srv := webhook.NewServer(webhookOptions(Options{Host: "127.0.0.1", Port: port}, certMgr))
	srv.Register(WebhookPath, &webhook.Admission{Handler: newTestHandler(t)})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Start(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	waitStarted(t, srv)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"}, MaxIdleConnsPerHost: 64}
	t.Cleanup(tr.CloseIdleConnections)
	return "https://127.0.0.1:" + strconv.Itoa(port) + WebhookPath, &http.Client{Transport: tr, Timeout: 5 * time.Second}
}

func testCertificates(t *testing.T) (*certs.Manager, *x509.CertPool) {
	t.Helper()
	c := fake.NewClientBuilder().WithObjects(&admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "roundabout-webhook"},
		Webhooks:   []admissionregistrationv1.MutatingWebhook{{Name: "inject.roundabout.dev"}},
	}).Build()
	m, err := certs.New(c, c, certs.Options{
		Namespace: "roundabout-system", SecretName: "certs", WebhookConfigName: "roundabout-webhook", DNSNames: []string{"127.0.0.1"},
	}, logr.Discard())
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Ensure(t.Context()); err != nil {
		t.Fatal(err)
	}
	cfg := &admissionregistrationv1.MutatingWebhookConfiguration{}
	if err := c.Get(t.Context(), types.NamespacedName{Name: "roundabout-webhook"}, cfg); err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(cfg.Webhooks[0].ClientConfig.CABundle) {
		t.Fatal("caBundle holds no certificate")
	}
	return m, roots
}

func waitStarted(t *testing.T, srv webhook.Server) {
	t.Helper()
	check := srv.StartedChecker()
	deadline := time.Now().Add(10 * time.Second)
	for check(nil) != nil {
		if time.Now().After(deadline) {
			t.Fatalf("webhook server not serving within 10s: %v", check(nil))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// warmUp opens connections before measuring, as the API server keeps its
// connections to a webhook open between calls.
func warmUp(t *testing.T, c *http.Client, url string, body []byte) {
	t.Helper()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := admit(c, url, body); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
}

// runAtFixedRate sends loadRequests requests, one every 1/loadRate seconds
// whatever the answers' pace, and returns their latencies, sorted.
func runAtFixedRate(t *testing.T, c *http.Client, url string, body []byte) []time.Duration {
	t.Helper()
	var mu sync.Mutex
	var wg sync.WaitGroup
	lat := make([]time.Duration, 0, loadRequests)
	tick := time.NewTicker(time.Second / loadRate)
	defer tick.Stop()
	for range loadRequests {
		<-tick.C
		wg.Go(func() {
			d, err := admit(c, url, body)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				t.Error(err)
				return
			}
			lat = append(lat, d)
		})
	}
	wg.Wait()
	if len(lat) == 0 {
		t.FailNow()
	}
	slices.Sort(lat)
	return lat
}

// admit sends one review and checks that the pod was patched.
func admit(c *http.Client, url string, body []byte) (time.Duration, error) {
	began := time.Now()
	resp, err := c.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var review admissionv1.AdmissionReview
	if err := json.NewDecoder(resp.Body).Decode(&review); err != nil {
		return 0, fmt.Errorf("decode review: %w", err)
	}
	took := time.Since(began)
	if review.Response == nil || !review.Response.Allowed || len(review.Response.Patch) == 0 {
		return 0, fmt.Errorf("status %d: want an allowed, patched answer, got %+v", resp.StatusCode, review.Response)
	}
	return took, nil
}

// percentile of sorted latencies, nearest rank.
func percentile(sorted []time.Duration, p int) time.Duration {
	i := (len(sorted)*p + 99) / 100
	return sorted[max(i-1, 0)]
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
