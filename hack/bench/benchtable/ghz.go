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

// load is one ghz run reduced to the figures the table prints. TargetRPS is
// the run's --rps, 0 when it ran as fast as it could.
type load struct {
	TargetRPS int
	RPS       float64
	P50       time.Duration
	P99       time.Duration
	Count     int
	Failed    int
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
	}, nil
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
