package inject

import (
	"fmt"
	"strings"
)

// AnnotationError is one annotation that cannot be honoured.
type AnnotationError struct {
	// Annotation is the annotation's full name.
	Annotation string
	// Value is the annotation's value as written on the pod.
	Value string
	// Problem says what is wrong and what is allowed.
	Problem string
}

func (e *AnnotationError) Error() string {
	return fmt.Sprintf("annotation %s=%q: %s", e.Annotation, e.Value, e.Problem)
}

// Denial is every annotation problem found on a pod. Its message is what
// the API server returns to whoever created the pod.
type Denial struct {
	Problems []*AnnotationError
}

func (d *Denial) Error() string {
	msgs := make([]string, len(d.Problems))
	for i, p := range d.Problems {
		msgs[i] = p.Error()
	}
	return "roundabout: cannot inject the agent: " + strings.Join(msgs, "; ")
}

// problems collects annotation errors while parsing.
type problems []*AnnotationError

func (p *problems) add(annotation, value, format string, args ...any) {
	*p = append(*p, &AnnotationError{Annotation: annotation, Value: value, Problem: fmt.Sprintf(format, args...)})
}

// err returns the collected problems as a *Denial, or nil when there are none.
func (p problems) err() error {
	if len(p) == 0 {
		return nil
	}
	return &Denial{Problems: p}
}
