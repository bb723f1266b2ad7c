package demo

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// barWidth is the length of the longest bar.
const barWidth = 40

// Chart prints one bar per pod: every pod in pods, in order (those that
// got nothing show an empty bar), then any pod of t not in pods.
func Chart(w io.Writer, t Tally, pods []string) {
	names := chartOrder(t, pods)
	most, width := 0, 0
	for _, p := range names {
		most, width = max(most, t[p]), max(width, len(p))
	}
	for _, p := range names {
		fmt.Fprintf(w, "    %-*s %s %d\n", width, p, bar(t[p], most), t[p])
	}
}

// chartOrder is pods, then the pods of t not among them.
func chartOrder(t Tally, pods []string) []string {
	names := append([]string(nil), pods...)
	for _, p := range t.Pods() {
		if !slices.Contains(names, p) {
			names = append(names, p)
		}
	}
	return names
}

func bar(n, most int) string {
	if most == 0 {
		return strings.Repeat(" ", barWidth)
	}
	full := n * barWidth / most
	if n > 0 && full == 0 {
		full = 1
	}
	return strings.Repeat("█", full) + strings.Repeat("·", barWidth-full)
}
