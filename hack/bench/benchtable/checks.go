package main

import (
	"fmt"
	"time"
)

// Target ids that the checks compare.
const (
	idDirect  = "direct"
	idAgent   = "agent"
	idHAProxy = "haproxy"
)

// Limits the agent is held to.
const (
	minRPSvsHAProxy  = 1.0
	minRPSvsDirect   = 0.85
	maxAddedPacedP50 = 250 * time.Microsecond
	maxServingHWMMiB = 20.0
	kibPerMiB        = 1024.0
	notMeasured      = "n/a"
	verdictPass      = "PASS"
	verdictMiss      = "MISS"
)

// check is one target the agent must meet. eval returns the measured figure
// and whether it meets the limit; ok is false when a figure is missing or was
// not measured under the stated load, and measured may then say why.
type check struct {
	name string
	eval func(agent, haproxy, direct target) (measured string, pass, ok bool)
}

// verdict is one evaluated check, as printed.
type verdict struct {
	Name     string
	Measured string
	Verdict  string
}

var agentChecks = []check{
	{fmt.Sprintf("rps >= %.2fx haproxy", minRPSvsHAProxy), checkRPSvsHAProxy},
	{"p99 <= haproxy p99", checkP99vsHAProxy},
	{fmt.Sprintf("rps >= %.2fx direct", minRPSvsDirect), checkRPSvsDirect},
	{fmt.Sprintf("p50 @1000 rps - direct <= %.2f ms", ms(maxAddedPacedP50)), checkAddedPacedP50},
	{"CPU µs/call @500 rps <= haproxy's", checkIdleCPU},
	{"CPU µs/call @2000 rps <= haproxy's", checkServingCPU},
	{fmt.Sprintf("VmHWM after 2000 rps <= %.0f MiB", maxServingHWMMiB), checkServingHWM},
	{"every call OK", checkNoFailures},
}

// evaluate runs every check against the targets found in the results.
func evaluate(targets []target) []verdict {
	byID := map[string]target{}
	for _, t := range targets {
		byID[t.ID] = t
	}
	out := make([]verdict, 0, len(agentChecks))
	for _, c := range agentChecks {
		v := verdict{Name: c.name, Measured: notMeasured, Verdict: notMeasured}
		measured, pass, ok := c.eval(byID[idAgent], byID[idHAProxy], byID[idDirect])
		if measured != "" {
			v.Measured = measured
		}
		if ok {
			v.Verdict = passOrMiss(pass)
		}
		out = append(out, v)
	}
	return out
}

func passOrMiss(pass bool) string {
	if pass {
		return verdictPass
	}
	return verdictMiss
}

func checkRPSvsHAProxy(agent, haproxy, _ target) (string, bool, bool) {
	return rpsRatio(agent, haproxy, minRPSvsHAProxy)
}

func checkRPSvsDirect(agent, _, direct target) (string, bool, bool) {
	return rpsRatio(agent, direct, minRPSvsDirect)
}

func rpsRatio(agent, base target, min float64) (string, bool, bool) {
	if agent.Saturated == nil || base.Saturated == nil || base.Saturated.RPS == 0 {
		return "", false, false
	}
	r := agent.Saturated.RPS / base.Saturated.RPS
	return fmt.Sprintf("%.2fx (%.0f vs %.0f)", r, agent.Saturated.RPS, base.Saturated.RPS), r >= min, true
}

func checkP99vsHAProxy(agent, haproxy, _ target) (string, bool, bool) {
	if agent.Saturated == nil || haproxy.Saturated == nil {
		return "", false, false
	}
	a, h := agent.Saturated.P99, haproxy.Saturated.P99
	return fmt.Sprintf("%.2f ms vs %.2f ms", ms(a), ms(h)), a <= h, true
}

func checkAddedPacedP50(agent, _, direct target) (string, bool, bool) {
	if agent.Paced == nil || direct.Paced == nil {
		return "", false, false
	}
	added := agent.Paced.P50 - direct.Paced.P50
	measured := fmt.Sprintf("%+.2f ms", ms(added))
	if !agent.Paced.reached() || !direct.Paced.reached() {
		return measured + ", a paced run fell short of its rate", false, false
	}
	return measured, added <= maxAddedPacedP50, true
}

func checkServingHWM(agent, _, _ target) (string, bool, bool) {
	kib, ok := agent.Memory[keyServingHWM]
	if !ok {
		return "", false, false
	}
	mib := float64(kib) / kibPerMiB
	measured := fmt.Sprintf("%.1f MiB", mib)
	if agent.Serving == nil || !agent.Serving.reached() {
		return measured + ", not at 2000 rps", false, false
	}
	return measured, mib <= maxServingHWMMiB, true
}

func checkIdleCPU(agent, haproxy, _ target) (string, bool, bool) {
	return cpuVsHAProxy(agent, haproxy, runIdle, agent.Idle, haproxy.Idle)
}

func checkServingCPU(agent, haproxy, _ target) (string, bool, bool) {
	return cpuVsHAProxy(agent, haproxy, runServing, agent.Serving, haproxy.Serving)
}

// cpuVsHAProxy compares the CPU per call of the agent and haproxy during
// the same paced run; both must have reached its rate.
func cpuVsHAProxy(agent, haproxy target, run string, a, h *load) (string, bool, bool) {
	au, aok := agent.cpuPerCall(run, a)
	hu, hok := haproxy.cpuPerCall(run, h)
	if !aok || !hok {
		return "", false, false
	}
	measured := fmt.Sprintf("%.0f µs vs %.0f µs (%.2fx)", au, hu, au/hu)
	if !a.reached() || !h.reached() {
		return measured + ", a paced run fell short of its rate", false, false
	}
	return measured, au <= hu, true
}

func checkNoFailures(agent, _, _ target) (string, bool, bool) {
	if agent.Saturated == nil || agent.Paced == nil {
		return "", false, false
	}
	failed := agent.Saturated.Failed + agent.Paced.Failed
	if agent.Serving != nil {
		failed += agent.Serving.Failed
	}
	return fmt.Sprintf("%d failed", failed), failed == 0, true
}

func ms(d time.Duration) float64 {
	return float64(d) / float64(time.Millisecond)
}
