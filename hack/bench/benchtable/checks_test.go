package main

import (
	"testing"
	"time"
)

func saturated(rps float64, p99 time.Duration) *load {
	return &load{RPS: rps, P50: p99 / 3, P99: p99, Count: 100}
}

func paced(p50 time.Duration) *load {
	return &load{TargetRPS: 1000, RPS: 1000, P50: p50, P99: 2 * p50, Count: 3000}
}

func serving(rps float64) *load {
	return &load{TargetRPS: 2000, RPS: rps, Count: 6000}
}

func benchTargets(agent target) []target {
	direct := target{ID: idDirect, Saturated: saturated(14000, 8*time.Millisecond), Paced: paced(300 * time.Microsecond)}
	haproxy := target{ID: idHAProxy, Saturated: saturated(11000, 10*time.Millisecond), Paced: paced(600 * time.Microsecond)}
	return []target{direct, agent, haproxy}
}

func verdicts(t *testing.T, agent target) []string {
	t.Helper()
	got := evaluate(benchTargets(agent))
	if len(got) != len(agentChecks) {
		t.Fatalf("evaluate returned %d verdicts, want %d", len(got), len(agentChecks))
	}
	out := make([]string, len(got))
	for i, v := range got {
		out[i] = v.Verdict
	}
	return out
}

func TestEvaluatePassesAnAgentThatMeetsEveryTarget(t *testing.T) {
	agent := target{
		ID:        idAgent,
		Saturated: saturated(12500, 9*time.Millisecond),
		Paced:     paced(550 * time.Microsecond),
		Serving:   serving(1990),
		Memory:    map[string]int64{keyServingRSS: 15 * 1024},
	}
	for i, v := range verdicts(t, agent) {
		if v != verdictPass {
			t.Errorf("check %q = %s, want PASS", agentChecks[i].name, v)
		}
	}
}

func TestEvaluateMissesEachTargetItFails(t *testing.T) {
	agent := target{
		ID:        idAgent,
		Saturated: &load{RPS: 10000, P99: 11 * time.Millisecond, Count: 100, Failed: 1},
		Paced:     paced(700 * time.Microsecond),
		Serving:   serving(2000),
		Memory:    map[string]int64{keyServingRSS: 21 * 1024},
	}
	for i, v := range verdicts(t, agent) {
		if v != verdictMiss {
			t.Errorf("check %q = %s, want MISS", agentChecks[i].name, v)
		}
	}
}

func TestEvaluateReportsSkippedAgentAsNotMeasured(t *testing.T) {
	for i, v := range verdicts(t, target{ID: idAgent, Skip: "not built"}) {
		if v != notMeasured {
			t.Errorf("check %q = %s, want %s", agentChecks[i].name, v, notMeasured)
		}
	}
}

func TestAddedPacedP50LimitIsInclusive(t *testing.T) {
	agent := target{Paced: paced(600 * time.Microsecond)}
	direct := target{Paced: paced(300 * time.Microsecond)}
	measured, pass, ok := checkAddedPacedP50(agent, target{}, direct)
	if !ok || !pass || measured != "+0.30 ms" {
		t.Fatalf("checkAddedPacedP50 = %q, %v, %v; want \"+0.30 ms\", true, true", measured, pass, ok)
	}
}

func TestChecksAtAFixedRateNeedTheRateReached(t *testing.T) {
	slow := paced(400 * time.Microsecond)
	slow.RPS = 900
	agent := target{
		Paced:   slow,
		Serving: serving(1500),
		Memory:  map[string]int64{keyServingRSS: 10 * 1024},
	}
	direct := target{Paced: paced(300 * time.Microsecond)}
	if m, _, ok := checkAddedPacedP50(agent, target{}, direct); ok || m == "" {
		t.Errorf("checkAddedPacedP50 at 900 of 1000 rps = %q, ok=%v; want a note and ok=false", m, ok)
	}
	if m, _, ok := checkServingRSS(agent, target{}, target{}); ok || m == "" {
		t.Errorf("checkServingRSS at 1500 of 2000 rps = %q, ok=%v; want a note and ok=false", m, ok)
	}
}
