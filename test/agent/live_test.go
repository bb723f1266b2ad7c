package agent

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/roundabout-dev/roundabout/test/procs"

	"github.com/roundabout-dev/roundabout/agent/filewatch/filewatchtest"
)

// TestStrategySwapsLiveFromAnnotations changes roundabout.dev/strategy in a
// downward-API file written the kubelet's way: the running agent swaps
// within 2 s and logs it; an unknown value keeps the current strategy, is
// logged with the allowed set and shows in /debug/endpoints; a hash header
// --hash-header would refuse is logged and not applied.
func TestStrategySwapsLiveFromAnnotations(t *testing.T) {
	servers := procs.GreetServers(t, "127.0.0.2", "127.0.0.3")
	vol := filewatchtest.NewKubeletDir(t, t.TempDir(), "annotations", `roundabout.dev/strategy="round-robin"`+"\n")
	a := startAgent(t, "--endpoints", strings.Join(servers, ","), "--annotations-file", vol.Path())
	pid := a.Cmd.Process.Pid

	vol.Write(`roundabout.dev/strategy="least-request"` + "\n" + `kubernetes.io/config.seen="x"` + "\n")
	start := time.Now()
	waitLog(t, a, `"msg":"strategy changed"`, `"from":"round-robin"`, `"to":"least-request"`)
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("strategy swapped %v after the file changed; want within 2s", d)
	}
	if s := debugStrategy(t, a); s.Strategy != "least-request" {
		t.Fatalf("/debug/endpoints strategy %q after the swap", s.Strategy)
	}

	vol.Write(`roundabout.dev/strategy="fastest"` + "\n")
	waitLog(t, a, `"msg":"invalid strategy annotation"`, `"value":"fastest"`, `"allowed":["least-request","peak-ewma","random","ring-hash","round-robin"]`)
	s := debugStrategy(t, a)
	if s.Strategy != "least-request" || !strings.Contains(s.Rejected, `"fastest"`) {
		t.Fatalf("/debug/endpoints after an invalid value: %+v", s)
	}
	vol.Write(`roundabout.dev/strategy="least-request"` + "\n" + `roundabout.dev/hash-header="x user"` + "\n")
	waitLog(t, a, `"msg":"invalid hash-header annotation; keeping the current one"`, `"value":"x user"`, `not a header name`)
	if a.Cmd.Process.Pid != pid || strings.Count(a.Out.String(), `"msg":"agent started"`) != 1 {
		t.Fatal("the agent restarted")
	}
	if got := procs.Post(t, procs.Gateway(t, a.listen), 10); got["greet-0"]+got["greet-1"] != 10 {
		t.Fatalf("traffic after the swaps: %v", got)
	}
}

type strategyDebug struct {
	Strategy string `json:"strategy"`
	Rejected string `json:"rejected_strategy"`
}

func debugStrategy(t *testing.T, a *agentProc) strategyDebug {
	t.Helper()
	var doc struct{ Upstreams []strategyDebug }
	if err := json.Unmarshal([]byte(getText(t, "http://"+a.admin+"/debug/endpoints")), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Upstreams) != 1 {
		t.Fatalf("/debug/endpoints: %d upstreams, want 1", len(doc.Upstreams))
	}
	return doc.Upstreams[0]
}

// waitLog waits for one log line of a that holds every part.
func waitLog(t *testing.T, a *agentProc, parts ...string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		for _, line := range strings.Split(a.Out.String(), "\n") {
			if containsAll(line, parts) {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no log line with %q in:\n%s", parts, a.Out.String())
}

func containsAll(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
