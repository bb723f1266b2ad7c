// Command roundabout-agent is the Roundabout sidecar: a gRPC proxy on
// localhost that balances every request over the endpoints of an upstream.
//
// main only turns flags into configuration and wires the parts together;
// see run.go. "roundabout-agent wait-ready" waits for a running agent to
// be ready instead; see waitready.go.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	_ "github.com/roundabout-dev/roundabout/agent/balancer/all"
	"github.com/roundabout-dev/roundabout/agent/config"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	args := os.Args[1:]
	cmd := run
	if len(args) > 0 && args[0] == config.WaitReadyCommand {
		cmd, args = waitReady, args[1:]
	}
	if err := cmd(ctx, args); err != nil {
		fmt.Fprintln(os.Stderr, "roundabout-agent:", err)
		os.Exit(1)
	}
}
