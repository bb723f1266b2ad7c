package main

import (
	"strings"
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

func idle(rps float64) *load {
	return &load{TargetRPS: 500, RPS: rps, Count: 2000}
}

// cpu is a cpu file at 100 ticks a second giving the 500 rps run (2000
// calls) and the 2000 rps run (6000 calls) the CPU per call asked for.
func cpu(idleUS, servingUS int64) map[string]int64 {
	return map[string]int64{keyClkTck: 100, runIdle: idleUS * 2000 / 10000, runServing: servingUS * 6000 / 10000}
}

func benchTargets(agent target) []target {
	direct := target{ID: idDirect, Saturated: saturated(14000, 8*time.Millisecond), Paced: paced(300 * time.Microsecond)}
	haproxy := target{ID: idHAProxy, Saturated: saturated(11000, 10*time.Millisecond), Paced: paced(600 * time.Microsecond),
		Serving: serving(2000), Idle: idle(500), CPU: cpu(150, 100)}
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
		Idle:      idle(500),
		Memory:    map[string]int64{keyServingHWM: 20 * 1024},
		CPU:       cpu(140, 100),
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
		Paced:     paced(560 * time.Microsecond),
		Serving:   serving(2000),
		Idle:      idle(500),
		Memory:    map[string]int64{keyServingHWM: 20*1024 + 1},
		CPU:       cpu(160, 110),
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
	agent := target{Paced: paced(550 * time.Microsecond)}
	direct := target{Paced: paced(300 * time.Microsecond)}
	measured, pass, ok := checkAddedPacedP50(agent, target{}, direct)
	if !ok || !pass || measured != "+0.25 ms" {
		t.Fatalf("checkAddedPacedP50 = %q, %v, %v; want \"+0.25 ms\", true, true", measured, pass, ok)
	}
}

func TestCPUChecksCompareCPUPerCallAnsweredWithHAProxy(t *testing.T) {
	// 30 ticks at 100 Hz over 1500 calls of which 300 failed: 250 µs per
	// call answered, against haproxy's 150.
	agent := target{ID: idAgent, Idle: &load{TargetRPS: 500, RPS: 500, Count: 1500, Failed: 300},
		CPU: map[string]int64{keyClkTck: 100, runIdle: 30}}
	haproxy := benchTargets(target{})[2]
	measured, pass, ok := checkIdleCPU(agent, haproxy, target{})
	if !ok || pass || measured != "250 µs vs 150 µs (1.67x)" {
		t.Fatalf("checkIdleCPU = %q, %v, %v; want \"250 µs vs 150 µs (1.67x)\", false, true", measured, pass, ok)
	}
	if m, _, ok := checkServingCPU(agent, haproxy, target{}); ok || m != "" {
		t.Errorf("checkServingCPU without a 2000 rps run = %q, ok=%v; want no figure and ok=false", m, ok)
	}
}

func TestChecksAtAFixedRateNeedTheRateReached(t *testing.T) {
	slow := paced(400 * time.Microsecond)
	slow.RPS = 900
	agent := target{
		Paced:   slow,
		Serving: serving(1500),
		Idle:    idle(400),
		Memory:  map[string]int64{keyServingHWM: 10 * 1024},
		CPU:     cpu(100, 50),
	}
	direct := target{Paced: paced(300 * time.Microsecond)}
	haproxy := benchTargets(target{})[2]
	if m, _, ok := checkAddedPacedP50(agent, target{}, direct); ok || m == "" {
		t.Errorf("checkAddedPacedP50 at 900 of 1000 rps = %q, ok=%v; want a note and ok=false", m, ok)
	}
	if m, _, ok := checkServingHWM(agent, target{}, target{}); ok || m == "" {
		t.Errorf("checkServingHWM at 1500 of 2000 rps = %q, ok=%v; want a note and ok=false", m, ok)
	}
	if m, _, ok := checkIdleCPU(agent, haproxy, target{}); ok || !strings.Contains(m, "fell short") {
		t.Errorf("checkIdleCPU at 400 of 500 rps = %q, ok=%v; want a note and ok=false", m, ok)
	}
	if m, _, ok := checkServingCPU(agent, haproxy, target{}); ok || !strings.Contains(m, "fell short") {
		t.Errorf("checkServingCPU at 1500 of 2000 rps = %q, ok=%v; want a note and ok=false", m, ok)
	}
}
