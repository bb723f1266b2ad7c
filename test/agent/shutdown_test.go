package agent

import (
	"context"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/roundabout-dev/roundabout/test/procs"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	greetv1 "github.com/roundabout-dev/roundabout/proto/greet/v1"
)

// TestSIGTERMFinishesRequestsInFlight sends SIGTERM while a slow request is
// in flight: the request completes, and the agent exits 0 once it has.
func TestSIGTERMFinishesRequestsInFlight(t *testing.T) {
	port := strconv.Itoa(procs.FreePort(t, "127.0.0.2"))
	procs.Start(t, "greet-server", []string{"POD_NAME=slow", "POD_IP=127.0.0.2", "GRPC_PORT=" + port, "GREET_DELAY=1s"})
	procs.WaitTCP(t, "127.0.0.2:"+port)
	a := startAgent(t, "--endpoints", "127.0.0.2:"+port, "--drain-timeout", "10s")
	cc, err := grpc.NewClient(a.listen, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	result := make(chan error, 1)
	go func() {
		_, err := greetv1.NewGreetServiceClient(cc).Greet(context.Background(), &greetv1.GreetRequest{FirstName: "Late"})
		result <- err
	}()
	waitInFlight(t, a, 1)
	a.Cmd.Process.Signal(syscall.SIGTERM)
	if err := <-result; err != nil {
		t.Fatalf("request in flight at SIGTERM: %v", err)
	}
	select {
	case <-a.Exited:
		if a.Err != nil {
			t.Fatalf("agent exit: %v", a.Err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("agent still running 10s after its last request finished")
	}
	checkLastLine(t, a.Out.String(), `"agent stopped"`)
}

// checkLastLine checks that the last line of a process's output contains
// want: nothing was logged after it.
func checkLastLine(t *testing.T, out, want string) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if last := lines[len(lines)-1]; !strings.Contains(last, want) {
		t.Fatalf("last line of the output is %q, want one containing %s", last, want)
	}
}

func waitInFlight(t *testing.T, a *agentProc, n int) {
	t.Helper()
	want := "roundabout_agent_requests_in_flight{endpoint="
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		for _, line := range strings.Split(getText(t, "http://"+a.admin+"/metrics"), "\n") {
			if strings.HasPrefix(line, want) && strings.HasSuffix(line, " "+strconv.Itoa(n)) {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("never saw %d request(s) in flight", n)
}
