package abuse

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/roundabout-dev/roundabout/hack/h2abuse/probe"
)

// Targets for one misbehaving client or one slow server.
const (
	// maxPeakRSS bounds the agent's resident memory during any probe.
	maxPeakRSS = 64 << 20
	// maxIdleConnsRSS bounds what 5000 preface-only connections add at peak.
	maxIdleConnsRSS = 40 << 20
	// minSideSuccess is the share of the side client's calls that must succeed.
	minSideSuccess = 0.99
	// maxExitAfterTERM is how soon the agent must exit on SIGTERM when only
	// idle connections are open; its drain timeout is far longer.
	maxExitAfterTERM = 3 * time.Second
	// killAt stops a probe whose agent grows past it, long before the
	// machine runs short.
	killAt = 1 << 30
)

// scale keeps the whole package within a few minutes on two cores.
var scale = probe.Scale{
	Duration:        3 * time.Second,
	RapidResetConns: 4,
	OneByteFrames:   200_000,
	SlowRate:        1 << 20,
	BigFrameConns:   40,
	// The RSS target is for 5000 preface-only connections; a hundred that
	// never send the preface are enough to see whether SIGTERM waits for
	// them.
	PrefaceConns: 5000,
	SilentConns:  100,
	MaxStreams:   10_000,
}

// TestAgentUnderAbuse runs every probe against a fresh agent over three
// greet-servers, one probe at a time.
func TestAgentUnderAbuse(t *testing.T) {
	r := &probe.Runner{
		Bins: probe.Binaries{
			Agent:       filepath.Join(binDir, "roundabout-agent"),
			GreetServer: filepath.Join(binDir, "greet-server"),
		},
		Cap:  killAt,
		Logf: t.Logf,
	}
	for _, p := range probe.Probes(scale) {
		t.Run(p.Name, func(t *testing.T) {
			m := r.Agent(context.Background(), p, scale)
			if m.Err != nil {
				t.Fatalf("measuring %s: %v\n%s", p.Name, m.Err, m.Output)
			}
			for _, line := range probe.Details(m) {
				t.Log(line)
			}
			t.Logf("peak RSS %s, idle %s; side client %s; connection: %s",
				probe.MiB(m.PeakRSS), probe.MiB(m.IdleRSS), m.Side, m.Closed)
			if m.Outcome.Err != nil {
				t.Errorf("the probe could not run: %v", m.Outcome.Err)
			}
			if m.Died {
				t.Errorf("the agent exited during the probe:\n%s", m.Output)
			}
			checkMemory(t, p, m)
			if f := m.Side.Fraction(); f < minSideSuccess {
				t.Errorf("side client: %s succeeded, want at least %.0f%% (first failure: %s)",
					m.Side, 100*minSideSuccess, m.Side.FirstErr)
			}
			if check, ok := checks[p.Name]; ok {
				check(t, m)
			}
		})
	}
}

func checkMemory(t *testing.T, p probe.Probe, m probe.Measure) {
	t.Helper()
	if m.Capped {
		t.Errorf("agent RSS passed %s and the probe was stopped", probe.MiB(killAt))
		return
	}
	if p.Terminates {
		if added := int64(m.PeakRSS) - int64(m.IdleRSS); added > maxIdleConnsRSS {
			t.Errorf("idle connections added %s to the agent's peak RSS (idle %s, peak %s, just before SIGTERM %s), want at most %s",
				probe.MiB(uint64(added)), probe.MiB(m.IdleRSS), probe.MiB(m.PeakRSS), probe.MiB(m.EndRSS), probe.MiB(maxIdleConnsRSS))
		}
		return
	}
	if m.PeakRSS > maxPeakRSS {
		t.Errorf("agent peak RSS %s (idle %s), want at most %s", probe.MiB(m.PeakRSS), probe.MiB(m.IdleRSS), probe.MiB(maxPeakRSS))
	}
}

// checks are the assertions particular to one probe.
var checks = map[string]func(*testing.T, probe.Measure){
	"idle-conns-sigterm": func(t *testing.T, m probe.Measure) {
		switch {
		case !m.Terminated:
			t.Error("the probe never sent SIGTERM")
		case !m.ExitInTime:
			t.Errorf("the agent had not exited %s after SIGTERM", m.ExitAfter.Round(100*time.Millisecond))
		case m.ExitAfter > maxExitAfterTERM:
			t.Errorf("the agent exited %s after SIGTERM with only idle connections open, want within %s (drain timeout %s)",
				m.ExitAfter.Round(100*time.Millisecond), maxExitAfterTERM, probe.AgentDrainTimeout)
		}
	},
	"bad-headers": func(t *testing.T, m probe.Measure) {
		if !m.UpstreamUnchanged() {
			t.Errorf("malformed requests reached the servers and cost the agent upstream connections:\nbefore %v\nafter  %v",
				m.UpstreamBefore, m.UpstreamAfter)
		}
	},
	"max-frame-size-0": func(t *testing.T, m probe.Measure) {
		// RFC 9113 6.5.2: a SETTINGS_MAX_FRAME_SIZE below 16384 is a
		// connection error of type PROTOCOL_ERROR.
		if !m.Ending.GoAway || m.Ending.Code != http2.ErrCodeProtocol {
			t.Errorf("SETTINGS_MAX_FRAME_SIZE=0: connection %s, want GOAWAY PROTOCOL_ERROR", m.Ending)
		}
	},
	"window-overflow": func(t *testing.T, m probe.Measure) {
		// RFC 9113 6.9.1: a window past 2^31-1 is a FLOW_CONTROL_ERROR, of
		// the connection or of the stream as the window is.
		for _, c := range m.Cases {
			if !strings.Contains(c.Answer, http2.ErrCodeFlowControl.String()) {
				t.Errorf("%s: %s, want FLOW_CONTROL_ERROR", c.Name, c.Answer)
			}
		}
		if len(m.Cases) != 2 {
			t.Errorf("%d cases ran, want 2", len(m.Cases))
		}
	},
}
