package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
)

// Row is one case of the comparison.
type Row struct {
	ID, Desc      string
	Agent, Server Outcome
	// Agent and server outcomes of the case run again on its own, when it was
	// a candidate regression and the rerun directory has it.
	Rechecked                   bool
	RecheckAgent, RecheckServer Outcome
	// AgentCase is the agent's result, for the reason of a failure.
	AgentCase Case
}

// Candidate reports whether the first run makes the case a regression: it
// failed against the agent and passed against the greet-server.
func (r Row) Candidate() bool { return r.Agent == Fail && r.Server == Pass }

// Regression reports whether the case counts as a regression: a candidate
// whose rerun, when there is one, failed against the agent again while the
// greet-server passed it again.
func (r Row) Regression() bool {
	if !r.Candidate() {
		return false
	}
	if !r.Rechecked {
		return true
	}
	return r.RecheckAgent != Pass && r.RecheckAgent != Skip && r.RecheckServer == Pass
}

// Compare lines up the two reports case by case, in the order h2spec ran
// them: every case of the agent's report, then any only the greet-server's has.
func Compare(agent, server *Report) []Row {
	var rows []Row
	seen := map[string]bool{}
	add := func(c Case) {
		if seen[c.ID] {
			return
		}
		seen[c.ID] = true
		a, _ := agent.Get(c.ID)
		s, _ := server.Get(c.ID)
		rows = append(rows, Row{ID: c.ID, Desc: c.Desc, Agent: a.Outcome, Server: s.Outcome, AgentCase: a})
	}
	for _, c := range agent.Cases {
		add(c)
	}
	for _, c := range server.Cases {
		add(c)
	}
	return rows
}

// RecheckFile is the name of the report of a rerun of case id against target
// ("agent" or "server") in the rerun directory.
func RecheckFile(id, target string) string {
	return strings.ReplaceAll(id, "/", "_") + "." + target + ".xml"
}

// ApplyRechecks fills in the reruns of the candidate regressions from dir. A
// rerun that left no report (h2spec could not connect, for one) counts as
// Missing, which is not a pass.
func ApplyRechecks(rows []Row, dir string) error {
	for i := range rows {
		r := &rows[i]
		if !r.Candidate() {
			continue
		}
		r.Rechecked = true
		var err error
		if r.RecheckAgent, err = recheckOutcome(dir, r.ID, "agent"); err != nil {
			return err
		}
		if r.RecheckServer, err = recheckOutcome(dir, r.ID, "server"); err != nil {
			return err
		}
	}
	return nil
}

func recheckOutcome(dir, id, target string) (Outcome, error) {
	path := filepath.Join(dir, RecheckFile(id, target))
	if _, err := os.Stat(path); os.IsNotExist(err) {
		return Missing, nil
	}
	rep, err := ParseReport(path, id)
	if err != nil {
		return Missing, err
	}
	return rep.Cases[0].Outcome, nil
}

// WriteComparison prints the table of every case that failed against either
// target, the totals of each target, why each regression failed against the
// agent, and a final line. It returns the regressions.
func WriteComparison(w io.Writer, agent, server *Report, rows []Row) ([]Row, error) {
	var failing, regressions, unconfirmed []Row
	for _, r := range rows {
		if r.Agent == Fail || r.Server == Fail {
			failing = append(failing, r)
		}
		if r.Regression() {
			regressions = append(regressions, r)
		} else if r.Candidate() {
			unconfirmed = append(unconfirmed, r)
		}
	}

	p := &printer{w: w}
	if len(failing) == 0 {
		p.printf("No case fails against either target.\n")
	} else {
		var buf bytes.Buffer
		tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "case\tdescription\tagent\tgreet-server\t\n")
		for _, r := range failing {
			mark := ""
			switch {
			case r.Regression():
				mark = "<- regression"
			case r.Candidate():
				mark = "<- passed on its rerun (" + r.rerun() + "), not counted"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", DisplayID(r.ID), r.Desc, r.Agent, r.Server, mark)
		}
		if err := tw.Flush(); err != nil {
			return nil, err
		}
		// The last cell, the mark, is padded like the others; trim it.
		for line := range strings.Lines(buf.String()) {
			p.printf("%s\n", strings.TrimRight(line, " \n"))
		}
	}

	p.printf("\n")
	p.total("agent:       ", agent)
	p.total("greet-server:", server)

	if len(regressions) > 0 {
		p.printf("\nWhy each regression failed against the agent:\n")
		for _, r := range regressions {
			p.printf("  %s  %s (%s)\n", DisplayID(r.ID), r.Desc, r.AgentCase.Group)
			for i, e := range r.AgentCase.Expected {
				label := "expected:"
				if i > 0 {
					label = "         "
				}
				p.printf("      %s %s\n", label, e)
			}
			p.printf("      actual:   %s\n", r.AgentCase.Actual)
			if r.Rechecked {
				p.printf("      rerun:    %s\n", r.rerun())
			}
		}
	}
	if len(unconfirmed) > 0 {
		p.printf("\nNot counted: %d case(s) failed against the agent and passed against the greet-server, but not again when run on their own: %s\n",
			len(unconfirmed), ids(unconfirmed))
	}

	p.printf("\n")
	if len(regressions) > 0 {
		p.printf("conformance: FAIL: %d regression(s), cases that fail against the agent and pass against the greet-server: %s\n",
			len(regressions), ids(regressions))
	} else {
		p.printf("conformance: ok: no case fails against the agent that passes against the greet-server (agent fails %d, greet-server fails %d)\n",
			agent.Count(Fail), server.Count(Fail))
	}
	return regressions, p.err
}

func (r Row) rerun() string {
	return "agent " + r.RecheckAgent.String() + ", greet-server " + r.RecheckServer.String()
}

func ids(rows []Row) string {
	s := make([]string, len(rows))
	for i, r := range rows {
		s[i] = DisplayID(r.ID)
	}
	return strings.Join(s, ", ")
}

// printer keeps the first write error, so that the report is written without
// checking every line.
type printer struct {
	w   io.Writer
	err error
}

func (p *printer) printf(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, args...)
	}
}

func (p *printer) total(label string, r *Report) {
	p.printf("%s %d cases: %d passed, %d failed, %d skipped\n",
		label, len(r.Cases), r.Count(Pass), r.Count(Fail), r.Count(Skip))
}
