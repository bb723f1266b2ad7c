package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/roundabout-dev/roundabout/test/procs"
)

// agentProc is a running roundabout-agent.
type agentProc struct {
	*procs.Proc
	listen, admin string
}

// startAgent starts an agent for the upstream "greet" and waits until it
// is ready.
func startAgent(t *testing.T, args ...string) *agentProc {
	t.Helper()
	a := launchAgent(t, args...)
	procs.WaitHTTP(t, "http://"+a.admin+"/readyz")
	return a
}

// launchAgent starts an agent for the upstream "greet" on free ports.
func launchAgent(t *testing.T, args ...string) *agentProc {
	t.Helper()
	return launchAgentEnv(t, nil, args...)
}

// launchAgentEnv is launchAgent with env added to the agent's environment.
func launchAgentEnv(t *testing.T, env []string, args ...string) *agentProc {
	t.Helper()
	a := &agentProc{
		listen: "127.0.0.1:" + strconv.Itoa(procs.FreePort(t, "127.0.0.1")),
		admin:  "127.0.0.1:" + strconv.Itoa(procs.FreePort(t, "127.0.0.1")),
	}
	args = append([]string{"--upstream", "greet", "--listen", a.listen, "--admin-addr", a.admin}, args...)
	a.Proc = procs.Start(t, "roundabout-agent", env, args...)
	return a
}

func TestGatewayThroughAgentRotatesExactly(t *testing.T) {
	servers := procs.GreetServers(t, "127.0.0.2", "127.0.0.3", "127.0.0.4")
	a := startAgent(t, "--endpoints", strings.Join(servers, ","), "--strategy", "round-robin")
	base := procs.Gateway(t, a.listen)
	got := procs.Post(t, base, 300)
	if len(got) != 3 || got["greet-0"] != 100 || got["greet-1"] != 100 || got["greet-2"] != 100 {
		t.Fatalf("300 POSTs spread %v, want 100 per pod", got)
	}
	checkAdmin(t, a, servers)
	if err := a.Stop(t); err != nil {
		t.Fatalf("agent exit after SIGTERM: %v", err)
	}
	if !strings.Contains(a.Out.String(), `"agent stopped"`) {
		t.Fatal("no 'agent stopped' log line after SIGTERM")
	}
}

func checkAdmin(t *testing.T, a *agentProc, servers []string) {
	t.Helper()
	var doc struct {
		Upstreams []struct {
			Strategy  string
			Endpoints []struct {
				Addr     string
				State    string
				Requests int64 `json:"requests_total"`
			}
		}
	}
	getJSON(t, "http://"+a.admin+"/debug/endpoints", &doc)
	if len(doc.Upstreams) != 1 {
		t.Fatalf("/debug/endpoints: %+v, want one upstream", doc)
	}
	debug := doc.Upstreams[0]
	if debug.Strategy != "round-robin" || len(debug.Endpoints) != len(servers) {
		t.Fatalf("/debug/endpoints: %+v", debug)
	}
	for _, e := range debug.Endpoints {
		if e.State != "ready" || e.Requests != 100 {
			t.Fatalf("/debug/endpoints endpoint %+v, want ready with 100 requests", e)
		}
	}
	metrics := getText(t, "http://"+a.admin+"/metrics")
	for _, s := range servers {
		want := fmt.Sprintf(`roundabout_agent_requests_total{code="OK",endpoint=%q,upstream="greet"} 100`, s)
		if !strings.Contains(metrics, want) {
			t.Fatalf("/metrics lacks %s", want)
		}
	}
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(getText(t, url)), v); err != nil {
		t.Fatalf("%s: %v", url, err)
	}
}

func getText(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func TestEndpointsFileIsFollowed(t *testing.T) {
	servers := procs.GreetServers(t, "127.0.0.2", "127.0.0.3", "127.0.0.4")
	file := filepath.Join(t.TempDir(), "endpoints")
	writeAtomic(t, file, servers[0]+"\n"+servers[1]+"\n")
	a := startAgent(t, "--endpoints-file", file)
	base := procs.Gateway(t, a.listen)
	if got := procs.Post(t, base, 30); got["greet-0"] != 15 || got["greet-1"] != 15 {
		t.Fatalf("two endpoints: %v", got)
	}
	writeAtomic(t, file, "# all three\n"+strings.Join(servers, ",")+"\n")
	deadline := time.Now().Add(5 * time.Second)
	for procs.Post(t, base, 3)["greet-2"] == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the third endpoint from the rewritten file never got traffic")
		}
	}
	if got := procs.Post(t, base, 30); got["greet-0"] != 10 || got["greet-1"] != 10 || got["greet-2"] != 10 {
		t.Fatalf("three endpoints: %v", got)
	}
}

func writeAtomic(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func TestBadFlagsFailAtStart(t *testing.T) {
	cases := map[string]struct {
		args []string
		want []string
	}{
		"unknown strategy": {[]string{"--upstream", "g", "--endpoints", "127.0.0.2:1", "--strategy", "fastest"},
			[]string{"--strategy", "fastest", "round-robin", "least-request", "peak-ewma", "ring-hash", "random"}},
		"bad endpoint":  {[]string{"--upstream", "g", "--endpoints", "127.0.0.2:99999"}, []string{"--endpoints", "99999"}},
		"not a service": {[]string{"--upstream", "g"}, []string{`--upstream="g"`}},
		"no cluster":    {[]string{"--upstream", "greetserver.default:50051", "--kubeconfig", "/nonexistent"}, []string{"--kubeconfig", "/nonexistent"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			out, err := exec.Command(filepath.Join(procs.Dir, "roundabout-agent"), tc.args...).CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() == 0 {
				t.Fatalf("exit %v, want a non-zero exit; output %s", err, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(out), w) {
					t.Fatalf("error output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}
