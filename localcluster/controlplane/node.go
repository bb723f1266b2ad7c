package controlplane

import (
	"context"
	"fmt"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// registerNode creates Node o.NodeName with InternalIP o.NodeIP and no
// conditions. kube-proxy needs it at start: it waits 30 s for the node's
// addresses before it serves, and exits when they change later. Whoever
// runs pods updates the Node (Ready, capacity) and must keep the address.
func (s *Stack) registerNode(ctx context.Context, o StackOptions) error {
	client, err := kubernetes.NewForConfig(s.Config)
	if err != nil {
		return err
	}
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: o.NodeName,
		Labels: map[string]string{corev1.LabelHostname: o.NodeName, corev1.LabelOSStable: "linux"}}}
	node, err = client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("node %s: create: %w", o.NodeName, err)
	}
	node.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: o.NodeIP}}
	if _, err := client.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("node %s: set InternalIP %s: %w", o.NodeName, o.NodeIP, err)
	}
	s.log.Info("node registered", zap.String("node", o.NodeName), zap.String("ip", o.NodeIP))
	return nil
}
