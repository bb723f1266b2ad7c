package demo

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// step is one scenario step: its title and what it does.
type step struct {
	title string
	run   func(*Env, context.Context, *Step)
}

var steps = []step{
	{"1. The problem: one connection, one pod", (*Env).stepProblem},
	{"2. The fix: inject the agent, balance every request", (*Env).stepFix},
	{"3. Webhook outage: fail-open, then balanced again", (*Env).stepOutage},
	{"4. Scale up: 3 → 5 servers", (*Env).stepScale},
	{"5. Rolling restart under steady load", (*Env).stepRestart},
	{"6. Live strategy swap", (*Env).stepSwap},
	{"7. The other fixes, side by side", (*Env).stepOthers},
}

// Run starts the control plane, the pod runner and the webhook, walks the
// scenario, prints its summary and stops everything. The error is for a
// scenario that could not run at all; failed expectations are in the
// report.
func Run(ctx context.Context, o Options) (rep *Report, err error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	began := time.Now()
	e, err := start(ctx, o)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, e.stop()) }()
	if err := e.InstallWebhook(ctx); err != nil {
		return nil, fmt.Errorf("webhook: %w", err)
	}
	rep = &Report{Setup: time.Since(began)}
	for _, st := range steps {
		rep.Steps = append(rep.Steps, e.runStep(ctx, st))
		if err := errors.Join(ctx.Err(), e.runnerFailed()); err != nil {
			return rep, err
		}
	}
	rep.Elapsed = time.Since(began) - rep.Setup
	rep.Summary(o.Out)
	e.keep(ctx)
	return rep, nil
}

// runStep prints the step's banner and runs it.
func (e *Env) runStep(ctx context.Context, st step) *Step {
	s := &Step{Title: st.title}
	fmt.Fprintf(e.out, "\n━━ %s %s\n", st.title, strings.Repeat("━", max(0, 68-len([]rune(st.title)))))
	began := time.Now()
	st.run(e, ctx, s)
	s.Duration = time.Since(began)
	if ctx.Err() != nil {
		fmt.Fprintf(e.out, "  interrupted\n")
		return s
	}
	for _, c := range s.Checks {
		fmt.Fprintf(e.out, "  %s %s: %s\n", mark(c.OK), c.What, c.Detail)
	}
	return s
}

// keep holds everything up until ctx ends, when Options.Keep is set.
func (e *Env) keep(ctx context.Context) {
	if !e.o.Keep {
		return
	}
	fmt.Fprintf(e.out, "\nEverything stays up until Ctrl-C. kubeconfig: %s\n", e.stack.Kubeconfig)
	if e.o.ShellHint != nil {
		fmt.Fprintf(e.out, "A shell with kubectl in the demo's namespaces:\n\n  %s\n\n", e.o.ShellHint(e.stack.Kubeconfig))
	}
	<-ctx.Done()
}
