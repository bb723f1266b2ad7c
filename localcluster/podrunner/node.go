package podrunner

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
)

// heartbeatPeriod is how often the Node's Ready condition is renewed.
const heartbeatPeriod = 15 * time.Second

// apiTimeout bounds each call to the API server.
const apiTimeout = 10 * time.Second

// logPort returns the port of a host:port address.
func logPort(addr string) (int32, error) {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, fmt.Errorf("%q is not host:port: %w", addr, err)
	}
	n, err := strconv.ParseUint(p, 10, 16)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("%q has no valid port", addr)
	}
	return int32(n), nil
}

// registerNode creates the Node, or updates the one left by an earlier run,
// and sets its status.
func (r *runner) registerNode(ctx context.Context) error {
	version := "v0.0.0"
	if v, err := r.cfg.Client.Discovery().ServerVersion(); err == nil && v.GitVersion != "" {
		version = v.GitVersion
	}
	want := nodeObject(r.cfg, version, time.Now())
	nodes := r.cfg.Client.CoreV1().Nodes()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := nodes.Get(ctx, want.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			cur, err = nodes.Create(ctx, want, metav1.CreateOptions{})
		} else if err == nil {
			mergeNodeMeta(cur, want)
			cur, err = nodes.Update(ctx, cur, metav1.UpdateOptions{})
		}
		if err != nil {
			return err
		}
		cur.Status = want.Status
		_, err = nodes.UpdateStatus(ctx, cur, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return fmt.Errorf("podrunner: registering node %s: %w", want.Name, err)
	}
	r.log.Info("node registered", zap.String("node", want.Name), zap.String("ip", r.cfg.NodeIP),
		zap.String("kubelet_version", version))
	return nil
}

// mergeNodeMeta adds want's labels to cur, keeping labels others set.
func mergeNodeMeta(cur, want *corev1.Node) {
	if cur.Labels == nil {
		cur.Labels = map[string]string{}
	}
	for k, v := range want.Labels {
		cur.Labels[k] = v
	}
}

// nodeObject is the Node that cfg describes, Ready as of now.
func nodeObject(cfg Config, version string, now time.Time) *corev1.Node {
	port, _ := logPort(cfg.LogAddr)
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("2"),
		corev1.ResourceMemory: resource.MustParse("4Gi"),
		corev1.ResourcePods:   resource.MustParse("110"),
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: cfg.NodeName, Labels: map[string]string{
			corev1.LabelHostname: cfg.NodeName,
			corev1.LabelOSStable: "linux",
		}},
		Status: corev1.NodeStatus{
			Capacity:    capacity,
			Allocatable: capacity.DeepCopy(),
			// No Hostname address: kube-apiserver prefers it to reach the
			// kubelet (for logs), and the node name resolves nowhere here.
			Addresses:       []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: cfg.NodeIP}},
			DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: port}},
			Conditions:      []corev1.NodeCondition{readyCondition(now, now)},
			NodeInfo: corev1.NodeSystemInfo{KubeletVersion: version, OperatingSystem: "linux",
				Architecture: "amd64", ContainerRuntimeVersion: "roundabout://0.1.0"},
		},
	}
}

func readyCondition(heartbeat, transition time.Time) corev1.NodeCondition {
	return corev1.NodeCondition{
		Type: corev1.NodeReady, Status: corev1.ConditionTrue,
		Reason: "KubeletReady", Message: "kubelet is posting ready status",
		LastHeartbeatTime: metav1.NewTime(heartbeat), LastTransitionTime: metav1.NewTime(transition),
	}
}

// heartbeat renews the Node's Ready condition every heartbeatPeriod until
// ctx is done.
func (r *runner) heartbeat(ctx context.Context) {
	t := time.NewTicker(heartbeatPeriod)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := r.renewReady(ctx); err != nil && ctx.Err() == nil {
			r.log.Warn("node heartbeat failed", zap.String("node", r.cfg.NodeName), zap.Error(err))
		}
	}
}

// renewReady sets the Ready condition's heartbeat time to now.
func (r *runner) renewReady(ctx context.Context) error {
	nodes := r.cfg.Client.CoreV1().Nodes()
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cctx, cancel := context.WithTimeout(ctx, apiTimeout)
		defer cancel()
		node, err := nodes.Get(cctx, r.cfg.NodeName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		setReady(&node.Status, time.Now())
		_, err = nodes.UpdateStatus(cctx, node, metav1.UpdateOptions{})
		return err
	})
}

// setReady renews the Ready condition of s, adding it when missing and
// keeping its transition time when it already was True.
func setReady(s *corev1.NodeStatus, now time.Time) {
	for i, c := range s.Conditions {
		if c.Type != corev1.NodeReady {
			continue
		}
		transition := now
		if c.Status == corev1.ConditionTrue {
			transition = c.LastTransitionTime.Time
		}
		s.Conditions[i] = readyCondition(now, transition)
		return
	}
	s.Conditions = append(s.Conditions, readyCondition(now, now))
}
