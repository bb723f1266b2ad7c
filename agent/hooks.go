package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/roundabout-dev/roundabout/agent/admin"
	"github.com/roundabout-dev/roundabout/agent/config"
)

// hook runs a hook subcommand (config.IsHook) with args, the arguments
// that follow its name.
func hook(ctx context.Context, command string, args []string) error {
	cfg, err := config.ParseHook(os.Stderr, command, args, os.LookupEnv)
	if err != nil {
		return err
	}
	start := time.Now()
	switch command {
	case config.WaitReadyCommand:
		if err := admin.WaitReady(ctx, cfg.AdminAddr, cfg.Timeout, admin.WaitInterval); err != nil {
			return fmt.Errorf("%s: %w", command, err)
		}
		fmt.Printf("%s: agent at %s ready after %s\n", command, cfg.AdminAddr, since(start))
	case config.DrainWaitCommand:
		// Timing out is no failure: the kubelet stops the agent anyway.
		if open, err := admin.WaitDrained(ctx, cfg.AdminAddr, cfg.Timeout, admin.WaitInterval); err != nil {
			fmt.Printf("%s: %v; letting the agent stop with %d client connections open\n", command, err, open)
			return nil
		}
		fmt.Printf("%s: no client connection to the agent at %s after %s\n", command, cfg.AdminAddr, since(start))
	}
	return nil
}

func since(start time.Time) time.Duration { return time.Since(start).Round(time.Millisecond) }
