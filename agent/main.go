// Command roundabout-agent is the Roundabout sidecar: a gRPC proxy on
// localhost that balances every request over the endpoints of an upstream.
//
// main only turns flags into configuration and wires the parts together;
// see run.go. The subcommands "wait-ready" and "drain-wait", which a pod's
// lifecycle hooks run, wait on a running agent instead; see hooks.go.
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
	var err error
	if len(args) > 0 && config.IsHook(args[0]) {
		err = hook(ctx, args[0], args[1:])
	} else {
		setProcs()
		err = run(ctx, args)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "roundabout-agent:", err)
		os.Exit(1)
	}
}
