// Command greet-gateway serves a REST API, POST /greet, in front of a greet
// server, over one gRPC connection. See greet/gateway for the environment
// variables it reads.
package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"

	"go.uber.org/zap"

	"github.com/roundabout-dev/roundabout/greet/gateway"
)

func main() {
	log, err := zap.NewProduction(zap.AddStacktrace(zap.DPanicLevel))
	if err != nil {
		fmt.Fprintf(os.Stderr, "greet-gateway: building logger: %v\n", err)
		os.Exit(1)
	}
	if err := run(log); err != nil {
		log.Error("greet-gateway failed", zap.Error(err))
		_ = log.Sync()
		os.Exit(1)
	}
	_ = log.Sync()
}

func run(log *zap.Logger) error {
	cfg, err := gateway.ConfigFromEnv(os.LookupEnv)
	if err != nil {
		return err
	}
	lis, err := net.Listen("tcp", cfg.HTTPAddress())
	if err != nil {
		return fmt.Errorf("listening on %s: %w", cfg.HTTPAddress(), err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	return gateway.Run(ctx, cfg, lis, log)
}
