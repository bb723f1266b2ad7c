package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A report as h2spec v2.2.1 writes it: failures as <error> with the text
// unescaped, sections without cases in runs of single cases.
const agentXML = `<?xml version="1.0" encoding="UTF-8"?>
<testsuites>
  <testsuite name="2. Streams and Multiplexing" package="generic/2" id="2" tests="2" skipped="0" failures="0" errors="1">
    <testcase package="generic/2" classname="Sends a PRIORITY frame on idle stream" time="0.0023"></testcase>
    <testcase package="generic/2" classname="Sends a WINDOW_UPDATE frame on half-closed (remote) stream" time="2.0040">
      <error>DATA frame
HEADERS Frame (length:69, flags:0x05, stream_id:1)</error>
    </testcase>
  </testsuite>
  <testsuite name="4.2. Frame Size" package="http2/4.2" id="4.2" tests="3" skipped="0" failures="0" errors="1">
    <testcase package="http2/4.2" classname="Sends a DATA frame with 2^14 octets in length" time="0.0010"></testcase>
    <testcase package="http2/4.2" classname="Sends a large size DATA frame that exceeds the SETTINGS_MAX_FRAME_SIZE" time="2.0010">
      <error>GOAWAY Frame (Error Code: FRAME_SIZE_ERROR)
Connection closed
GOAWAY Frame (debug data: a<b & c)</error>
    </testcase>
    <testcase package="http2/4.2" classname="Sends a large size HEADERS frame that exceeds the SETTINGS_MAX_FRAME_SIZE" time="2.0010">
      <error>GOAWAY Frame (Error Code: FRAME_SIZE_ERROR)
Timeout</error>
    </testcase>
  </testsuite>
  <testsuite name="5.5. Extending HTTP/2" package="http2/5.5" id="5.5" tests="1" skipped="1" failures="0" errors="0">
    <testcase package="http2/5.5" classname="Sends an unknown extension frame" time="0.0000">
      <skipped></skipped>
    </testcase>
  </testsuite>
</testsuites>
`

const serverXML = `<?xml version="1.0" encoding="UTF-8"?>
<testsuites>
  <testsuite name="2. Streams and Multiplexing" package="generic/2" id="2" tests="2" skipped="0" failures="0" errors="1">
    <testcase package="generic/2" classname="Sends a PRIORITY frame on idle stream" time="0.0023"></testcase>
    <testcase package="generic/2" classname="Sends a WINDOW_UPDATE frame on half-closed (remote) stream" time="2.0040">
      <error>DATA frame
Timeout</error>
    </testcase>
  </testsuite>
  <testsuite name="4.2. Frame Size" package="http2/4.2" id="4.2" tests="3" skipped="0" failures="0" errors="0">
    <testcase package="http2/4.2" classname="Sends a DATA frame with 2^14 octets in length" time="0.0010"></testcase>
    <testcase package="http2/4.2" classname="Sends a large size DATA frame that exceeds the SETTINGS_MAX_FRAME_SIZE" time="0.0010"></testcase>
    <testcase package="http2/4.2" classname="Sends a large size HEADERS frame that exceeds the SETTINGS_MAX_FRAME_SIZE" time="0.0010"></testcase>
  </testsuite>
  <testsuite name="5.5. Extending HTTP/2" package="http2/5.5" id="5.5" tests="1" skipped="0" failures="0" errors="0">
    <testcase package="http2/5.5" classname="Sends an unknown extension frame" time="0.0000"></testcase>
  </testsuite>
</testsuites>
`

// singleXML is a run of one case: h2spec lists every section, only one with a case.
func singleXML(failed bool) string {
	result := ""
	if failed {
		result = "\n      <error>GOAWAY Frame (Error Code: FRAME_SIZE_ERROR)\nTimeout</error>\n    "
	}
	return `<?xml version="1.0" encoding="UTF-8"?>
<testsuites>
  <testsuite name="2. Streams and Multiplexing" package="generic/2" id="2" tests="0" skipped="0" failures="0" errors="0"></testsuite>
  <testsuite name="4.2. Frame Size" package="http2/4.2" id="4.2" tests="1" skipped="0" failures="0" errors="0">
    <testcase package="http2/4.2" classname="Sends a large size HEADERS frame that exceeds the SETTINGS_MAX_FRAME_SIZE" time="2.0010">` + result + `</testcase>
  </testsuite>
</testsuites>
`
}

