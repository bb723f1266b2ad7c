package demo

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/roundabout-dev/roundabout/api/annotations"
)

// Timeouts of the scenario's waits.
const (
	rolloutTimeout = 90 * time.Second
	warmUpTimeout  = 30 * time.Second
)

// Ports and names of deploy/examples/greet.
const (
	serverApp   = "greetserver"
	clientApp   = "greetclient"
	gatewayPort = 9091
	agentAdmin  = annotations.DefaultAdminPort
	lookaside   = 9902
)

// stepProblem deploys the greet example without the agent, the gateway
// dialling the ClusterIP Service by its DNS name, and shows every request
// of its one HTTP/2 connection landing on the same pod.
func (e *Env) stepProblem(ctx context.Context, s *Step) {
	say(e.out, "greetclient dials greetserver.greet.svc.cluster.local: CoreDNS answers the ClusterIP, kube-proxy picks a pod per connection")
	if _, err := e.Kubectl(ctx, "apply", "-k", "demo/manifests/sticky"); err != nil {
		s.fail("apply the example without injection", err)
		return
	}
	if err := e.waitBoth(ctx); err != nil {
		s.fail("the example rolls out", err)
		return
	}
	_, _ = e.Kubectl(ctx, "-n", Namespace, "get", "pods", "-o", "wide")
	_, _ = e.Kubectl(ctx, "-n", Namespace, "get", "service", serverApp)
	if pod, err := e.OnePod(ctx, clientApp, rolloutTimeout); err == nil {
		e.printClientEnv(ctx, pod)
		if app := container(pod.Spec.Containers, clientApp); app != nil {
			e.hostBefore = envValue(app.Env, "GRPC_SERVER_HOST")
		}
	}
	tally, err := e.greetThroughClient(ctx, clientApp, 30)
	if err != nil {
		s.fail("30 requests through the gateway", err)
		return
	}
	pods := e.chartServers(ctx, tally)
	s.check(tally.Total() == 30 && len(tally) == 1, "30 requests land on one pod", "%s", tallyLine(tally, pods))
}

// waitBoth waits for the servers and the client to roll out.
func (e *Env) waitBoth(ctx context.Context) error {
	if err := e.WaitRollout(ctx, Namespace, serverApp, rolloutTimeout); err != nil {
		return err
	}
	return e.WaitRollout(ctx, Namespace, clientApp, rolloutTimeout)
}

// greetThroughClient sends n greetings through the one ready pod of the
// gateway app, once it answers at all (a gateway that started before any
// server was ready is still in gRPC's reconnect backoff).
func (e *Env) greetThroughClient(ctx context.Context, app string, n int) (Tally, error) {
	g, err := e.gateway(ctx, app)
	if err != nil {
		return nil, err
	}
	defer g.Close()
	return g.Sequential(ctx, n)
}

// gateway returns a Gateway for the one ready pod of app, once it answers.
func (e *Env) gateway(ctx context.Context, app string) (*Gateway, error) {
	pod, err := e.OnePod(ctx, app, rolloutTimeout)
	if err != nil {
		return nil, err
	}
	g := NewGateway(pod.Status.PodIP, gatewayPort)
	err = waitFor(ctx, warmUpTimeout, fmt.Sprintf("gateway %s to answer", pod.Name), func(ctx context.Context) (bool, string, error) {
		_, err := g.Greet(ctx, -1)
		if err != nil {
			return false, err.Error(), nil
		}
		return true, "", nil
	})
	return g, err
}

// serversAndGateway lists the ready servers and returns a Gateway for the
// client pod; on failure it records why in s and returns false.
func (e *Env) serversAndGateway(ctx context.Context, s *Step) ([]corev1.Pod, *Gateway, bool) {
	servers, err := e.ReadyPods(ctx, Namespace, serverApp)
	if err != nil {
		s.fail("list the servers", err)
		return nil, nil, false
	}
	g, err := e.gateway(ctx, clientApp)
	if err != nil {
		s.fail("the gateway answers", err)
		return nil, nil, false
	}
	return servers, g, true
}

// chartServers prints tally over the ready server pods and returns the
// pods' names in the chart's order.
func (e *Env) chartServers(ctx context.Context, tally Tally) []string {
	pods, err := e.ReadyPods(ctx, Namespace, serverApp)
	if err != nil {
		pods = nil
	}
	Chart(e.out, tally, names(pods))
	return chartOrder(tally, names(pods))
}
