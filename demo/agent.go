package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/roundabout-dev/roundabout/agent/admin"
	"github.com/roundabout-dev/roundabout/agent/pool"
	"github.com/roundabout-dev/roundabout/webhook/inject"
)

// AgentDebug reads the agent's /debug/endpoints on the pod's admin port.
func AgentDebug(ctx context.Context, podIP string) ([]pool.Debug, error) {
	url := "http://" + net.JoinHostPort(podIP, fmt.Sprint(agentAdmin)) + "/debug/endpoints"
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var raw json.RawMessage
	if err := json.NewDecoder(resp.Body).Decode(&raw); err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	return decodeDebug(raw)
}

// decodeDebug reads /debug/endpoints: the state of each upstream.
func decodeDebug(raw json.RawMessage) ([]pool.Debug, error) {
	var doc admin.EndpointsDoc[pool.Debug]
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	return doc.Upstreams, nil
}

// WaitAgentEndpoints waits until the pod's agent has exactly n ready
// endpoints and no other, so that a round-robin rotation covers them all.
func (e *Env) WaitAgentEndpoints(ctx context.Context, pod *corev1.Pod, n int) error {
	return waitFor(ctx, 30*time.Second, fmt.Sprintf("the agent of %s to connect to %d endpoints", pod.Name, n),
		func(ctx context.Context) (bool, string, error) {
			d, err := AgentDebug(ctx, pod.Status.PodIP)
			if err != nil || len(d) != 1 {
				return false, fmt.Sprintf("%v upstreams, err %v", len(d), err), nil
			}
			ready := 0
			for _, ep := range d[0].Endpoints {
				if ep.State == pool.StateReady {
					ready++
				}
			}
			return ready == n && len(d[0].Endpoints) == n, fmt.Sprintf("%d of %d endpoints ready", ready, len(d[0].Endpoints)), nil
		})
}

// ShowAgentLog prints, through kubectl logs (the API server, then the pod
// runner's kubelet endpoint), the agent's log lines that contain any of words.
func (e *Env) ShowAgentLog(ctx context.Context, pod string, words ...string) (string, error) {
	args := []string{"-n", Namespace, "logs", pod, "-c", inject.AgentContainerName}
	fmt.Fprintf(e.out, "    $ kubectl %s | grep -E '%s'   (JSON shown as key=value)\n", strings.Join(args, " "), strings.Join(words, "|"))
	out, err := e.kubectlQuiet(ctx, args...)
	if err != nil {
		return "", err
	}
	var kept []string
	for _, line := range strings.Split(out, "\n") {
		for _, w := range words {
			if strings.Contains(line, w) {
				kept = append(kept, line)
				fmt.Fprintf(e.out, "      %s\n", shorten(readableLog(line), 160))
				break
			}
		}
	}
	return strings.Join(kept, "\n"), nil
}

// shorten cuts s to n characters.
func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}

// containersLine describes a pod's containers the way kubectl would list them.
func containersLine(p *corev1.Pod) string {
	var parts []string
	for _, c := range p.Spec.InitContainers {
		kind := "init container"
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			kind = "native sidecar"
		}
		parts = append(parts, fmt.Sprintf("%s (%s, %s)", c.Name, kind, c.Image))
	}
	for _, c := range p.Spec.Containers {
		parts = append(parts, fmt.Sprintf("%s (%s)", c.Name, c.Image))
	}
	return strings.Join(parts, ", ")
}

// restarts returns the restart count of container name, -1 if unknown.
func restarts(p *corev1.Pod, name string) int32 {
	for _, cs := range [][]corev1.ContainerStatus{p.Status.InitContainerStatuses, p.Status.ContainerStatuses} {
		for _, s := range cs {
			if s.Name == name {
				return s.RestartCount
			}
		}
	}
	return -1
}