func write(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestParseReport(t *testing.T) {
	dir := t.TempDir()
	r, err := ParseReport(write(t, dir, "a.xml", agentXML), "")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range r.Cases {
		ids = append(ids, c.ID+"="+c.Outcome.String())
	}
	want := "generic/2/1=pass generic/2/2=FAIL http2/4.2/1=pass http2/4.2/2=FAIL http2/4.2/3=FAIL http2/5.5/1=skip"
	if got := strings.Join(ids, " "); got != want {
		t.Errorf("cases:\n got %s\nwant %s", got, want)
	}
	c, _ := r.Get("http2/4.2/2")
	if c.Actual != "GOAWAY Frame (debug data: a<b & c)" || len(c.Expected) != 2 || c.Group != "4.2. Frame Size" {
		t.Errorf("http2/4.2/2: expected %q, actual %q, group %q", c.Expected, c.Actual, c.Group)
	}
	if got := DisplayID(c.ID); got != "4.2/2" {
		t.Errorf("DisplayID(%s) = %s", c.ID, got)
	}
	if got := DisplayID("generic/2/2"); got != "generic/2/2" {
		t.Errorf("DisplayID(generic/2/2) = %s", got)
	}

	single, err := ParseReport(write(t, dir, "s.xml", singleXML(true)), "http2/4.2/3")
	if err != nil {
		t.Fatal(err)
	}
	if c := single.Cases[0]; c.ID != "http2/4.2/3" || c.Outcome != Fail || c.Actual != "Timeout" {
		t.Errorf("single run: %+v", c)
	}

	// Frame bytes XML cannot hold, such as the NUL that starts a gRPC
	// message, are read as \xNN.
	nul := strings.Replace(singleXML(true), "Timeout", "DATA Frame (length:5, data:\x00\x00\xff)", 1)
	withNUL, err := ParseReport(write(t, dir, "nul.xml", nul), "http2/4.2/3")
	if err != nil {
		t.Fatal(err)
	}
	if c := withNUL.Cases[0]; c.Outcome != Fail || c.Actual != `DATA Frame (length:5, data:\x00\x00\xff)` {
		t.Errorf("report with a NUL: %+v", c)
	}

	if _, err := ParseReport(write(t, dir, "empty.xml", "<testsuites></testsuites>"), ""); err == nil {
		t.Error("a report without cases was accepted")
	}
}

func TestSplitResult(t *testing.T) {
	exp, act := splitResult("Expect:\nGOAWAY Frame\nConnection closed\nActual:\nTimeout\n")
	if strings.Join(exp, "|") != "GOAWAY Frame|Connection closed" || act != "Timeout" {
		t.Errorf("Expect/Actual form: %q, %q", exp, act)
	}
	exp, act = splitResult("Connection closed")
	if exp != nil || act != "Connection closed" {
		t.Errorf("one line: %q, %q", exp, act)
	}
}

func TestComparison(t *testing.T) {
	dir := t.TempDir()
	agentPath := write(t, dir, "a.xml", agentXML)
	serverPath := write(t, dir, "s.xml", serverXML)

	var out strings.Builder
	n, err := run(&out, agentPath, serverPath, true, "")
	if err != nil || n != 0 {
		t.Fatalf("candidates: %d, %v", n, err)
	}
	if got := out.String(); got != "http2/4.2/2\nhttp2/4.2/3\n" {
		t.Errorf("candidates: %q", got)
	}

	// Without reruns both candidates are regressions.
	out.Reset()
	n, err = run(&out, agentPath, serverPath, false, "")
	if err != nil || n != 2 {
		t.Fatalf("regressions without reruns: %d, %v\n%s", n, err, out.String())
	}
	for _, want := range []string{
		"case         description",
		"generic/2/2  Sends a WINDOW_UPDATE frame on half-closed (remote) stream",
		"4.2/2        Sends a large size DATA frame that exceeds the SETTINGS_MAX_FRAME_SIZE     FAIL   pass          <- regression",
		"agent:        6 cases: 2 passed, 3 failed, 1 skipped",
		"greet-server: 6 cases: 5 passed, 1 failed, 0 skipped",
		"      actual:   GOAWAY Frame (debug data: a<b & c)",
		"conformance: FAIL: 2 regression(s), cases that fail against the agent and pass against the greet-server: 4.2/2, 4.2/3\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "4.2/1 ") || strings.Contains(out.String(), "5.5/1") {
		t.Errorf("a case that fails against neither target is listed:\n%s", out.String())
	}
	for _, line := range strings.Split(out.String(), "\n") {
		if strings.HasSuffix(line, " ") {
			t.Errorf("trailing space: %q", line)
		}
	}

	// 4.2/2 fails again; 4.2/3 passes against the agent on its own.
	reruns := t.TempDir()
	write(t, reruns, RecheckFile("http2/4.2/2", "agent"), strings.ReplaceAll(singleXML(true), `classname="Sends a large size HEADERS`, `classname="Sends a large size DATA`))
	write(t, reruns, RecheckFile("http2/4.2/2", "server"), singleXML(false))
	write(t, reruns, RecheckFile("http2/4.2/3", "agent"), singleXML(false))
	write(t, reruns, RecheckFile("http2/4.2/3", "server"), singleXML(false))
	out.Reset()
	n, err = run(&out, agentPath, serverPath, false, reruns)
	if err != nil || n != 1 {
		t.Fatalf("regressions with reruns: %d, %v\n%s", n, err, out.String())
	}
	for _, want := range []string{
		"<- passed on its rerun (agent pass, greet-server pass), not counted",
		"rerun:    agent FAIL, greet-server pass",
		"Not counted: 1 case(s) failed against the agent and passed against the greet-server, but not again when run on their own: 4.2/3",
		"conformance: FAIL: 1 regression(s), cases that fail against the agent and pass against the greet-server: 4.2/2\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}

	// A rerun that left no report is not a pass.
	if err := os.Remove(filepath.Join(reruns, RecheckFile("http2/4.2/3", "agent"))); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if n, err = run(&out, agentPath, serverPath, false, reruns); err != nil || n != 2 {
		t.Fatalf("regressions with a missing rerun: %d, %v\n%s", n, err, out.String())
	}

	// The same report on both sides: no regression.
	out.Reset()
	if n, err = run(&out, serverPath, serverPath, false, ""); err != nil || n != 0 {
		t.Fatalf("same reports: %d, %v", n, err)
	}
	if !strings.Contains(out.String(), "conformance: ok: no case fails against the agent that passes against the greet-server (agent fails 1, greet-server fails 1)") {
		t.Errorf("same reports:\n%s", out.String())
	}
}
