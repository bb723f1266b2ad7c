// Command roundabout-agent is the Roundabout sidecar: a gRPC proxy on
// localhost that balances every request over the endpoints of an upstream.
//
// main only turns flags into configuration and wires the parts together;
// see run.go.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	_ "github.com/roundabout-dev/roundabout/agent/balancer/all"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "roundabout-agent:", err)
		os.Exit(1)
	}
}
