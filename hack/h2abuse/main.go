// Command h2abuse measures what misbehaving HTTP/2 clients, and slow
// servers, cost roundabout-agent, next to what the same abuse costs a
// greet-server reached directly.
//
// For every probe it starts three greet-servers on 127.0.1.1-3 and a fresh
// agent over them, runs the probe against the agent with a side client
// making Greet calls on its own connection, and then does the same against
// one fresh greet-server alone. It prints one Markdown table and the
// details of every probe:
//
//	make build && go run ./hack/h2abuse
//	go run ./hack/h2abuse --only 'rapid|ping' --no-direct
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"regexp"
	"syscall"
	"time"

	"github.com/roundabout-dev/roundabout/hack/h2abuse/probe"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "h2abuse:", err)
		os.Exit(1)
	}
}

func run() error {
	agent := flag.String("agent", "bin/roundabout-agent", "roundabout-agent binary")
	greet := flag.String("greet-server", "bin/greet-server", "greet-server binary")
	duration := flag.Duration("duration", probe.DefaultScale.Duration, "how long each flood lasts")
	capMiB := flag.Uint64("cap-mib", 1024, "resident memory in MiB at which a probe stops and the process is killed")
	only := flag.String("only", "", "run only the probes whose name matches this regular expression")
	noDirect := flag.Bool("no-direct", false, "skip the greet-server-direct column")
	sideRate := flag.Int("side-rate", 200, "side client's Greet calls per second")
	scale := probe.DefaultScale
	flag.IntVar(&scale.PrefaceConns, "preface-conns", scale.PrefaceConns, "connections that send only the preface (idle-conns-sigterm)")
	flag.IntVar(&scale.SilentConns, "silent-conns", scale.SilentConns, "connections that send nothing (idle-conns-sigterm)")
	flag.IntVar(&scale.RapidResetConns, "rapid-reset-conns", scale.RapidResetConns, "connections resetting calls in parallel (rapid-reset)")
	flag.Parse()

	for _, bin := range []string{*agent, *greet} {
		if _, err := os.Stat(bin); err != nil {
			return fmt.Errorf("%w (run `make build`, or pass --agent and --greet-server)", err)
		}
	}
	match, err := regexp.Compile(*only)
	if err != nil {
		return fmt.Errorf("--only: %w", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	scale.Duration = *duration
	r := &probe.Runner{
		Bins:     probe.Binaries{Agent: *agent, GreetServer: *greet},
		Cap:      *capMiB << 20,
		SideRate: *sideRate,
		Logf: func(format string, args ...any) {
			fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
		},
	}
	var rows []probe.Row
	for _, p := range probe.Probes(scale) {
		if !match.MatchString(p.Name) {
			continue
		}
		if ctx.Err() != nil {
			break
		}
		row := probe.Row{Probe: p}
		m := r.Agent(ctx, p, scale)
		row.Agent = &m
		r.Logf("%s vs agent: peak %s, side %s, %s", p.Name, probe.MiB(m.PeakRSS), m.Side, m.Closed)
		if !*noDirect && ctx.Err() == nil {
			d := r.Direct(ctx, p, scale)
			row.Direct = &d
			r.Logf("%s vs greet-server: peak %s, side %s, %s", p.Name, probe.MiB(d.PeakRSS), d.Side, d.Closed)
		}
		rows = append(rows, row)
	}
	probe.WriteTable(os.Stdout, rows, r.Cap)
	return ctx.Err()
}
