package pool_test

import (
	"fmt"
	"net"
	"strconv"
	"testing"

	"github.com/roundabout-dev/roundabout/agent/discovery"
	"github.com/roundabout-dev/roundabout/agent/pool"
)

// closedPort is a port where nothing listens.
func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// refusing returns n loopback endpoints, 127.0.3.from and up, on port.
func refusing(port, from, n int) []discovery.Endpoint {
	out := make([]discovery.Endpoint, n)
	for i := range out {
		out[i] = discovery.Endpoint{Addr: net.JoinHostPort(fmt.Sprintf("127.0.3.%d", from+i), strconv.Itoa(port))}
	}
	return out
}

func TestDialWaveEndedOnceForALargeChange(t *testing.T) {
	waves := make(chan int, 4)
	p, _ := newPool(t, pool.Config{DialWaveEnded: func(n int) { waves <- n }})
	port := closedPort(t)

	p.Update(refusing(port, 1, 10))
	eventually(t, "the first attempts of 10 endpoints", p.Dialled)
	select {
	case n := <-waves:
		t.Fatalf("a change adding 10 endpoints ended a dial wave of %d", n)
	default:
	}

	set := append(refusing(port, 1, 10), refusing(port, 11, 100)...)
	p.Update(set)
	if n := <-waves; n != 100 {
		t.Fatalf("dial wave of %d endpoints, want the 100 added", n)
	}
	eventually(t, "the first attempts of 110 endpoints", p.Dialled)
	select {
	case n := <-waves:
		t.Fatalf("a second dial wave of %d for one change", n)
	default:
	}
}
