package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/roundabout-dev/roundabout/localcluster/controlplane"
	"github.com/roundabout-dev/roundabout/localcluster/podrunner"
)

// Env is the running control plane, pod runner and API client.
type Env struct {
	o       Options
	out     io.Writer
	log     *zap.Logger
	stack   *controlplane.Stack
	client  kubernetes.Interface
	kubectl string
	// hostBefore is the gateway's GRPC_SERVER_HOST before injection, as
	// step 1 saw it.
	hostBefore string

	stopRunner  context.CancelFunc
	runnerEnded chan struct{} // closed when the pod runner returned
	runnerErr   error         // what it returned, once runnerEnded is closed
}

// start brings up the control plane and the pod runner. Component logs go
// to files under Dir/logs; the terminal gets one line per part.
func start(ctx context.Context, o Options) (*Env, error) {
	log, err := fileLogger(filepath.Join(o.Dir, "logs", "demo.log"))
	if err != nil {
		return nil, err
	}
	e := &Env{o: o, out: o.Out, log: log, kubectl: filepath.Join(o.Assets, "kubectl")}
	say(e.out, "Starting etcd, kube-apiserver, kube-controller-manager, kube-proxy (iptables) and CoreDNS")
	e.stack, err = controlplane.StartStack(ctx, controlplane.StackOptions{Assets: o.Assets, Dir: o.Dir,
		NodeName: NodeName, NodeIP: NodeIP, Log: log.Named("cluster")})
	if err != nil {
		return nil, fmt.Errorf("control plane: %w", err)
	}
	if e.client, err = kubernetes.NewForConfig(e.stack.Config); err != nil {
		e.stop()
		return nil, err
	}
	e.startRunner()
	if err := e.waitNode(ctx); err != nil {
		return nil, errors.Join(err, e.stop())
	}
	return e, nil
}

// startRunner runs the pod runner until stop.
func (e *Env) startRunner() {
	say(e.out, "Starting the local pod runner (the kubelet's stand-in) as node %s, %s", NodeName, NodeIP)
	ctx, cancel := context.WithCancel(context.Background())
	e.stopRunner, e.runnerEnded = cancel, make(chan struct{})
	cfg := podrunner.Config{Client: e.client, NodeName: NodeName, NodeIP: NodeIP,
		PodIPFirst: "10.244.0.10", PodIPLast: "10.244.0.250",
		Images: podrunner.Images{Dir: e.o.BinDir}, Dir: e.nodeDir(),
		DNSIP: e.stack.DNSIP, ClusterDomain: e.stack.ClusterDomain,
		LogAddr: NodeIP + ":10250", Log: e.log.Named("podrunner")}
	go func() {
		defer close(e.runnerEnded)
		e.runnerErr = podrunner.Run(ctx, cfg)
	}()
}

// nodeDir is the pod runner's directory, where each pod's files are.
func (e *Env) nodeDir() string { return filepath.Join(e.o.Dir, "node") }

// waitNode waits until the pod runner has registered a Ready node, and
// fails at once with its error if it stops first.
func (e *Env) waitNode(ctx context.Context) error {
	return waitFor(ctx, time.Minute, "the pod runner to register node "+NodeName, func(ctx context.Context) (bool, string, error) {
		if err := e.runnerFailed(); err != nil {
			return false, "", err
		}
		n, err := e.client.CoreV1().Nodes().Get(ctx, NodeName, metav1.GetOptions{})
		if err != nil {
			return false, err.Error(), nil
		}
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
				return true, "", nil
			}
		}
		return false, "node not Ready", nil
	})
}

// runnerFailed returns an error when the pod runner has stopped.
func (e *Env) runnerFailed() error {
	select {
	case <-e.runnerEnded:
		return fmt.Errorf("the pod runner stopped: %v (log: %s)", e.runnerErr, filepath.Join(e.o.Dir, "logs", "demo.log"))
	default:
		return nil
	}
}

// stop stops every pod (with its grace period), then the control plane.
func (e *Env) stop() error {
	var errs []error
	if e.stopRunner != nil {
		say(e.out, "Stopping the pods")
		e.stopRunner()
		select {
		case <-e.runnerEnded:
			errs = append(errs, e.runnerErr)
		case <-time.After(45 * time.Second):
			errs = append(errs, errors.New("pod runner: still stopping after 45s"))
		}
	}
	if e.stack != nil {
		say(e.out, "Stopping the control plane")
		errs = append(errs, e.stack.Stop())
	}
	_ = e.log.Sync()
	return errors.Join(errs...)
}

// fileLogger writes JSON logs to path.
func fileLogger(path string) (*zap.Logger, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	cfg := zap.NewProductionConfig()
	cfg.OutputPaths, cfg.ErrorOutputPaths = []string{path}, []string{path}
	cfg.Sampling = nil
	return cfg.Build()
}

// say prints one narration line.
func say(w io.Writer, format string, args ...any) {
	fmt.Fprintf(w, "  ▸ "+format+"\n", args...)
}
