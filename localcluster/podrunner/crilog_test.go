package podrunner

import (
	"path/filepath"
	"strings"
	"testing"
)

// criEntries parses a CRI log into "<stream> <tag> <line>" strings.
func criEntries(t *testing.T, log string) []string {
	t.Helper()
	var out []string
	for line := range strings.Lines(log) {
		if !criLine.MatchString(line) {
			t.Fatalf("log line %q is not in CRI format", line)
		}
		_, rest, _ := strings.Cut(strings.TrimSuffix(line, "\n"), " ")
		out = append(out, rest)
	}
	return out
}

func TestCRILogSplitsLongLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "logs", "c", "0.log")
	l, err := openCRILog(path)
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("x", maxLogLine+10)
	l.copy("stderr", strings.NewReader("first\n\n"+long+"\nlast without newline"))
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	got := criEntries(t, readFile(t, path))
	want := []string{"stderr F first", "stderr F ", "stderr P " + long[:maxLogLine], "stderr F xxxxxxxxxx", "stderr F last without newline"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("entries = %.200q..., want %.200q...", got, want)
	}
}
