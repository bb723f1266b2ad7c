package probe

import (
	"fmt"
	"io"
	"strings"
)

// Row is one probe's measures against the agent and a greet-server directly.
type Row struct {
	Probe  Probe
	Agent  *Measure
	Direct *Measure
}

// WriteTable writes rows as one Markdown table, then each probe's details.
func WriteTable(w io.Writer, rows []Row, limit uint64) {
	fmt.Fprintln(w, "| probe | agent peak RSS (over idle) | agent side client | agent closed the connection? | greet-server peak RSS (over idle) | greet-server side client | greet-server closed the connection? |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|")
	for _, r := range rows {
		fmt.Fprintf(w, "| %d %s | %s | %s | %s | %s | %s | %s |\n", r.Probe.Class, r.Probe.Name,
			rssCell(r.Agent, limit), sideCell(r.Agent), closedCell(r.Agent),
			rssCell(r.Direct, limit), sideCell(r.Direct), closedCell(r.Direct))
	}
	fmt.Fprintln(w)
	for _, r := range rows {
		fmt.Fprintf(w, "%d %s: %s\n", r.Probe.Class, r.Probe.Name, r.Probe.About)
		for _, m := range []*Measure{r.Agent, r.Direct} {
			if m == nil {
				continue
			}
			for _, line := range Details(*m) {
				fmt.Fprintf(w, "  %s: %s\n", m.Target, line)
			}
		}
	}
}

// Details are the lines that explain one measure.
func Details(m Measure) []string {
	var out []string
	if m.Err != nil {
		out = append(out, "error: "+m.Err.Error())
	}
	if m.Outcome.Err != nil {
		out = append(out, "probe error: "+m.Outcome.Err.Error())
	}
	out = append(out, m.Notes...)
	if m.EndRSS > 0 {
		out = append(out, fmt.Sprintf("RSS idle %s, peak %s, at the end %s", MiB(m.IdleRSS), MiB(m.PeakRSS), MiB(m.EndRSS)))
	}
	for _, c := range m.Cases {
		out = append(out, fmt.Sprintf("%s -> %s", c.Name, c.Answer))
	}
	if m.Side.Total > 0 {
		out = append(out, "side client: "+m.Side.String())
		if m.Side.FirstErr != "" {
			out = append(out, "first side failure: "+m.Side.FirstErr)
		}
	}
	if len(m.UpstreamBefore) > 0 {
		if m.UpstreamUnchanged() {
			out = append(out, fmt.Sprintf("upstream connections unchanged (%d)", len(m.UpstreamBefore)))
		} else if m.UpstreamAfter != nil || !m.Terminated {
			out = append(out, fmt.Sprintf("upstream connections changed: before %s, after %s",
				strings.Join(m.UpstreamBefore, " "), strings.Join(m.UpstreamAfter, " ")))
		}
	}
	if m.Died {
		out = append(out, "the process exited during the probe")
	}
	return out
}

func rssCell(m *Measure, limit uint64) string {
	switch {
	case m == nil:
		return "-"
	case m.Err != nil:
		return "error"
	case m.Capped:
		return "> " + MiB(limit) + " (killed)"
	}
	var over uint64
	if m.PeakRSS > m.IdleRSS {
		over = m.PeakRSS - m.IdleRSS
	}
	cell := fmt.Sprintf("%s (+%s)", MiB(m.PeakRSS), strings.TrimSuffix(MiB(over), " MiB"))
	if m.Died {
		cell += " died"
	}
	return cell
}

func sideCell(m *Measure) string {
	if m == nil || m.Err != nil || m.Side.Total == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*m.Side.Fraction())
}

func closedCell(m *Measure) string {
	switch {
	case m == nil || m.Err != nil:
		return "-"
	case m.Outcome.Err != nil && m.Closed == "":
		return "probe error"
	case m.Closed == "":
		return "-"
	}
	return m.Closed
}
