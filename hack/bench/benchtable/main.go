// Command benchtable prints the proxy benchmark table from the results that
// hack/bench/bench.sh writes: one directory per target, named N-id so that
// the rows keep the order of the runs, each holding ghz JSON reports, memory
// figures and per-server request counts. Below the table it checks the agent
// row against the targets the agent is built to meet.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
)

func main() {
	results := flag.String("results", "", "directory with one N-id subdirectory per benchmark target")
	flag.Parse()
	if err := run(os.Stdout, *results); err != nil {
		fmt.Fprintf(os.Stderr, "benchtable: %v\n", err)
		os.Exit(1)
	}
}

func run(w io.Writer, results string) error {
	if results == "" {
		return fmt.Errorf("-results: a results directory is required")
	}
	targets, err := readTargets(results)
	if err != nil {
		return err
	}
	if err := writeTable(w, tableHeader, targetRows(targets)); err != nil {
		return err
	}
	if legend := splitLegend(targets); legend != "" {
		if _, err := fmt.Fprintln(w, legend); err != nil {
			return err
		}
	}
	if _, err := fmt.Fprintln(w, "\nAgent targets:"); err != nil {
		return err
	}
	return writeTable(w, []string{"target", "measured", "verdict"}, verdictRows(evaluate(targets)))
}
