package probe

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	greetv1 "github.com/roundabout-dev/roundabout/proto/greet/v1"
)

// SideStats counts the side client's calls.
type SideStats struct {
	OK, Total int
	// Errors counts failed calls by gRPC code.
	Errors map[string]int
	// FirstErr is the first failure, for the report.
	FirstErr string
}

// Fraction is the share of calls that succeeded, 1 when none was made.
func (s SideStats) Fraction() float64 {
	if s.Total == 0 {
		return 1
	}
	return float64(s.OK) / float64(s.Total)
}

func (s SideStats) String() string {
	if s.Total == 0 {
		return "no calls"
	}
	out := fmt.Sprintf("%.1f%% of %d", 100*s.Fraction(), s.Total)
	if len(s.Errors) > 0 {
		codes := make([]string, 0, len(s.Errors))
		for c, n := range s.Errors {
			codes = append(codes, fmt.Sprintf("%s ×%d", c, n))
		}
		sort.Strings(codes)
		out += " (" + strings.Join(codes, ", ") + ")"
	}
	return out
}

// Side is a well-behaved gRPC client making unary Greet calls at a fixed
// rate on its own connection, to see whether others keep being served.
type Side struct {
	cc      *grpc.ClientConn
	client  greetv1.GreetServiceClient
	timeout time.Duration

	mu    sync.Mutex
	stats SideStats

	stop chan struct{}
	done chan struct{}
	wg   sync.WaitGroup
}

// NewSide connects a side client to addr; Warm and Start put it to work.
func NewSide(addr string, timeout time.Duration) (*Side, error) {
	cc, err := grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	return &Side{cc: cc, client: greetv1.NewGreetServiceClient(cc), timeout: timeout,
		stats: SideStats{Errors: map[string]int{}}, stop: make(chan struct{}), done: make(chan struct{})}, nil
}

// Warm waits until one call succeeds.
func (s *Side) Warm(ctx context.Context) error {
	deadline := time.Now().Add(10 * time.Second)
	var err error
	for time.Now().Before(deadline) {
		if err = s.call(ctx); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("side client never succeeded: %w", err)
}

func (s *Side) call(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	_, err := s.client.Greet(ctx, &greetv1.GreetRequest{FirstName: "Side", LastName: "Client"})
	return err
}

// Start makes rate calls per second until Stop. A call still waiting when
// its timeout passes fails; so does a tick that finds as many calls in
// flight as one timeout's worth of ticks.
func (s *Side) Start(rate int) {
	interval := time.Second / time.Duration(rate)
	maxInFlight := max(1, int(s.timeout/interval))
	sem := make(chan struct{}, maxInFlight)
	go func() {
		defer close(s.done)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-tick.C:
			}
			select {
			case sem <- struct{}{}:
			default:
				s.record(fmt.Errorf("%d calls already in flight", maxInFlight))
				continue
			}
			s.wg.Go(func() {
				defer func() { <-sem }()
				s.record(s.call(context.Background()))
			})
		}
	}()
}

func (s *Side) record(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.Total++
	if err == nil {
		s.stats.OK++
		return
	}
	code := "in-flight limit"
	if st, ok := status.FromError(err); ok {
		code = st.Code().String()
	}
	s.stats.Errors[code]++
	if s.stats.FirstErr == "" {
		s.stats.FirstErr = err.Error()
	}
}

// Stop ends the calls, waits for those in flight and closes the client. It
// may be called more than once; every call returns the same counts.
func (s *Side) Stop() SideStats {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	<-s.done
	s.wg.Wait()
	s.cc.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}
