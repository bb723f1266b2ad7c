package main

import (
	"os"
	"runtime"

	"github.com/roundabout-dev/roundabout/api/annotations"
)

// setProcs runs the agent's Go code on annotations.DefaultGOMAXPROCS
// threads unless the GOMAXPROCS environment variable, which the webhook
// sets from the agent's CPU limit, chose a number. The Go runtime's own
// default, the node's CPUs or the container's CPU limit with a floor of
// two, costs a sidecar more CPU per request than one thread does at the
// rates it sees (the README gives the figures, beside make bench).
func setProcs() {
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(annotations.DefaultGOMAXPROCS)
	}
}
