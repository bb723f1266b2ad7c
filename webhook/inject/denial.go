package inject

import (
	"errors"
	"fmt"
	"strings"

	"github.com/roundabout-dev/roundabout/api/annotations"
)

// Denial is every problem found on a pod that asks for the agent. Its
// message is what the API server returns to whoever created the pod.
type Denial struct {
	// Problems are what cannot be honoured, in the order found: an
	// *annotations.Error for an annotation (its name, value and what is
	// allowed), a *FieldError for a part of the pod's spec the agent would
	// conflict with.
	Problems []error
}

func (d *Denial) Error() string {
	msgs := make([]string, len(d.Problems))
	for i, p := range d.Problems {
		msgs[i] = p.Error()
	}
	return "roundabout: cannot inject the agent: " + strings.Join(msgs, "; ")
}

// FieldError is a part of the pod's spec the agent cannot be added to.
type FieldError struct {
	// Field is the path of the field, such as spec.hostAliases[0].hostnames[1].
	Field string
	// Problem says what is wrong and how to resolve it.
	Problem string
}

func (e *FieldError) Error() string {
	return e.Field + ": " + e.Problem
}

// problems collects annotation and spec problems while parsing.
type problems []error

func (p *problems) add(annotation, value, format string, args ...any) {
	*p = append(*p, &annotations.Error{Key: annotation, Value: value, Problem: fmt.Sprintf(format, args...)})
}

func (p *problems) addField(field, format string, args ...any) {
	*p = append(*p, &FieldError{Field: field, Problem: fmt.Sprintf(format, args...)})
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
