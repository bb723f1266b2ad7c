package demo

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
)

// Bounds of the scale-up step.
const (
	scaleTimeout = 60 * time.Second
	// newPodBudget is how soon a new ready pod must get its first request.
	newPodBudget = time.Second
	// maxScaleRequests bounds the request loop that watches for new pods.
	maxScaleRequests = 50000
)

// stepScale scales the servers from 3 to 5 while requests flow and
// measures, for each new pod, the time from its Ready condition (as seen
// on a watch) to the first request it answers.
func (e *Env) stepScale(ctx context.Context, s *Step) {
	before, g, ok := e.serversAndGateway(ctx, s)
	if !ok {
		return
	}
	defer g.Close()
	ready, err := e.watchNewReady(ctx, before)
	if err != nil {
		s.fail("watch the servers", err)
		return
	}
	rec := newFirstHits()
	loopCtx, stopLoop := context.WithTimeout(ctx, scaleTimeout)
	defer stopLoop()
	go rec.run(loopCtx, g)
	if _, err := e.Kubectl(ctx, "-n", Namespace, "scale", "deployment", serverApp, "--replicas=5"); err != nil {
		s.fail("kubectl scale", err)
		return
	}
	e.checkNewPods(loopCtx, s, ready, rec)
	stopLoop()
	e.chartAfterScale(ctx, s, g)
}

// checkNewPods waits for two new ready pods and their first requests.
func (e *Env) checkNewPods(ctx context.Context, s *Step, ready <-chan readyPod, rec *firstHits) {
	for range 2 {
		var p readyPod
		select {
		case p = <-ready:
		case <-ctx.Done():
			s.fail("two new pods become ready", fmt.Errorf("not within %s", scaleTimeout))
			return
		}
		hit, ok := rec.wait(ctx, p.name, p.at.Add(5*time.Second))
		if !ok {
			s.check(false, "new pod "+p.name+" gets traffic within 1s of ready", "no request reached it within 5s")
			continue
		}
		delay := max(hit.Sub(p.at), 0)
		say(e.out, "%s ready at %s, first request %s later", p.name, p.at.Format("15:04:05.000"), delay.Round(time.Millisecond))
		s.check(delay <= newPodBudget, "new pod "+p.name+" gets traffic within 1s of ready", "%s", delay.Round(time.Millisecond))
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

// readyPod is a server pod and when the watch saw it become ready.
type readyPod struct {
	name string
	at   time.Time
}

// watchNewReady reports each server pod not in before, once, when a watch
// event shows it ready.
func (e *Env) watchNewReady(ctx context.Context, before []corev1.Pod) (<-chan readyPod, error) {
	w, err := e.client.CoreV1().Pods(Namespace).Watch(ctx, metav1.ListOptions{LabelSelector: "app=" + serverApp})
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, p := range before {
		seen[p.Name] = true
	}
	out := make(chan readyPod, 8)
	go func() {
		defer w.Stop()
		for ev := range w.ResultChan() {
			p, ok := ev.Object.(*corev1.Pod)
			if !ok || ev.Type == watch.Deleted || seen[p.Name] || !podReady(p) {
				continue
			}
			seen[p.Name] = true
			out <- readyPod{name: p.Name, at: time.Now()}
		}
	}()
	return out, nil
}

// firstHits sends requests one after another and records when each pod
// first answered.
type firstHits struct {
	mu    sync.Mutex
	first map[string]time.Time
	more  chan struct{} // closed and replaced on every new pod
}

func newFirstHits() *firstHits {
	return &firstHits{first: map[string]time.Time{}, more: make(chan struct{})}
}

// run sends requests until ctx ends or maxScaleRequests were sent.
func (f *firstHits) run(ctx context.Context, g *Gateway) {
	for i := 0; i < maxScaleRequests && ctx.Err() == nil; i++ {
		start := time.Now()
		pod, err := g.Greet(ctx, i)
		if err == nil {
			f.record(pod, start)
		}
	}
}

func (f *firstHits) record(pod string, at time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.first[pod]; ok {
		return
	}
	f.first[pod] = at
	close(f.more)
	f.more = make(chan struct{})
}

// wait returns when pod first answered, waiting until deadline.
func (f *firstHits) wait(ctx context.Context, pod string, deadline time.Time) (time.Time, bool) {
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	for {
		f.mu.Lock()
		at, ok := f.first[pod]
		more := f.more
		f.mu.Unlock()
		if ok {
			return at, true
		}
		select {
		case <-more:
		case <-timer.C:
			return time.Time{}, false
		case <-ctx.Done():
			return time.Time{}, false
		}
	}
}
