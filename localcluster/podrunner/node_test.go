package podrunner

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func testRunner(t *testing.T) *runner {
	t.Helper()
	client := fake.NewClientset()
	cfg := Config{Client: client, NodeName: "node-a", NodeIP: "10.244.0.1", LogAddr: "10.244.0.1:10250",
		Log: zaptest.NewLogger(t)}
	return &runner{cfg: cfg, log: cfg.Log}
}

func TestRegisterNodeCreatesAReadyNode(t *testing.T) {
	r := testRunner(t)
	ctx := context.Background()
	if err := r.registerNode(ctx); err != nil {
		t.Fatal(err)
	}
	node, err := r.cfg.Client.CoreV1().Nodes().Get(ctx, "node-a", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if node.Labels[corev1.LabelHostname] != "node-a" || node.Labels[corev1.LabelOSStable] != "linux" {
		t.Errorf("labels = %v", node.Labels)
	}
	if a := node.Status.Addresses; len(a) != 1 || a[0].Type != corev1.NodeInternalIP || a[0].Address != "10.244.0.1" {
		t.Errorf("addresses = %v, want InternalIP 10.244.0.1", a)
	}
	if p := node.Status.DaemonEndpoints.KubeletEndpoint.Port; p != 10250 {
		t.Errorf("kubelet port = %d, want 10250", p)
	}
	if !nodeReady(node) {
		t.Errorf("conditions = %v, want Ready", node.Status.Conditions)
	}
	if q := node.Status.Allocatable[corev1.ResourcePods]; q.Value() != 110 {
		t.Errorf("allocatable pods = %s, want 110", q.String())
	}
}

func TestRegisterNodeUpdatesAnExistingNode(t *testing.T) {
	r := testRunner(t)
	ctx := context.Background()
	old := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-a", Labels: map[string]string{"team": "x"}}}
	if _, err := r.cfg.Client.CoreV1().Nodes().Create(ctx, old, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := r.registerNode(ctx); err != nil {
		t.Fatal(err)
	}
	node, _ := r.cfg.Client.CoreV1().Nodes().Get(ctx, "node-a", metav1.GetOptions{})
	if node.Labels["team"] != "x" || node.Labels[corev1.LabelHostname] != "node-a" || !nodeReady(node) {
		t.Fatalf("node = %+v, want the old label kept, ours added and Ready", node)
	}
}

func TestSetReadyKeepsTheTransitionTime(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := corev1.NodeStatus{Conditions: []corev1.NodeCondition{readyCondition(t0, t0)}}
	later := t0.Add(time.Minute)
	setReady(&s, later)
	c := s.Conditions[0]
	if !c.LastHeartbeatTime.Time.Equal(later) || !c.LastTransitionTime.Time.Equal(t0) {
		t.Fatalf("heartbeat %v transition %v, want %v and %v", c.LastHeartbeatTime, c.LastTransitionTime, later, t0)
	}
}

func TestConfigCheckNamesTheField(t *testing.T) {
	good := Config{Client: fake.NewClientset(), NodeName: "n", NodeIP: "10.244.0.1", Dir: "/tmp", DNSIP: "10.0.0.10",
		ClusterDomain: "cluster.local", LogAddr: "10.244.0.1:10250"}
	if err := good.check(); err != nil {
		t.Fatal(err)
	}
	bad := good
	bad.LogAddr = "10.244.0.1"
	if err := bad.check(); err == nil || !strings.Contains(err.Error(), "Config.LogAddr") {
		t.Fatalf("check() = %v, want an error naming Config.LogAddr", err)
	}
	bad = good
	bad.NodeIP = "node"
	if err := bad.check(); err == nil || !strings.Contains(err.Error(), "Config.NodeIP") {
		t.Fatalf("check() = %v, want an error naming Config.NodeIP", err)
	}
}
