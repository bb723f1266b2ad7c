package demo

import (
	"context"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Bounds of the scale-up step.
const (
	scaleTimeout = 60 * time.Second
	// newPodBudget is how soon a new pod must get its first request once
	// its endpoint is ready.
	newPodBudget = time.Second
	// maxScaleRequests bounds the request loop that watches for new pods.
	maxScaleRequests = 50000
)

// scaleWatch holds, per new server pod, when its Ready condition turned
// true, when the EndpointSlice controller listed its endpoint as ready, and
// when it answered its first request.
type scaleWatch struct {
	podReady, endpointReady, firstHit *firstSeen
}

// stepScale scales the servers from 3 to 5 while requests flow, one after
// the other, and measures how soon each new pod answers.
func (e *Env) stepScale(ctx context.Context, s *Step) {
	_, g, ok := e.serversAndGateway(ctx, s)
	if !ok {
		return
	}
	defer g.Close()
	// Every server pod that exists now, ready or not, is an old one.
	all, err := e.Pods(ctx, Namespace, &metav1.LabelSelector{MatchLabels: map[string]string{"app": serverApp}})
	if err != nil {
		s.fail("list the servers", err)
		return
	}
	old := names(all)
	loopCtx, stopLoop := context.WithTimeout(ctx, scaleTimeout)
	defer stopLoop()
	w := scaleWatch{newFirstSeen(), newFirstSeen(), newFirstSeen()}
	if err := e.watchScale(loopCtx, old, w); err != nil {
		s.fail("watch the servers and their EndpointSlices", err)
		return
	}
	go sendUntil(loopCtx, g, w.firstHit)
	if _, err := e.Kubectl(ctx, "-n", Namespace, "scale", "deployment", serverApp, "--replicas=5"); err != nil {
		s.fail("kubectl scale", err)
		return
	}
	e.checkNewPods(loopCtx, s, w)
	stopLoop()
	e.chartAfterScale(ctx, s, g)
}

// checkNewPods waits for two new ready endpoints and their first requests.
func (e *Env) checkNewPods(ctx context.Context, s *Step, w scaleWatch) {
	pods, ok := w.endpointReady.waitCount(ctx, 2, time.Now().Add(scaleTimeout))
	if !ok {
		s.fail("two new endpoints become ready", fmt.Errorf("only %d within %s", len(pods), scaleTimeout))
		return
	}
	for _, pod := range pods[:2] {
		ep, _ := w.endpointReady.wait(ctx, pod, time.Now())
		hit, ok := w.firstHit.wait(ctx, pod, ep.Add(5*time.Second))
		what := "new pod " + pod + " gets traffic within 1s"
		if !ok {
			s.check(false, what, "no request reached it within 5s of its endpoint turning ready")
			continue
		}
		ready, _ := w.podReady.wait(ctx, pod, time.Now().Add(2*time.Second))
		byEndpoint, byPod := max(hit.Sub(ep), 0).Round(time.Millisecond), max(hit.Sub(ready), 0).Round(time.Millisecond)
		say(e.out, "%s: first request %s after its endpoint turned ready (%s after the pod turned Ready)", pod, byEndpoint, byPod)
		s.check(byEndpoint <= newPodBudget, what, "%s after its endpoint turned ready, %s after the pod's Ready condition", byEndpoint, byPod)
	}
}

// chartAfterScale sends 50 requests and checks that all five pods answer.
func (e *Env) chartAfterScale(ctx context.Context, s *Step, g *Gateway) {
	tally, err := g.Sequential(ctx, 50)
	if err != nil {
		s.fail("50 requests after scaling", err)
		return
	}
	pods := e.chartServers(ctx, tally)
	s.check(len(tally) == 5, "50 requests reach all 5 pods", "%s", tallyLine(tally, pods))
}

// watchScale records, for each server pod not in old, when a watch shows
// it Ready and when one shows its endpoint ready in an EndpointSlice.
func (e *Env) watchScale(ctx context.Context, old []string, w scaleWatch) error {
	pods, err := e.client.CoreV1().Pods(Namespace).Watch(ctx, metav1.ListOptions{LabelSelector: "app=" + serverApp})
	if err != nil {
		return err
	}
	endpoints, err := e.client.DiscoveryV1().EndpointSlices(Namespace).Watch(ctx,
		metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + serverApp})
	if err != nil {
		pods.Stop()
		return err
	}
	go func() {
		defer pods.Stop()
		for ev := range pods.ResultChan() {
			if p, ok := ev.Object.(*corev1.Pod); ok && podReady(p) && !slices.Contains(old, p.Name) {
				w.podReady.record(p.Name, time.Now())
			}
		}
	}()
	go func() {
		defer endpoints.Stop()
		for ev := range endpoints.ResultChan() {
			if sl, ok := ev.Object.(*discoveryv1.EndpointSlice); ok {
				recordReadyEndpoints(sl, old, w.endpointReady)
			}
		}
	}()
	return nil
}

// recordReadyEndpoints notes the new pods sl lists as ready.
func recordReadyEndpoints(sl *discoveryv1.EndpointSlice, old []string, seen *firstSeen) {
	now := time.Now()
	for _, ep := range sl.Endpoints {
		ready := ep.Conditions.Ready == nil || *ep.Conditions.Ready
		if ready && ep.TargetRef != nil && !slices.Contains(old, ep.TargetRef.Name) {
			seen.record(ep.TargetRef.Name, now)
		}
	}
}

// sendUntil sends requests one after the other until ctx ends or
// maxScaleRequests were sent, and records when each pod first answered.
func sendUntil(ctx context.Context, g *Gateway, hits *firstSeen) {
	for i := 0; i < maxScaleRequests && ctx.Err() == nil; i++ {
		start := time.Now()
		if pod, err := g.Greet(ctx, i); err == nil {
			hits.record(pod, start)
		}
	}
}
