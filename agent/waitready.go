package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/roundabout-dev/roundabout/agent/admin"
	"github.com/roundabout-dev/roundabout/agent/config"
)

// waitReady is the wait-ready subcommand: it returns nil once the agent at
// --admin-addr answers 200 on /readyz, or an error naming the address and
// the last answer when --timeout passes first.
func waitReady(ctx context.Context, args []string) error {
	cfg, err := config.ParseWaitReady(os.Stderr, args)
	if err != nil {
		return err
	}
	start := time.Now()
	if err := admin.WaitReady(ctx, cfg.AdminAddr, cfg.Timeout, admin.WaitInterval); err != nil {
		return fmt.Errorf("%s: %w", config.WaitReadyCommand, err)
	}
	fmt.Printf("%s: agent at %s ready after %s\n", config.WaitReadyCommand, cfg.AdminAddr,
		time.Since(start).Round(time.Millisecond))
	return nil
}
