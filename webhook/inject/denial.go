package inject

import (
	"errors"
	"fmt"
	"strings"

	"github.com/roundabout-dev/roundabout/api/annotations"
)

// Denial is every annotation problem found on a pod. Its message is what
// the API server returns to whoever created the pod.
type Denial struct {
	// Problems are the annotations that cannot be honoured, each with its
	// value and what is wrong with it.
	Problems []*annotations.Error
}

func (d *Denial) Error() string {
	msgs := make([]string, len(d.Problems))
	for i, p := range d.Problems {
		msgs[i] = p.Error()
	}
	return "roundabout: cannot inject the agent: " + strings.Join(msgs, "; ")
}

// problems collects annotation errors while parsing.
type problems []*annotations.Error

func (p *problems) add(annotation, value, format string, args ...any) {
	*p = append(*p, &annotations.Error{Key: annotation, Value: value, Problem: fmt.Sprintf(format, args...)})
}

// addErr adds err, the result of one of the contract's validators, unless
// it is nil.
func (p *problems) addErr(err error) {
	if err == nil {
		return
	}
	var ae *annotations.Error
	if !errors.As(err, &ae) {
		ae = &annotations.Error{Problem: err.Error()}
	}
	*p = append(*p, ae)
}

// err returns the collected problems as a *Denial, or nil when there are none.
func (p problems) err() error {
	if len(p) == 0 {
		return nil
	}
	return &Denial{Problems: p}
}
