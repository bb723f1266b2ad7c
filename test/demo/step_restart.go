package demo

import (
	"context"
	"time"
)

// The rolling restart's steady load.
const (
	restartRate     = 200
	restartDuration = 20 * time.Second
	restartInFlight = 128
	// restartAfter lets the load settle before the restart begins.
	restartAfter = 2 * time.Second
)

// stepRestart restarts every server pod with kubectl rollout restart while
// the gateway takes a steady 200 requests per second for 20 seconds, and
// checks that none fails.
func (e *Env) stepRestart(ctx context.Context, s *Step) {
	before, g, ok := e.serversAndGateway(ctx, s)
	if !ok {
		return
	}
	defer g.Close()
	say(e.out, "%d requests/s for %s through the gateway; the restart begins after %s", restartRate, restartDuration, restartAfter)
	done := make(chan []Hit, 1)
	go func() { done <- g.Load(ctx, restartRate, restartDuration, restartInFlight) }()
	if !pause(ctx, restartAfter) {
		return
	}
	if _, err := e.Kubectl(ctx, "-n", Namespace, "rollout", "restart", "deployment/"+serverApp); err != nil {
		s.fail("kubectl rollout restart", err)
	}
	rollout := e.WaitRollout(ctx, Namespace, serverApp, rolloutTimeout)
	sum := Summarize(<-done, restartDuration)
	s.Load = &sum
	e.reportRestart(ctx, s, sum, names(before), rollout)
}

// reportRestart prints and checks the load run's figures.
func (e *Env) reportRestart(ctx context.Context, s *Step, sum LoadSummary, old []string, rollout error) {
	say(e.out, "%d requests, %d failed, p50 %s, p99 %s", sum.Requests, sum.Failures,
		sum.P50.Round(10*time.Microsecond), sum.P99.Round(10*time.Microsecond))
	Chart(e.out, sum.Tally, old)
	if rollout != nil {
		s.fail("the rollout completes", rollout)
	} else {
		s.check(true, "the rollout completes", "5 new pods ready, the old ones gone")
	}
	want := int(restartRate * restartDuration.Seconds())
	s.check(sum.Requests == want, "steady load", "%d requests sent in %s (%d/s)", sum.Requests, restartDuration, restartRate)
	if sum.FirstErr != nil {
		s.check(false, "0 failed requests", "%d failed; first: %v", sum.Failures, sum.FirstErr)
	} else {
		s.check(true, "0 failed requests", "0 of %d failed, p99 %s", sum.Requests, sum.P99.Round(10*time.Microsecond))
	}
	served := 0
	for pod := range sum.Tally {
		if !contains(old, pod) {
			served++
		}
	}
	s.check(served > 0, "new pods served during the load", "%d new pods answered", served)
}

// pause waits d unless ctx ends first.
func pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
