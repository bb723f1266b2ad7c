package server

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/roundabout-dev/roundabout/webhook/inject"
)

// Results of an admission decision, the result label.
const (
	ResultInjected = "injected"
	ResultSkipped  = "skipped"
	ResultDenied   = "denied"
	ResultError    = "error"
)

// Metrics counts admission decisions.
type Metrics struct {
	injections *prometheus.CounterVec
}

// NewMetrics registers roundabout_webhook_injections_total with reg, or
// reuses the counter already registered there (a second server in the same
// process counts into the same series).
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{injections: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "roundabout_webhook_injections_total",
		Help: "Pod admission decisions by result (injected, skipped, denied, error) and reason code.",
	}, []string{"result", "reason"})}
	err := reg.Register(m.injections)
	var already prometheus.AlreadyRegisteredError
	switch {
	case errors.As(err, &already):
		existing, ok := already.ExistingCollector.(*prometheus.CounterVec)
		if !ok {
			return nil, fmt.Errorf("roundabout_webhook_injections_total is registered as %T, not a counter", already.ExistingCollector)
		}
		m.injections = existing
	case err != nil:
		return nil, err
	}
	m.initialise()
	return m, nil
}

// initialise exports every result and reason pair that can occur at zero,
// so rates work from the first decision.
func (m *Metrics) initialise() {
	for _, r := range inject.Reasons {
		m.injections.WithLabelValues(resultOf(r), string(r))
	}
	m.injections.WithLabelValues(ResultError, ReasonBadRequest)
}

func (m *Metrics) observe(result, reason string) {
	m.injections.WithLabelValues(result, reason).Inc()
}

// resultOf maps a reason to its result.
func resultOf(r inject.Reason) string {
	switch r {
	case inject.ReasonInjected:
		return ResultInjected
	case inject.ReasonInvalidAnnotation:
		return ResultDenied
	}
	return ResultSkipped
}
