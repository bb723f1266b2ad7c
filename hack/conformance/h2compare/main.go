// Command h2compare compares two h2spec JUnit reports, one of the agent and
// one of a greet-server, case by case. hack/conformance/conformance.sh runs
// it twice:
//
//	h2compare -agent A.xml -server S.xml -candidates
//
// prints the h2spec IDs of the cases that failed against the agent and passed
// against the greet-server, one a line, so that the script can run each again
// on its own against both targets, into a rerun directory;
//
//	h2compare -agent A.xml -server S.xml [-reruns DIR]
//
// prints the table of every case that failed against either target, the
// totals of both, why each regression failed against the agent, and a final
// line. A candidate counts as a regression unless its rerun passed against
// the agent or failed against the greet-server. Exit status: 0 without
// regressions, 1 with, 2 when a report cannot be read.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
)

func main() {
	agentPath := flag.String("agent", "", "h2spec JUnit report of the run against the agent")
	serverPath := flag.String("server", "", "h2spec JUnit report of the run against the greet-server")
	candidates := flag.Bool("candidates", false, "print the h2spec IDs of the candidate regressions and exit")
	reruns := flag.String("reruns", "", "directory of the reports of the candidates run again one by one")
	flag.Parse()
	regressions, err := run(os.Stdout, *agentPath, *serverPath, *candidates, *reruns)
	if err != nil {
		fmt.Fprintf(os.Stderr, "h2compare: %v\n", err)
		os.Exit(2)
	}
	if regressions > 0 {
		os.Exit(1)
	}
}

func run(w io.Writer, agentPath, serverPath string, candidates bool, reruns string) (int, error) {
	if agentPath == "" || serverPath == "" {
		return 0, fmt.Errorf("-agent and -server are required")
	}
	agent, err := ParseReport(agentPath, "")
	if err != nil {
		return 0, err
	}
	server, err := ParseReport(serverPath, "")
	if err != nil {
		return 0, err
	}
	rows := Compare(agent, server)
	if candidates {
		for _, r := range rows {
			if r.Candidate() {
				if _, err := fmt.Fprintln(w, r.ID); err != nil {
					return 0, err
				}
			}
		}
		return 0, nil
	}
	if reruns != "" {
		if err := ApplyRechecks(rows, reruns); err != nil {
			return 0, err
		}
	}
	regressions, err := WriteComparison(w, agent, server, rows)
	return len(regressions), err
}
