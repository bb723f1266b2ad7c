package procs

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"

	greetserver "github.com/roundabout-dev/roundabout/greet/server"
)

// GreetServers starts one greet-server per host on a shared free port,
// named greet-0, greet-1, ... and returns their addresses.
func GreetServers(t *testing.T, hosts ...string) []string {
	t.Helper()
	port := strconv.Itoa(FreePort(t, hosts[0]))
	addrs := make([]string, len(hosts))
	for i, h := range hosts {
		Start(t, "greet-server", []string{"POD_NAME=greet-" + strconv.Itoa(i), "POD_IP=" + h, "GRPC_PORT=" + port})
		addrs[i] = net.JoinHostPort(h, port)
	}
	for _, a := range addrs {
		WaitTCP(t, a)
	}
	return addrs
}

// Gateway starts greet-gateway against the gRPC target host:port and
// returns its base URL.
func Gateway(t *testing.T, target string) string {
	t.Helper()
	host, port, _ := strings.Cut(target, ":")
	httpPort := strconv.Itoa(FreePort(t, "127.0.0.1"))
	Start(t, "greet-gateway", []string{"GRPC_SERVER_HOST=" + host, "GRPC_SERVER_PORT=" + port, "HTTP_PORT=" + httpPort})
	base := "http://127.0.0.1:" + httpPort
	WaitHTTP(t, base+"/healthz")
	return base
}

// Post sends n greetings through the gateway at base and tallies the pods
// that answered.
func Post(t *testing.T, base string, n int) map[string]int {
	t.Helper()
	tally := map[string]int{}
	for i := range n {
		body := fmt.Sprintf(`{"first_name":"User","last_name":"%d"}`, i)
		resp, err := http.Post(base+"/greet", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		text, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("POST /greet: %d %s", resp.StatusCode, text)
		}
		pod, ok := greetserver.PodName(string(text))
		if !ok {
			t.Fatalf("no pod in %q", text)
		}
		tally[pod]++
	}
	return tally
}
