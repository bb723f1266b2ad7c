package agent

import (
	"strconv"
	"strings"
	"testing"

	"github.com/roundabout-dev/roundabout/api/annotations"
	"github.com/roundabout-dev/roundabout/test/procs"
)

// The agent runs its Go code on the contract's DefaultGOMAXPROCS threads
// unless GOMAXPROCS, which the webhook sets from the CPU limit, says
// otherwise; "agent started" reports the number in use.
func TestGOMAXPROCSDefaultsToContract(t *testing.T) {
	servers := procs.GreetServers(t, "127.0.0.2")
	for env, want := range map[string]int{"GOMAXPROCS=": annotations.DefaultGOMAXPROCS, "GOMAXPROCS=3": 3} {
		a := launchAgentEnv(t, []string{env}, "--endpoints", strings.Join(servers, ","))
		waitLog(t, a, `"msg":"agent started"`, `"gomaxprocs":`+strconv.Itoa(want)+`,`)
		if err := a.Stop(t); err != nil {
			t.Fatalf("%s: agent exit after SIGTERM: %v", env, err)
		}
	}
}
