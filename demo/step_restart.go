package demo

import (
	"context"
	"math"
	"slices"
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
		<-done
		return
	}
	if _, err := e.Kubectl(ctx, "-n", Namespace, "rollout", "restart", "deployment/"+serverApp); err != nil {
		s.fail("kubectl rollout restart", err)
	}
	began := time.Now()
	rollout := e.WaitRollout(ctx, Namespace, serverApp, rolloutTimeout)
	rolledOut := time.Now()
	sum := Summarize(<-done)
	s.Load = &sum
	say(e.out, "%d requests, %d failed, p50 %s, p99 %s", sum.Requests, sum.Failures,
		sum.P50.Round(10*time.Microsecond), sum.P99.Round(10*time.Microsecond))
	Chart(e.out, sum.Tally, names(before))
	e.checkRollout(s, rollout, rolledOut.Sub(began), sum.Start.Add(sum.Span).Sub(rolledOut))
	checkLoad(s, sum, names(before))
}

// checkRollout checks that the rollout completed while the load still ran.
func (e *Env) checkRollout(s *Step, err error, took, left time.Duration) {
	if err != nil {
		s.fail("the rollout completes under load", err)
		return
	}
	s.check(left > 0, "the rollout completes under load", "5 new pods ready and the old ones gone in %s, %s before the load ended",
		took.Round(100*time.Millisecond), left.Round(100*time.Millisecond))
}

// checkLoad checks the load run's rate and failures, and that new pods
// served part of it.
func checkLoad(s *Step, sum LoadSummary, old []string) {
	want := int(restartRate * restartDuration.Seconds())
	steady := sum.Requests == want && math.Abs(sum.PerSecond-restartRate) <= restartRate/10
	s.check(steady, "steady load", "%d of %d requests sent over %s, %.1f/s", sum.Requests, want,
		sum.Span.Round(10*time.Millisecond), sum.PerSecond)
	if sum.FirstErr != nil {
		s.check(false, "0 failed requests", "%d failed; first: %v", sum.Failures, sum.FirstErr)
	} else {
		s.check(true, "0 failed requests", "0 of %d failed, p99 %s", sum.Requests, sum.P99.Round(10*time.Microsecond))
	}
	served := 0
	for pod := range sum.Tally {
		if !slices.Contains(old, pod) {
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
