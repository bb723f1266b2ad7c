package main

import (
	"fmt"
	"io"
	"strings"
)

const none = "–"

var tableHeader = []string{
	"target", "rps (c=50)", "p50", "p99", "failed", "p50 @1000 rps",
	"peak RSS MiB", "RSS MiB @2000 rps (hwm)",
	"CPU µs/call @500 rps", "@2000 rps", "c=1", "c=50",
	"rps vs haproxy", "rps vs direct", "requests per server",
}

// targetRows turns the targets into table cells, one row each.
func targetRows(targets []target) [][]string {
	byID := map[string]target{}
	for _, t := range targets {
		byID[t.ID] = t
	}
	rows := make([][]string, 0, len(targets))
	for _, t := range targets {
		rows = append(rows, targetRow(t, byID[idHAProxy], byID[idDirect]))
	}
	return rows
}

func targetRow(t, haproxy, direct target) []string {
	if t.Skip != "" {
		row := []string{t.Label, "skipped: " + t.Skip}
		for len(row) < len(tableHeader) {
			row = append(row, none)
		}
		return row
	}
	return []string{
		t.Label,
		rpsCell(t.Saturated),
		latencyCell(t.Saturated, false),
		latencyCell(t.Saturated, true),
		failedCell(t.Saturated, t.Paced, t.Serving),
		pacedCell(t.Paced),
		mibCell(t.Memory, keyPeakHWM),
		servingCell(t.Memory, t.Serving),
		cpuCell(t, runIdle, t.Idle),
		cpuCell(t, runServing, t.Serving),
		cpuCell(t, runSeq, t.Seq),
		cpuCell(t, runSat, t.Saturated),
		ratioCell(t, haproxy),
		ratioCell(t, direct),
		splitCell(t.Split),
	}
}

func rpsCell(l *load) string {
	if l == nil {
		return none
	}
	return fmt.Sprintf("%.0f", l.RPS)
}

func latencyCell(l *load, p99 bool) string {
	if l == nil {
		return none
	}
	if p99 {
		return fmt.Sprintf("%.2f ms", ms(l.P99))
	}
	return fmt.Sprintf("%.2f ms", ms(l.P50))
}

// pacedCell is the p50 of a paced run, noting when it fell short of its rate.
func pacedCell(l *load) string {
	if l == nil {
		return none
	}
	return latencyCell(l, false) + l.shortfall()
}

func failedCell(loads ...*load) string {
	failed, seen := 0, false
	for _, l := range loads {
		if l != nil {
			failed, seen = failed+l.Failed, true
		}
	}
	if !seen {
		return none
	}
	return fmt.Sprint(failed)
}

func mibCell(mem map[string]int64, key string) string {
	kib, ok := mem[key]
	if !ok {
		return none
	}
	return fmt.Sprintf("%.1f", float64(kib)/kibPerMiB)
}

func servingCell(mem map[string]int64, serving *load) string {
	rss := mibCell(mem, keyServingRSS)
	if rss == none {
		return none
	}
	cell := fmt.Sprintf("%s (%s)", rss, mibCell(mem, keyServingHWM))
	if serving != nil {
		cell += serving.shortfall()
	}
	return cell
}

// cpuCell is the proxy's CPU time per call answered during run, noting a
// paced run that fell short of its rate. Targets that are not a proxy have
// none.
func cpuCell(t target, run string, l *load) string {
	us, ok := t.cpuPerCall(run, l)
	if !ok {
		return none
	}
	return fmt.Sprintf("%.0f", us) + l.shortfall()
}

// ratioCell is t's rps over base's; a target is not compared with itself.
func ratioCell(t, base target) string {
	if t.ID == base.ID || t.Saturated == nil || base.Saturated == nil || base.Saturated.RPS == 0 {
		return none
	}
	return fmt.Sprintf("%.2fx", t.Saturated.RPS/base.Saturated.RPS)
}

// splitCell lists the requests each server answered, in endpoint order.
func splitCell(split []serverCount) string {
	if len(split) == 0 {
		return none
	}
	parts := make([]string, len(split))
	for i, s := range split {
		parts[i] = fmt.Sprint(s.Requests)
	}
	return strings.Join(parts, " / ")
}

// splitLegend names the servers of the split column, from the first target
// that has per-server counts.
func splitLegend(targets []target) string {
	for _, t := range targets {
		if len(t.Split) == 0 {
			continue
		}
		names := make([]string, len(t.Split))
		for i, s := range t.Split {
			names[i] = s.Endpoint
		}
		return "requests per server, over all runs of the target: " + strings.Join(names, " / ")
	}
	return ""
}

func verdictRows(verdicts []verdict) [][]string {
	rows := make([][]string, len(verdicts))
	for i, v := range verdicts {
		rows[i] = []string{v.Name, v.Measured, v.Verdict}
	}
	return rows
}

// writeTable prints a Markdown table with every column padded to its widest cell.
func writeTable(w io.Writer, header []string, rows [][]string) error {
	widths := columnWidths(append([][]string{header}, rows...))
	rule := make([]string, len(widths))
	for i, n := range widths {
		rule[i] = strings.Repeat("-", n)
	}
	for _, row := range append([][]string{header, rule}, rows...) {
		if _, err := fmt.Fprintln(w, formatRow(row, widths)); err != nil {
			return err
		}
	}
	return nil
}

func columnWidths(rows [][]string) []int {
	widths := make([]int, len(rows[0]))
	for _, row := range rows {
		for i, cell := range row {
			widths[i] = max(widths[i], len([]rune(cell)))
		}
	}
	return widths
}

func formatRow(row []string, widths []int) string {
	cells := make([]string, len(widths))
	for i, n := range widths {
		cell := ""
		if i < len(row) {
			cell = row[i]
		}
		cells[i] = cell + strings.Repeat(" ", n-len([]rune(cell)))
	}
	return "| " + strings.Join(cells, " | ") + " |"
}
