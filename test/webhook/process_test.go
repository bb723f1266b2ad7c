package webhook_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/roundabout-dev/roundabout/test/procs"
)

// TestProcessServesProbesMetricsAndStopsOnSIGTERM runs the built
// roundabout-webhook binary against the API server: it becomes ready,
// exports its metric, and exits 0 on SIGTERM.
func TestProcessServesProbesMetricsAndStopsOnSIGTERM(t *testing.T) {
	needControlPlane(t)
	cfgName := createIdleWebhookConfig(t, freePort(t))
	health, metrics := "127.0.0.1:"+strconv.Itoa(freePort(t)), "127.0.0.1:"+strconv.Itoa(freePort(t))
	p := startProcess(t, cfgName, health, metrics)

	eventually(t, "/readyz answering 200", func() error { return get200("http://" + health + "/readyz") })
	body, err := getBody("http://" + metrics + "/metrics")
	if err != nil || !strings.Contains(body, `roundabout_webhook_injections_total{reason="not-annotated",result="skipped"} 0`) {
		t.Errorf("metrics (%v) lack roundabout_webhook_injections_total at zero:\n%.2000s", err, body)
	}
	if err := p.Stop(t); err != nil {
		t.Errorf("exit after SIGTERM: %v", err)
	}
	if !strings.Contains(p.Out.String(), "webhook stopped") {
		t.Errorf("no \"webhook stopped\" line after SIGTERM:\n%s", p.Out.String())
	}
}

// createIdleWebhookConfig registers deploy/'s configuration for the
// process to patch, limited to a namespace that does not exist, so it
// never affects the other tests' pods, and returns its name.
func createIdleWebhookConfig(t *testing.T, port int) string {
	t.Helper()
	name := unique("roundabout-webhook-process")
	createDeployWebhookConfig(t, name, port, nil, deployOwnNamespace, unique("no-such-namespace"))
	return name
}

func startProcess(t *testing.T, cfgName, health, metrics string) *procs.Proc {
	t.Helper()
	ns := unique("roundabout-process-system")
	createNamespaces(t, newClient(t), ns)
	env := []string{"KUBECONFIG=" + adminKubeconfig(t), "POD_NAMESPACE=" + ns}
	return procs.Start(t, "roundabout-webhook", env,
		"--agent-image=ghcr.io/roundabout-dev/roundabout-agent:test",
		"--host=127.0.0.1", "--port="+strconv.Itoa(freePort(t)),
		"--health-addr="+health, "--metrics-addr="+metrics,
		"--webhook-config="+cfgName, "--shutdown-timeout=5s")
}

func get200(url string) error {
	_, err := getBody(url)
	return err
}

func getBody(url string) (string, error) {
	c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(c, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("%s: status %d: %s", url, resp.StatusCode, b)
	}
	return string(b), err
}
