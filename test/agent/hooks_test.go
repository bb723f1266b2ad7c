package agent

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	greetv1 "github.com/roundabout-dev/roundabout/proto/greet/v1"
	"github.com/roundabout-dev/roundabout/test/procs"
)

// agentCommand runs roundabout-agent with args and returns its output and
// exit code.
func agentCommand(t *testing.T, args ...string) (string, int) {
	t.Helper()
	out, err := exec.Command(filepath.Join(procs.Dir, "roundabout-agent"), args...).CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &ee):
		return string(out), ee.ExitCode()
	}
	t.Fatalf("running roundabout-agent %v: %v", args, err)
	return "", -1
}

// TestWaitReady runs the wait-ready subcommand as a postStart hook does:
// started before the agent, it exits 0 once the agent is ready; against
// no agent it exits 1 at its timeout naming the address and the error;
// a bad flag is named.
func TestWaitReady(t *testing.T) {
	t.Run("agent starting", func(t *testing.T) {
		servers := procs.GreetServers(t, "127.0.0.2")
		admin := closedAddr(t, "127.0.0.1")
		wait := procs.Start(t, "roundabout-agent", nil, "wait-ready", "--admin-addr="+admin, "--timeout=20s")
		time.Sleep(300 * time.Millisecond)
		procs.Start(t, "roundabout-agent", nil, "--upstream", "greet", "--endpoints", servers[0],
			"--listen", closedAddr(t, "127.0.0.1"), "--admin-addr", admin)
		select {
		case <-wait.Exited:
		case <-time.After(10 * time.Second):
			t.Fatal("wait-ready still waiting 10s after the agent started")
		}
		if wait.Err != nil || !strings.Contains(wait.Out.String(), "ready after") {
			t.Fatalf("wait-ready: %v\n%s", wait.Err, wait.Out.String())
		}
	})
	t.Run("no agent", func(t *testing.T) {
		admin := closedAddr(t, "127.0.0.1")
		start := time.Now()
		out, code := agentCommand(t, "wait-ready", "--admin-addr="+admin, "--timeout=500ms")
		if code != 1 {
			t.Fatalf("exit %d, want 1; output %s", code, out)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("gave up after %s, want the 500ms timeout", d)
		}
		for _, want := range []string{"http://" + admin + "/readyz", "not ready after 500ms", "connection refused"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
	})
	t.Run("bad flags", func(t *testing.T) {
		for flag, want := range map[string]string{"--timeout=soon": "timeout", "--admin-addr=nowhere": "--admin-addr"} {
			out, code := agentCommand(t, "wait-ready", flag)
			if code == 0 || !strings.Contains(out, want) {
				t.Errorf("wait-ready %s: exit %d, output %q; want an error naming %s", flag, code, out, want)
			}
		}
	})
}

// TestDrainWait runs the drain-wait subcommand as a preStop hook does: it
// waits while the app holds a connection to the agent, and exits 0 once
// the app has closed it; it exits 0 at once when the agent is gone.
func TestDrainWait(t *testing.T) {
	servers := procs.GreetServers(t, "127.0.0.2")
	a := startAgent(t, "--endpoints", servers[0])
	cc, err := grpc.NewClient(a.listen, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	if _, err := greetv1.NewGreetServiceClient(cc).Greet(context.Background(), &greetv1.GreetRequest{FirstName: "App"}); err != nil {
		t.Fatal(err)
	}
	wait := procs.Start(t, "roundabout-agent", []string{"AGENT_HOST=127.0.0.1"}, "drain-wait",
		"--admin-addr=$(AGENT_HOST):"+strings.Split(a.admin, ":")[1], "--timeout=20s")
	select {
	case <-wait.Exited:
		t.Fatalf("drain-wait exited while the app holds a connection: %v\n%s", wait.Err, wait.Out.String())
	case <-time.After(time.Second):
	}
	cc.Close()
	select {
	case <-wait.Exited:
	case <-time.After(5 * time.Second):
		t.Fatal("drain-wait still waiting 5s after the app closed its connection")
	}
	if wait.Err != nil || !strings.Contains(wait.Out.String(), "no client connection") {
		t.Fatalf("drain-wait: %v\n%s", wait.Err, wait.Out.String())
	}

	out, code := agentCommand(t, "drain-wait", "--admin-addr="+closedAddr(t, "127.0.0.1"), "--timeout=20s")
	if code != 0 {
		t.Fatalf("drain-wait with no agent: exit %d\n%s", code, out)
	}
}
