package probe

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"golang.org/x/net/http2"
)

// idleConns opens s.PrefaceConns connections that send the client preface
// and nothing else, and s.SilentConns that send nothing at all, holds them
// for half of s.Duration, then has the server terminated with all of them
// still open.
func idleConns(ctx context.Context, t Target, s Scale) Outcome {
	var out Outcome
	total := s.PrefaceConns + s.SilentConns
	jobs := make(chan int)
	var mu sync.Mutex
	conns := make([]*Conn, 0, total)
	failed := 0
	var firstErr error
	var wg sync.WaitGroup
	start := time.Now()
	for range 32 {
		wg.Go(func() {
			for i := range jobs {
				c, err := Dial(ctx, t.Addr, DialOptions{})
				if err == nil && i < s.PrefaceConns {
					_, err = io.WriteString(c.NC, http2.ClientPreface)
				}
				mu.Lock()
				if err != nil {
					failed++
					if firstErr == nil {
						firstErr = err
					}
				} else {
					conns = append(conns, c)
				}
				mu.Unlock()
			}
		})
	}
	for i := range total {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	if len(conns) == 0 {
		out.Err = fmt.Errorf("no connection: %w", firstErr)
		return out
	}
	out.note("%d preface-only and %d silent connections opened in %s (%d failed)",
		min(s.PrefaceConns, len(conns)), max(0, len(conns)-s.PrefaceConns), time.Since(start).Round(100*time.Millisecond), failed)
	if !sleepCtx(ctx, s.Duration/2) {
		return out
	}
	if t.Terminate != nil {
		out.Terminated = true
		out.ExitAfter, out.ExitInTime = t.Terminate()
		if out.ExitInTime {
			out.Closed = fmt.Sprintf("exit %.1fs after SIGTERM", out.ExitAfter.Seconds())
		} else {
			out.Closed = fmt.Sprintf("no exit %.0fs after SIGTERM (killed)", out.ExitAfter.Seconds())
		}
	}
	return out
}
