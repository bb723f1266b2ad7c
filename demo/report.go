package demo

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// Check is one expectation of a step and whether it held.
type Check struct {
	What   string
	OK     bool
	Detail string
}

// Step is the outcome of one scenario step.
type Step struct {
	Title    string
	Checks   []Check
	Duration time.Duration
	// Load is set for the step that runs steady load.
	Load *LoadSummary
}

// Passed reports whether every check of the step held.
func (s *Step) Passed() bool {
	for _, c := range s.Checks {
		if !c.OK {
			return false
		}
	}
	return len(s.Checks) > 0
}

// check records an expectation.
func (s *Step) check(ok bool, what, format string, args ...any) {
	s.Checks = append(s.Checks, Check{What: what, OK: ok, Detail: fmt.Sprintf(format, args...)})
}

// fail records an expectation that could not be evaluated because err.
func (s *Step) fail(what string, err error) {
	s.Checks = append(s.Checks, Check{What: what, Detail: err.Error()})
}

// Report is the outcome of the whole scenario.
type Report struct {
	Steps   []*Step
	Setup   time.Duration
	Elapsed time.Duration
}

// Passed reports whether every step passed.
func (r *Report) Passed() bool {
	for _, s := range r.Steps {
		if !s.Passed() {
			return false
		}
	}
	return len(r.Steps) > 0
}

// Failed lists the checks that did not hold, one line each.
func (r *Report) Failed() []string {
	var out []string
	for _, s := range r.Steps {
		for _, c := range s.Checks {
			if !c.OK {
				out = append(out, fmt.Sprintf("%s: %s: %s", s.Title, c.What, c.Detail))
			}
		}
	}
	return out
}

// Summary prints one screen: each step, each check and the verdict.
func (r *Report) Summary(w io.Writer) {
	fmt.Fprintf(w, "\n%s\n Summary  (control plane and webhook up in %s, scenario %s)\n%s\n",
		rule, r.Setup.Round(100*time.Millisecond), r.Elapsed.Round(100*time.Millisecond), rule)
	for _, s := range r.Steps {
		fmt.Fprintf(w, " %s %s (%s)\n", mark(s.Passed()), s.Title, s.Duration.Round(100*time.Millisecond))
		for _, c := range s.Checks {
			fmt.Fprintf(w, "     %s %s: %s\n", mark(c.OK), c.What, shorten(c.Detail, 90))
		}
	}
	verdict := "every expectation held"
	if !r.Passed() {
		verdict = fmt.Sprintf("%d expectation(s) failed", len(r.Failed()))
	}
	fmt.Fprintf(w, "%s\n %s\n", rule, verdict)
}

var rule = strings.Repeat("─", 72)

func mark(ok bool) string {
	if ok {
		return "✔"
	}
	return "✘"
}
