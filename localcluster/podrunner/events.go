package podrunner

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/record"
)

// Event reasons, as the kubelet and the scheduler spell them.
const (
	reasonScheduled       = "Scheduled"
	reasonPulled          = "Pulled"
	reasonCreated         = "Created"
	reasonStarted         = "Started"
	reasonKilling         = "Killing"
	reasonUnhealthy       = "Unhealthy"
	reasonFailed          = "Failed"
	reasonBackOff         = "BackOff"
	reasonFailedSandbox   = "FailedCreatePodSandBox"
	reasonFailedMount     = "FailedMount"
	eventComponentKubelet = "kubelet"
)

// newRecorder returns an event recorder that writes Events of the kubelet
// on node through c, and the function that flushes and stops it.
func newRecorder(c kubernetes.Interface, node string) (record.EventRecorder, func()) {
	b := record.NewBroadcaster()
	b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: c.CoreV1().Events("")})
	rec := b.NewRecorder(scheme.Scheme, corev1.EventSource{Component: eventComponentKubelet, Host: node})
	return rec, b.Shutdown
}
