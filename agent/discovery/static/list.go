package static

import (
	"fmt"
	"slices"
	"strings"
)

// LineError is a bad entry in an endpoints file.
type LineError struct {
	// Line is the 1-based line number of the entry.
	Line int
	// Entry is the entry as written, without surrounding spaces.
	Entry string
	// Err says what is wrong with it; it names the entry.
	Err error
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }

func (e *LineError) Unwrap() error { return e.Err }

// ParseList parses the contents of an endpoints file: endpoints one per
// line or comma-separated, with "#" starting a comment to the end of the
// line and blank entries ignored. It returns the canonical addresses
// deduplicated and sorted, possibly none, or a *LineError for the first
// bad entry.
func ParseList(data []byte) ([]string, error) {
	var addrs []string
	line := 0
	for text := range strings.Lines(string(data)) {
		line++
		parsed, err := parseLine(line, text)
		if err != nil {
			return nil, err
		}
		addrs = append(addrs, parsed...)
	}
	slices.Sort(addrs)
	return slices.Compact(addrs), nil
}

func parseLine(line int, text string) ([]string, error) {
	text, _, _ = strings.Cut(text, "#")
	var addrs []string
	for entry := range strings.SplitSeq(text, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		a, err := ParseAddr(entry)
		if err != nil {
			return nil, &LineError{Line: line, Entry: entry, Err: err}
		}
		addrs = append(addrs, a)
	}
	return addrs, nil
}
