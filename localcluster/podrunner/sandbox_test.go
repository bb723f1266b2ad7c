package podrunner

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roundabout-dev/roundabout/localcluster/netns/netnstest"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/roundabout-dev/roundabout/localcluster/netns"
	greetv1 "github.com/roundabout-dev/roundabout/proto/greet/v1"
	"github.com/roundabout-dev/roundabout/test/procs"
)

var (
	buildOnce sync.Once
	buildErr  error
)

// greetServer builds greet-server once per test binary and returns its path.
func greetServer(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() { buildErr = procs.Build("greet-server") })
	if buildErr != nil {
		t.Fatalf("build greet-server: %v", buildErr)
	}
	return filepath.Join(procs.Dir, "greet-server")
}

// newTestSandbox makes a sandbox for 10.244.0.<n>, destroyed at cleanup.
func newTestSandbox(t *testing.T, n int, log *zap.Logger) *Sandbox {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := NewSandbox(ctx, SandboxConfig{
		Dir:        t.TempDir(),
		IP:         netns.PodIP(n),
		Gateway:    netns.NodeIP,
		HostIface:  "rbtest" + netns.PodIP(n)[len("10.244.0."):],
		Hostname:   "pod-" + netns.PodIP(n)[len("10.244.0."):],
		ResolvConf: []byte("nameserver 10.0.0.10\nsearch test.svc.cluster.local\noptions ndots:5\n"),
	}, log)
	if err != nil {
		t.Fatalf("NewSandbox(%s): %v", netns.PodIP(n), err)
	}
	t.Cleanup(func() { _ = s.Destroy() })
	return s
}

// inPod runs argv in the pod's namespaces (nsArgs such as "-n", "-m") and
// returns its output.
func inPod(s *Sandbox, nsArgs []string, argv ...string) (string, error) {
	args := append(append([]string{"-t", s.pidArg()}, nsArgs...), "--")
	out, err := exec.Command("nsenter", append(args, argv...)...).CombinedOutput()
	return string(out), err
}

