package main

import (
	"encoding/json"
	"fmt"
	"os"
	"time"
)

// ghzReport is the part of ghz's --format json report that the table uses.
// Latencies are nanoseconds, as ghz writes time.Duration values.
type ghzReport struct {
	Count          int                `json:"count"`
	Total          time.Duration      `json:"total"`
	RPS            float64            `json:"rps"`
	StatusCodes    map[string]int     `json:"statusCodeDistribution"`
	Latencies      []ghzLatencyBucket `json:"latencyDistribution"`
	ErrorsByReason map[string]int     `json:"errorDistribution"`
	Options        struct {
		RPS int `json:"rps"`
	} `json:"options"`
}

type ghzLatencyBucket struct {
	Percentage int           `json:"percentage"`
	Latency    time.Duration `json:"latency"`
}

// reachedShare is how close to its --rps a paced run must come for its
// latencies to count as measured at that rate.
const reachedShare = 0.95

// load is one ghz run, or the rounds of one run, reduced to the figures the
// table prints. TargetRPS is the run's --rps, 0 when it ran as fast as it
// could; Total is how long it lasted, 0 when the report does not say.
type load struct {
	TargetRPS int
	RPS       float64
	P50       time.Duration
	P99       time.Duration
	Count     int
	Failed    int
	Total     time.Duration
	Rounds    int
}

// readLoad parses the ghz JSON report in path.
func readLoad(path string) (load, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return load{}, err
	}
	var rep ghzReport
	if err := json.Unmarshal(raw, &rep); err != nil {
		return load{}, fmt.Errorf("%s: not a ghz JSON report: %w", path, err)
	}
	return summarize(rep, path)
}

// summarize picks rps, p50, p99 and the count of calls that did not end OK.
func summarize(rep ghzReport, path string) (load, error) {
	p50, ok50 := percentile(rep.Latencies, 50)
	p99, ok99 := percentile(rep.Latencies, 99)
	if rep.Count > 0 && (!ok50 || !ok99) {
		return load{}, fmt.Errorf("%s: latencyDistribution has no p50 or p99", path)
	}
	return load{
		TargetRPS: rep.Options.RPS,
		RPS:       rep.RPS,
		P50:       p50,
		P99:       p99,
		Count:     rep.Count,
		Failed:    rep.Count - rep.StatusCodes["OK"],
		Total:     rep.Total,
		Rounds:    1,
	}, nil
}

// combine reduces the rounds of one run to one load: calls and failures
// are added up, the rate is the calls over the time of all rounds (the mean
// of the rounds' rates when a report lacks its time), and p50 and p99 are
// the means of the rounds'. Every round must have been made at the same
// --rps.
func combine(rounds []load) (load, error) {
	if len(rounds) == 0 {
		return load{}, fmt.Errorf("no rounds to combine")
	}
	out := load{TargetRPS: rounds[0].TargetRPS}
	var p50, p99 time.Duration
	var rps float64
	timed := true
	for _, r := range rounds {
		if r.TargetRPS != out.TargetRPS {
			return load{}, fmt.Errorf("rounds made at %d and %d rps", out.TargetRPS, r.TargetRPS)
		}
		out.Count += r.Count
		out.Failed += r.Failed
		out.Total += r.Total
		out.Rounds += r.Rounds
		p50 += r.P50
		p99 += r.P99
		rps += r.RPS
		timed = timed && r.Total > 0
	}
	n := time.Duration(len(rounds))
	out.P50, out.P99 = p50/n, p99/n
	if timed {
		out.RPS = float64(out.Count) / out.Total.Seconds()
	} else {
		out.RPS = rps / float64(len(rounds))
	}
	return out, nil
}

func percentile(buckets []ghzLatencyBucket, pct int) (time.Duration, bool) {
	for _, b := range buckets {
		if b.Percentage == pct {
			return b.Latency, true
		}
	}
	return 0, false
}

// OK is the number of calls answered with status OK.
func (l load) OK() int { return l.Count - l.Failed }

// reached reports whether a paced run came close enough to its --rps; a run
// that was not paced always has.
func (l load) reached() bool {
	return l.TargetRPS == 0 || l.RPS >= reachedShare*float64(l.TargetRPS)
}

// shortfall is a note for a paced run that did not reach its rate, else "".
func (l load) shortfall() string {
	if l.reached() {
		return ""
	}
	return fmt.Sprintf(" (only %.0f of %d rps)", l.RPS, l.TargetRPS)
}
