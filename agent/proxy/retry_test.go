package proxy_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	greetserver "github.com/roundabout-dev/roundabout/greet/server"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/roundabout-dev/roundabout/greet/greettest"
	greetv1 "github.com/roundabout-dev/roundabout/proto/greet/v1"
)

// refusingServer speaks just enough HTTP/2 to be connected to, and answers
// every request stream with RST_STREAM(REFUSED_STREAM): the server's
// promise that it did not process the request.
type refusingServer struct {
	ln      net.Listener
	refused atomic.Int64
}

func startRefusing(t *testing.T) *refusingServer {
	ln, err := net.Listen("tcp", "127.0.0.5:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &refusingServer{ln: ln}
	go s.accept()
	t.Cleanup(func() { ln.Close() })
	return s
}

func (s *refusingServer) accept() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		go s.serve(c)
	}
}

func (s *refusingServer) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	if _, err := io.ReadFull(r, make([]byte, len(http2.ClientPreface))); err != nil {
		return
	}
	fr := http2.NewFramer(c, r)
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	fr.WriteSettings()
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			return
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				fr.WriteSettingsAck()
			}
		case *http2.MetaHeadersFrame:
			s.refused.Add(1)
			fr.WriteRSTStream(f.StreamID, http2.ErrCodeRefusedStream)
		}
	}
}

// TestRefusedStreamIsRetriedElsewhere: a request the first server refuses
// was never processed, so the agent sends it, body included, to another
// endpoint and the client sees only the success.
func TestRefusedStreamIsRetriedElsewhere(t *testing.T) {
	bad := startRefusing(t)
	good := greettest.Start(t, "127.0.0.2:0", "good")
	a := startAgent(t, "round-robin", []string{bad.ln.Addr().String(), good.Addr()})
	c := greetClient(t, a.addr)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for range 6 {
		resp, err := c.Greet(ctx, &greetv1.GreetRequest{FirstName: "Retry", LastName: "Me"})
		if err != nil {
			t.Fatalf("call with one refusing endpoint: %v", err)
		}
		if name, _ := greetserver.PodName(resp.GetResult()); name != "good" {
			t.Fatalf("answered by %q", name)
		}
	}
	if bad.refused.Load() == 0 {
		t.Fatal("the refusing server never saw a request; nothing was retried")
	}
}