// waitFor polls cond every 20ms until it holds or 10s passed.
func waitFor(t *testing.T, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still failing after 10s: %v", what, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// greet calls Greet on addr and returns the answer.
func greet(t *testing.T, addr string) string {
	t.Helper()
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := greetv1.NewGreetServiceClient(cc).Greet(ctx, &greetv1.GreetRequest{FirstName: "Ada"})
	if err != nil {
		t.Fatalf("Greet %s: %v", addr, err)
	}
	return resp.GetResult()
}

func dialTCP(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err == nil {
		c.Close()
	}
	return err
}

// TestSandboxes runs greet-server on the same port in two sandboxes and
// checks what each sees and who reaches whom.
func TestSandboxes(t *testing.T) {
	netnstest.Require(t)
	bin := greetServer(t)
	log := zaptest.NewLogger(t)
	pods := []*Sandbox{newTestSandbox(t, 10, log), newTestSandbox(t, 11, log)}
	var running []*Process
	for i, s := range pods {
		p, err := s.Start(Container{Name: "greet", Binary: bin, Env: []string{"POD_NAME=pod-" + string(rune('a'+i)), "GRPC_PORT=50051"},
			LogPath: filepath.Join(s.cfg.Dir, "logs", "greet", "0.log")})
		if err != nil {
			t.Fatalf("Start: %v", err)
		}
		running = append(running, p)
		waitFor(t, "node dials "+s.cfg.IP+":50051", func() error { return dialTCP(s.cfg.IP + ":50051") })
	}
	for i, s := range pods {
		if got, want := greet(t, s.cfg.IP+":50051"), "name(pod-"+string(rune('a'+i))+")"; !strings.Contains(got, want) {
			t.Errorf("Greet %s = %q, want an answer from %s", s.cfg.IP, got, want)
		}
		if out, err := inPod(s, []string{"-n"}, "bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/50051"); err != nil {
			t.Errorf("pod %s: connect to its own 127.0.0.1:50051: %v: %s", s.cfg.IP, err, out)
		}
	}
	if err := dialTCP("127.0.0.1:50051"); err == nil {
		t.Errorf("the node's 127.0.0.1:50051 accepts connections; the pods' loopbacks must be their own")
	}
	if out, err := inPod(pods[0], []string{"-n"}, "bash", "-c", "exec 3<>/dev/tcp/10.244.0.11/50051"); err != nil {
		t.Errorf("pod 10.244.0.10 connects to 10.244.0.11:50051: %v: %s", err, out)
	}
	checkPodView(t, pods[0])
	checkDestroy(t, pods[0], running[0])
}

// checkPodView checks the hostname, resolv.conf and a mount inside s.
func checkPodView(t *testing.T, s *Sandbox) {
	if out, err := inPod(s, []string{"-u"}, "hostname"); err != nil || strings.TrimSpace(out) != s.cfg.Hostname {
		t.Errorf("hostname in pod = %q (%v), want %q", out, err, s.cfg.Hostname)
	}
	if out, err := inPod(s, []string{"-m"}, "cat", "/etc/resolv.conf"); err != nil || out != string(s.cfg.ResolvConf) {
		t.Errorf("/etc/resolv.conf in pod = %q (%v), want %q", out, err, s.cfg.ResolvConf)
	}
	host := t.TempDir()
	if err := os.WriteFile(filepath.Join(host, "x"), []byte("strategy=p2c\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, at := range []string{"/etc/roundabout", "/var/run/secrets/kubernetes.io/serviceaccount"} {
		if err := s.Mount(host, at, true); err != nil {
			t.Fatalf("Mount at %s: %v", at, err)
		}
		if out, err := inPod(s, []string{"-m"}, "cat", at+"/x"); err != nil || out != "strategy=p2c\n" {
			t.Errorf("cat %s/x in pod = %q (%v), want the host file", at, out, err)
		}
		if _, err := os.Stat(at); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s exists on the node (%v); the mount point must be private to the pod", at, err)
		}
	}
	if out, err := inPod(s, []string{"-m"}, "sh", "-c", "echo > /etc/roundabout/y"); err == nil {
		t.Errorf("writing into a read-only mount succeeded: %s", out)
	}
	if out, err := inPod(s, []string{"-m"}, "cat", "/etc/resolv.conf"); err != nil || out != string(s.cfg.ResolvConf) {
		t.Errorf("/etc/resolv.conf in pod after overlaying /etc = %q (%v), want %q", out, err, s.cfg.ResolvConf)
	}
}

var criLine = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z (stdout|stderr) [FP] `)

// checkDestroy destroys s and checks that its process, holder, link and
// route are gone and its log was written.
func checkDestroy(t *testing.T, s *Sandbox, p *Process) {
	if err := s.Destroy(); err != nil {
		t.Fatalf("Destroy: %v", err)
	}
	select {
	case <-p.Done():
	default:
		t.Fatal("the container's Done is not closed after Destroy")
	}
	if code := p.ExitCode(); code != 137 {
		t.Errorf("exit code after Destroy = %d, want 137 (SIGKILL)", code)
	}
	if _, err := os.Stat("/proc/" + s.pidArg()); err == nil {
		t.Errorf("holder %d still exists", s.pid)
	}
	if _, err := net.InterfaceByName(s.cfg.HostIface); err == nil {
		t.Errorf("%s still exists", s.cfg.HostIface)
	}
	if out, _ := exec.Command("ip", "route", "show", s.cfg.IP+"/32").Output(); len(out) != 0 {
		t.Errorf("route to %s still there: %s", s.cfg.IP, out)
	}
	if err := s.Destroy(); err != nil {
		t.Errorf("second Destroy: %v", err)
	}
	logs, err := os.ReadFile(filepath.Join(s.cfg.Dir, "logs", "greet", "0.log"))
	if err != nil || len(logs) == 0 {
		t.Fatalf("container log: %v (%d bytes)", err, len(logs))
	}
	for line := range strings.Lines(string(logs)) {
		if !criLine.MatchString(line) {
			t.Errorf("log line %q is not in CRI format", line)
		}
	}
	if _, err := s.Start(Container{Name: "late", Binary: "/bin/true"}); err == nil {
		t.Error("Start after Destroy succeeded")
	}
}

// TestNewSandboxFailureLeavesOthersAlone makes a sandbox whose host
// interface name is taken: it must fail, and not remove the other's.
func TestNewSandboxFailureLeavesOthersAlone(t *testing.T) {
	netnstest.Require(t)
	log := zaptest.NewLogger(t)
	first := newTestSandbox(t, 12, log)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cfg := first.cfg
	cfg.IP, cfg.Dir = netns.PodIP(13), t.TempDir()
	if s, err := NewSandbox(ctx, cfg, log); err == nil {
		_ = s.Destroy()
		t.Fatalf("NewSandbox with the host interface %s of another succeeded", cfg.HostIface)
	}
	if _, err := net.InterfaceByName(cfg.HostIface); err != nil {
		t.Errorf("the first sandbox's %s is gone: %v", cfg.HostIface, err)
	}
	if out, err := inPod(first, []string{"-n"}, "ip", "addr", "show", "eth0"); err != nil || !strings.Contains(out, first.cfg.IP+"/32") {
		t.Errorf("the first sandbox's eth0: %v: %s", err, out)
	}
}

func TestSandboxConfigErrors(t *testing.T) {
	_, err := NewSandbox(context.Background(), SandboxConfig{IP: "10.244.0.300", Gateway: "fd00::1",
		HostIface: "much-too-long-name"}, zap.NewNop())
	for _, want := range []string{"Dir: must be set", `IP: "10.244.0.300" is not an IPv4 address`,
		`Gateway: "fd00::1" is not an IPv4 address`, `HostIface: "much-too-long-name"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("NewSandbox error = %v, want it to contain %q", err, want)
		}
	}
}
