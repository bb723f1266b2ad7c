package demo

import (
	"bufio"
	"context"
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/roundabout-dev/roundabout/api/annotations"
	"github.com/roundabout-dev/roundabout/webhook/inject"
)

// swapTo is the strategy the running pod is annotated with.
const swapTo = "least-request"

// stepSwap annotates the running gateway pod with a new strategy while
// following the agent's log with kubectl logs -f, and checks that the
// agent swapped without restarting.
func (e *Env) stepSwap(ctx context.Context, s *Step) {
	pod, err := e.OnePod(ctx, clientApp, rolloutTimeout)
	if err != nil {
		s.fail("the gateway pod", err)
		return
	}
	before := restarts(pod, inject.AgentContainerName)
	lines, stop, err := e.followAgent(ctx, pod.Name)
	if err != nil {
		s.fail("kubectl logs -f on the agent", err)
		return
	}
	defer stop()
	// The stream is open once the last line already logged arrives; a line
	// logged before that would be missed.
	if _, err := awaitLine(ctx, lines, "", 15*time.Second); err != nil {
		s.fail("kubectl logs -f on the agent", err)
		return
	}
	if _, err := e.Kubectl(ctx, "-n", Namespace, "annotate", "pod", pod.Name,
		annotations.Strategy+"="+swapTo, "--overwrite"); err != nil {
		s.fail("kubectl annotate", err)
		return
	}
	line, err := awaitLine(ctx, lines, "strategy changed", 30*time.Second)
	if err != nil {
		s.fail("the agent logs the swap", fmt.Errorf("%w; %s", err, e.strategyNow(ctx, pod.Status.PodIP)))
		return
	}
	fmt.Fprintf(e.out, "      %s\n", readableLog(line))
	s.check(strings.Contains(line, `"to":"`+swapTo+`"`), "the agent logs the swap", "%s", shorten(readableLog(line), 100))
	e.checkNoRestart(ctx, s, pod.Name, string(pod.UID), before)
	e.chartAfterSwap(ctx, s)
}

// followAgent runs kubectl logs -f --tail=1 on the pod's agent and sends
// the last line logged, then each new one.
func (e *Env) followAgent(ctx context.Context, pod string) (<-chan string, func(), error) {
	args := []string{"-n", Namespace, "logs", "-f", "--tail=1", pod, "-c", inject.AgentContainerName}
	fmt.Fprintf(e.out, "    $ kubectl %s &\n", strings.Join(args, " "))
	ctx, cancel := context.WithCancel(ctx)
	cmd := e.kubectlCmd(ctx, args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		return nil, nil, err
	}
	if err := cmd.Start(); err != nil {
		cancel()
		return nil, nil, err
	}
	lines := make(chan string, 64)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
	}()
	return lines, func() { cancel(); _ = cmd.Wait() }, nil
}

// strategyNow says which strategy the agent reports, for an error message.
func (e *Env) strategyNow(ctx context.Context, podIP string) string {
	d, err := AgentDebug(ctx, podIP)
	if err != nil || len(d) == 0 {
		return fmt.Sprintf("the agent's /debug/endpoints: %v", err)
	}
	return fmt.Sprintf("the agent's /debug/endpoints says strategy=%s rejected=%q", d[0].Strategy, d[0].RejectedStrategy)
}

// awaitLine returns the first line containing want.
func awaitLine(ctx context.Context, lines <-chan string, want string, timeout time.Duration) (string, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				return "", fmt.Errorf("the log stream ended before a line with %q", want)
			}
			if strings.Contains(line, want) {
				return line, nil
			}
		case <-t.C:
			return "", fmt.Errorf("no line with %q within %s", want, timeout)
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
}

// checkNoRestart checks that the pod and its agent are the same as before.
func (e *Env) checkNoRestart(ctx context.Context, s *Step, name, uid string, before int32) {
	pod, err := e.client.CoreV1().Pods(Namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		s.fail("the agent did not restart", err)
		return
	}
	after := restarts(pod, inject.AgentContainerName)
	s.check(string(pod.UID) == uid && after == before && before >= 0, "the agent did not restart",
		"same pod, agent restart count %d before and %d after", before, after)
	d, err := AgentDebug(ctx, pod.Status.PodIP)
	if err != nil || len(d) != 1 {
		s.fail("the agent reports the new strategy", fmt.Errorf("/debug/endpoints: %d upstreams, %v", len(d), err))
		return
	}
	s.check(d[0].Strategy == swapTo, "the agent reports the new strategy", "/debug/endpoints strategy=%s", d[0].Strategy)
}

// chartAfterSwap shows 30 requests under the new strategy.
func (e *Env) chartAfterSwap(ctx context.Context, s *Step) {
	tally, err := e.greetThroughClient(ctx, clientApp, 30)
	if err != nil {
		s.fail("30 requests under "+swapTo, err)
		return
	}
	pods := e.chartServers(ctx, tally)
	s.check(tally.Total() == 30, "30 requests under "+swapTo, "%s", tallyLine(tally, pods))
}
