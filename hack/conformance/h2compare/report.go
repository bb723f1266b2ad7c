package main

import (
	"encoding/xml"
	"fmt"
	"html"
	"os"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Outcome is the result of one h2spec test case against one target.
type Outcome int

const (
	// Missing: the case is not in the report (h2spec did not run it).
	Missing Outcome = iota
	Pass
	Fail
	Skip
)

func (o Outcome) String() string {
	switch o {
	case Pass:
		return "pass"
	case Fail:
		return "FAIL"
	case Skip:
		return "skip"
	}
	return "-"
}

// Case is one test case of an h2spec report.
type Case struct {
	// ID is h2spec's own name of the case, group ID and sequence number:
	// "generic/2/3", "http2/5.1.1/2", "hpack/6.1/1". "h2spec ID" runs it alone.
	ID string
	// Group is the title of the case's section, e.g. "5.1.1. Stream Identifiers".
	Group   string
	Desc    string
	Outcome Outcome
	// Expected and Actual say why a failed case failed: the frames or events
	// h2spec would have accepted, and what it got instead.
	Expected []string
	Actual   string
}

// Report is the list of cases of one h2spec run, in the order they ran.
type Report struct {
	Cases []Case
	byID  map[string]int
}

// Get returns the case with h2spec ID id.
func (r *Report) Get(id string) (Case, bool) {
	i, ok := r.byID[id]
	if !ok {
		return Case{}, false
	}
	return r.Cases[i], true
}

// Count returns how many cases of the report have outcome o.
func (r *Report) Count(o Outcome) int {
	n := 0
	for _, c := range r.Cases {
		if c.Outcome == o {
			n++
		}
	}
	return n
}

// The JUnit report of h2spec v2.2.1, as its reporter package writes it.
type junitReport struct {
	Suites []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name    string      `xml:"name,attr"`
	Package string      `xml:"package,attr"`
	Cases   []junitCase `xml:"testcase"`
}

type junitCase struct {
	Package   string    `xml:"package,attr"`
	ClassName string    `xml:"classname,attr"`
	Failure   *innerXML `xml:"failure"`
	Error     *innerXML `xml:"error"`
	Skipped   *innerXML `xml:"skipped"`
}

type innerXML struct {
	Text string `xml:",chardata"`
}

// resultElement matches a <failure> or <error> element. h2spec writes their
// text unescaped (its struct field is ",innerxml"), so a server's GOAWAY debug
// data with "<" or "&" in it, or frame bytes XML cannot hold (a NUL of a gRPC
// message's prefix), would make the file invalid XML; escapeResults escapes
// that text before decoding, writing such bytes as \xNN.
var resultElement = regexp.MustCompile(`(?s)(<(failure|error)>)(.*?)(</(?:failure|error)>)`)

func escapeResults(data []byte) []byte {
	return resultElement.ReplaceAllFunc(data, func(m []byte) []byte {
		s := resultElement.FindSubmatch(m)
		text := html.EscapeString(html.UnescapeString(string(s[3])))
		return []byte(string(s[1]) + xmlChars(text) + string(s[4]))
	})
}

// xmlChars writes the characters XML 1.0 does not allow in text, and bytes
// that are not UTF-8, as \xNN.
func xmlChars(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		allowed := r == '\t' || r == '\n' || r == '\r' || (r >= 0x20 && r <= 0xD7FF) ||
			(r >= 0xE000 && r <= 0xFFFD) || r >= 0x10000
		if r == utf8.RuneError && size <= 1 {
			allowed = false
		}
		if allowed {
			b.WriteString(s[i : i+size])
		} else {
			for _, c := range []byte(s[i : i+size]) {
				fmt.Fprintf(&b, "\\x%02x", c)
			}
		}
		i += size
	}
	return b.String()
}

// ParseReport reads the JUnit report h2spec writes with -j.
//
// The report does not carry a case's sequence number, which h2spec's case IDs
// end with: in a full run it is the case's position in its section, counted
// from 1, because h2spec lists every case it ran in order and, without -S,
// runs every case of a section or none. A run of one case (single) names it
// by the ID it was asked for instead, which must be given then.
func ParseReport(path, single string) (*Report, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var jr junitReport
	if err := xml.Unmarshal(escapeResults(data), &jr); err != nil {
		return nil, fmt.Errorf("%s: not an h2spec JUnit report: %v", path, err)
	}
	r := &Report{byID: map[string]int{}}
	for _, s := range jr.Suites {
		for i, jc := range s.Cases {
			pkg := jc.Package
			if pkg == "" {
				pkg = s.Package
			}
			c := Case{
				ID:      pkg + "/" + strconv.Itoa(i+1),
				Group:   s.Name,
				Desc:    jc.ClassName,
				Outcome: Pass,
			}
			if single != "" {
				c.ID = single
			}
			switch {
			case jc.Failure != nil:
				c.Outcome = Fail
				c.Expected, c.Actual = splitResult(jc.Failure.Text)
			case jc.Error != nil:
				c.Outcome = Fail
				c.Expected, c.Actual = splitResult(jc.Error.Text)
			case jc.Skipped != nil:
				c.Outcome = Skip
			}
			if _, dup := r.byID[c.ID]; dup {
				return nil, fmt.Errorf("%s: case %s appears twice", path, c.ID)
			}
			r.byID[c.ID] = len(r.Cases)
			r.Cases = append(r.Cases, c)
		}
	}
	if len(r.Cases) == 0 {
		return nil, fmt.Errorf("%s: the report lists no test case", path)
	}
	if single != "" && len(r.Cases) != 1 {
		return nil, fmt.Errorf("%s: a run of %s lists %d cases, not one", path, single, len(r.Cases))
	}
	return r, nil
}

// splitResult splits the text of a failed case. h2spec writes the expected
// results one per line and the actual result last, or, for a failure in the
// format "Expect:\n...\nActual:\n...", under those two headings.
func splitResult(text string) (expected []string, actual string) {
	text = strings.TrimSpace(text)
	if rest, ok := strings.CutPrefix(text, "Expect:\n"); ok {
		if exp, act, ok := strings.Cut(rest, "\nActual:\n"); ok {
			return strings.Split(exp, "\n"), strings.TrimSpace(act)
		}
	}
	lines := strings.Split(text, "\n")
	if len(lines) == 1 {
		return nil, lines[0]
	}
	last := len(lines) - 1
	// A network error is reported as "Error: ..." after the expected lines.
	return lines[:last], lines[last]
}

// DisplayID is how the comparison names a case: h2spec's ID without the
// "http2/" of the main section, as h2spec's own output numbers those cases
// ("5.1.1/2"); "generic/..." and "hpack/..." keep their section.
func DisplayID(id string) string {
	return strings.TrimPrefix(id, "http2/")
}
