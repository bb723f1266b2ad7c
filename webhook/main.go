// Command roundabout-webhook is the mutating admission webhook that adds
// the Roundabout agent sidecar to annotated pods. See deploy/README.md.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/go-logr/zapr"
	"go.uber.org/zap"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/roundabout-dev/roundabout/webhook/server"
)

func main() {
	opts, level, err := parseFlags(os.Args[1:], os.Getenv)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "roundabout-webhook: %v\n", err)
		os.Exit(2)
	}
	log, err := newLogger(level)
	if err != nil {
		fmt.Fprintf(os.Stderr, "roundabout-webhook: %v\n", err)
		os.Exit(2)
	}
	os.Exit(run(opts, log))
}

func run(opts server.Options, log *zap.Logger) int {
	defer func() { _ = log.Sync() }()
	logger := zapr.NewLogger(log)
	ctrl.SetLogger(logger)
	cfg, err := ctrl.GetConfig()
	if err != nil {
		log.Error("no Kubernetes client configuration", zap.Error(err))
		return 1
	}
	if err := server.Run(ctrl.SetupSignalHandler(), cfg, opts, logger); err != nil {
		log.Error("webhook failed", zap.Error(err))
		return 1
	}
	log.Info("webhook stopped")
	return 0
}

func newLogger(level string) (*zap.Logger, error) {
	lvl, err := zap.ParseAtomicLevel(level)
	if err != nil {
		return nil, fmt.Errorf("--log-level=%q: want debug, info, warn or error", level)
	}
	cfg := zap.NewProductionConfig()
	cfg.Level = lvl
	return cfg.Build()
}
