package proxy_test

import (
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/roundabout-dev/roundabout/agent/pool"
	"github.com/roundabout-dev/roundabout/agent/proxy"
	"github.com/roundabout-dev/roundabout/agent/transport"
	"github.com/roundabout-dev/roundabout/greet/greettest"
)

// pauser relays TCP to a backend. While paused it neither reads nor writes
// in either direction and accepts no connection onward, yet closes nothing:
// what a client sees of a server whose process is stopped (SIGSTOP). Bytes
// held meanwhile flow on once it resumes.
type pauser struct {
	ln      net.Listener
	backend string
	wg      sync.WaitGroup

	mu      sync.Mutex
	resumed chan struct{} // closed on resume; nil while running
	conns   []net.Conn
	closed  bool
}

func startPauser(t *testing.T, host, backend string) *pauser {
	ln, err := net.Listen("tcp", host+":0")
	if err != nil {
		t.Fatal(err)
	}
	p := &pauser{ln: ln, backend: backend}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *pauser) pause() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.resumed == nil {
		p.resumed = make(chan struct{})
	}
}

func (p *pauser) resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.resumed != nil {
		close(p.resumed)
		p.resumed = nil
	}
}

// gate blocks while the pauser is paused.
func (p *pauser) gate() {
	p.mu.Lock()
	ch := p.resumed
	p.mu.Unlock()
	if ch != nil {
		<-ch
	}
}

func (p *pauser) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		c.Close()
		return false
	}
	p.conns = append(p.conns, c)
	return true
}

func (p *pauser) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		if !p.track(c) {
			return
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.gate()
			b, err := net.Dial("tcp", p.backend)
			if err != nil || !p.track(b) {
				c.Close()
				return
			}
			p.wg.Add(2)
			go p.pipe(b, c)
			go p.pipe(c, b)
		}()
	}
}

func (p *pauser) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	defer dst.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if err != nil {
			return
		}
		p.gate()
		if _, err := dst.Write(buf[:n]); err != nil {
			return
		}
	}
}

func (p *pauser) close() {
	p.ln.Close()
	p.resume()
	p.mu.Lock()
	p.closed = true
	for _, c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// logTime is when the first log line with msg was written, if any.
func logTime(logs *observer.ObservedLogs, msg string) (time.Time, bool) {
	all := logs.FilterMessage(msg).All()
	if len(all) == 0 {
		return time.Time{}, false
	}
	return all[0].Time, true
}

// TestHungServerIsProbedOutAndBackIn stops one of three servers, the way
// SIGSTOP does, under 100 calls per second with 2 s deadlines: the agent's
// probe finds it and ejects it within a few hundred milliseconds, the calls
// caught on it fail with UNAVAILABLE naming the unanswered PING, others go
// to the two live servers, and few calls fail in all. Once it runs again it
// answers a PING, is re-admitted and serves again.
func TestHungServerIsProbedOutAndBackIn(t *testing.T) {
	const (
		rate     = 100
		calls    = 800 // 8 s of load
		deadline = 2 * time.Second
		pauseAt  = 1500 * time.Millisecond
		pauseFor = 3 * time.Second
	)
	pods := greettest.StartPods(t, []string{"127.0.0.2", "127.0.0.3", "127.0.0.4"}, 0)
	hung := startPauser(t, "127.0.0.6", pods[1].Addr())
	opt, logs := withLogs(t)
	probes := func(p *pool.Config, _ *proxy.Config) {
		p.EjectBackoff = time.Second
		p.Transport = transport.Config{ProbeAfter: 200 * time.Millisecond, ProbeTimeout: 500 * time.Millisecond,
			KeepaliveTime: 20 * time.Second, KeepaliveTimeout: 10 * time.Second}
	}
	a := startAgent(t, "round-robin", []string{pods[0].Addr(), hung.ln.Addr().String(), pods[2].Addr()}, opt, probes)
	began := time.Now()
	l := greettest.StartOpenLoad(greetClient(t, a.addr), rate, calls, deadline)

	waitFor(t, "the load to reach every pod", 5*time.Second, func() bool { return l.AnsweredBy(pods[1].PodName()) > 10 })
	time.Sleep(time.Until(began.Add(pauseAt))) // the stop comes at a set point of the load
	pausedAt := time.Now()
	hung.pause()
	waitFor(t, "the ejection", 5*time.Second, func() bool { return logs.FilterMessage("endpoint ejected").Len() > 0 })
	ejectedAt, _ := logTime(logs, "endpoint ejected")
	servedBefore := l.AnsweredBy(pods[1].PodName())

	time.Sleep(time.Until(pausedAt.Add(pauseFor)))
	resumedAt := time.Now()
	hung.resume()
	waitFor(t, "the re-admission", 10*time.Second, func() bool { return logs.FilterMessage("endpoint re-admitted").Len() > 0 })
	readmittedAt, _ := logTime(logs, "endpoint re-admitted")
	results := l.Wait(t, time.Duration(calls/rate)*time.Second+2*deadline+5*time.Second)

	failed, pinged := 0, 0
	for _, r := range results {
		if r.Err == nil {
			continue
		}
		failed++
		if status.Code(r.Err) == codes.Unavailable && strings.Contains(r.Err.Error(), "PING not answered within 500ms") {
			pinged++
		}
	}
	t.Logf("failed %d of %d calls (%.1f%%); ejected %v after the stop, re-admitted %v after it ran again",
		failed, len(results), 100*float64(failed)/float64(len(results)),
		ejectedAt.Sub(pausedAt).Round(time.Millisecond), readmittedAt.Sub(resumedAt).Round(time.Millisecond))
	if len(results) != calls {
		t.Fatalf("%d results for %d calls", len(results), calls)
	}
	if failed*100 > 5*calls {
		t.Errorf("%d of %d calls failed, more than 5%%", failed, calls)
	}
	if d := ejectedAt.Sub(pausedAt); d > 2*time.Second {
		t.Errorf("ejected %v after the server stopped", d)
	}
	if pinged == 0 {
		t.Error("no call caught on the stopped server failed with UNAVAILABLE naming the unanswered PING")
	}
	if readmittedAt.Before(resumedAt) {
		t.Errorf("re-admitted %v before the server ran again", resumedAt.Sub(readmittedAt))
	}
	if d := readmittedAt.Sub(resumedAt); d > 5*time.Second {
		t.Errorf("re-admitted %v after the server ran again", d)
	}
	if got := l.AnsweredBy(pods[1].PodName()); got <= servedBefore {
		t.Errorf("the server answered no call after its re-admission (%d before, %d after)", servedBefore, got)
	}
}
