// Command greet-server serves greet.v1.GreetService, answering every call with
// the name and IP of the pod that served it. See greet/server for the
// environment variables it reads.
package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/roundabout-dev/roundabout/greet/server"
)

// shutdownTimeout bounds the graceful drain after SIGTERM; it sits well inside
// Kubernetes' default 30s termination grace period.
const shutdownTimeout = 20 * time.Second

func main() {
	log, err := zap.NewProduction(zap.AddStacktrace(zap.DPanicLevel))
	if err != nil {
		fmt.Fprintf(os.Stderr, "greet-server: building logger: %v\n", err)
		os.Exit(1)
	}
	if err := run(log); err != nil {
		log.Error("greet-server failed", zap.Error(err))
		_ = log.Sync()
		os.Exit(1)
	}
	_ = log.Sync()
}

func run(log *zap.Logger) error {
	cfg, err := server.ConfigFromEnv(os.LookupEnv)
	if err != nil {
		return err
	}
	log = log.With(zap.String("pod", cfg.PodName), zap.String("pod_ip", cfg.PodIP))
	lis, err := net.Listen("tcp", cfg.ListenAddress())
	if err != nil {
		return fmt.Errorf("listening on %s: %w", cfg.ListenAddress(), err)
	}
	log.Info("starting greet-server", zap.Duration("delay", cfg.Delay), zap.Float64("fail_rate", cfg.FailRate))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	return server.New(cfg, log).Run(ctx, lis, shutdownTimeout)
}
