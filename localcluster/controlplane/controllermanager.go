package controlplane

import (
	"context"
	"path/filepath"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// controllers are the kube-controller-manager controllers pods need when
// no kubelet and no scheduler run: Deployments become ReplicaSets and Pods,
// Services get EndpointSlices, namespaces get their default ServiceAccount
// and the kube-root-ca.crt ConfigMap, and owned objects are collected.
var controllers = []string{
	"deployment-controller",
	"replicaset-controller",
	"endpointslice-controller",
	"serviceaccount-controller",
	"root-ca-certificate-publisher-controller",
	"garbage-collector-controller",
	"namespace-controller",
}

// startControllerManager runs kube-controller-manager with the admin
// kubeconfig and waits for the default ServiceAccount of namespace
// default: with no secure port, that is its first visible work.
func (s *Stack) startControllerManager(ctx context.Context, o StackOptions) error {
	args := []string{
		"--kubeconfig=" + s.Kubeconfig,
		"--controllers=" + strings.Join(controllers, ","),
		"--leader-elect=false",
		"--secure-port=0",
		"--use-service-account-credentials=false",
		"--root-ca-file=" + s.CAFile,
	}
	client, err := kubernetes.NewForConfig(s.Config)
	if err != nil {
		return err
	}
	ready := func(ctx context.Context) error {
		_, err := client.CoreV1().ServiceAccounts(metav1.NamespaceDefault).Get(ctx, "default", metav1.GetOptions{})
		return err
	}
	return s.runProcess(ctx, "kube-controller-manager", filepath.Join(o.Assets, "kube-controller-manager"), args,
		"no port (--secure-port=0)", ready)
}
