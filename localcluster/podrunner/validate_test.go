package podrunner

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// goodPod is an injected greet-server pod as the API server stores it.
func goodPod() *corev1.Pod {
	agent := corev1.Container{Name: "roundabout-agent", Image: "ghcr.io/roundabout-dev/roundabout-agent:v0.1.0",
		Args:            []string{"--admin-addr=$(POD_IP):9901"},
		Env:             []corev1.EnvVar{fieldRef("POD_IP", "status.podIP")},
		RestartPolicy:   ptr.To(corev1.ContainerRestartPolicyAlways),
		VolumeMounts:    []corev1.VolumeMount{{Name: "annotations", MountPath: "/etc/roundabout", ReadOnly: true}},
		StartupProbe:    &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/readyz"}}},
		SecurityContext: &corev1.SecurityContext{RunAsNonRoot: ptr.To(true)},
	}
	server := corev1.Container{Name: "greet-server", Image: "ghcr.io/roundabout-dev/greet-server:v0.1.0",
		Ports:          []corev1.ContainerPort{{ContainerPort: 50051}},
		ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{GRPC: &corev1.GRPCAction{Port: 50051}}},
		Lifecycle:      &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: 1}}},
		VolumeMounts: []corev1.VolumeMount{{Name: "kube-api-access", ReadOnly: true,
			MountPath: "/var/run/secrets/kubernetes.io/serviceaccount"}},
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "greet", Name: "x"},
		Spec: corev1.PodSpec{
			InitContainers: []corev1.Container{agent},
			Containers:     []corev1.Container{server},
			Volumes: []corev1.Volume{
				{Name: "annotations", VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{
					Items: []corev1.DownwardAPIVolumeFile{{Path: "annotations", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.annotations"}}}}}},
				{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
				{Name: "kube-api-access", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
					{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: ptr.To[int64](3607)}},
					{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "kube-root-ca.crt"},
						Items: []corev1.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}}}},
					{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{
						{Path: "namespace", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}}}},
				}}}},
			},
		},
	}
}

func TestValidateAcceptsAnInjectedPod(t *testing.T) {
	if err := Validate(goodPod(), testImages(t, "greet-server", "roundabout-agent")); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

func TestValidateRefuses(t *testing.T) {
	im := testImages(t, "greet-server", "roundabout-agent")
	for _, tc := range []struct {
		field  string // what the message must say after "pod greet/x: "
		change func(*corev1.Pod)
	}{
		{"spec.hostNetwork: not supported", func(p *corev1.Pod) { p.Spec.HostNetwork = true }},
		{"spec.hostPID: not supported", func(p *corev1.Pod) { p.Spec.HostPID = true }},
		{"spec.hostIPC: not supported", func(p *corev1.Pod) { p.Spec.HostIPC = true }},
		{"spec.volumes[3].hostPath: not supported by the local pod runner (supported: emptyDir, configMap, secret, downwardAPI, projected)",
			func(p *corev1.Pod) {
				p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: "h",
					VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}}})
			}},
		{"spec.volumes[2].projected.sources[1].clusterTrustBundle: not supported", func(p *corev1.Pod) {
			p.Spec.Volumes[2].Projected.Sources[1] = corev1.VolumeProjection{ClusterTrustBundle: &corev1.ClusterTrustBundleProjection{Path: "b"}}
		}},
		{"spec.volumes[0].downwardAPI.items[0].resourceFieldRef: not supported", func(p *corev1.Pod) {
			p.Spec.Volumes[0].DownwardAPI.Items[0] = corev1.DownwardAPIVolumeFile{Path: "cpu",
				ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.cpu"}}
		}},
		{"spec.volumes[0].downwardAPI.items[0].fieldRef.fieldPath: field path \"spec.nodeName\" is not supported", func(p *corev1.Pod) {
			p.Spec.Volumes[0].DownwardAPI.Items[0].FieldRef.FieldPath = "spec.nodeName"
		}},
		{"spec.containers[0].volumeMounts[0].subPath: not supported", func(p *corev1.Pod) { p.Spec.Containers[0].VolumeMounts[0].SubPath = "token" }},
		{"spec.containers[0].volumeMounts[0].subPathExpr: not supported", func(p *corev1.Pod) {
			p.Spec.Containers[0].VolumeMounts[0].SubPathExpr = "$(POD_NAME)"
		}},
		{"spec.containers[0].command: not supported by the local pod runner (each image's binary is its entrypoint", func(p *corev1.Pod) {
			p.Spec.Containers[0].Command = []string{"/greet-server"}
		}},
		{"spec.initContainers[0].livenessProbe.exec: not supported", func(p *corev1.Pod) {
			p.Spec.InitContainers[0].LivenessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}}
		}},
		{"spec.containers[0].lifecycle.preStop.exec: not supported", func(p *corev1.Pod) {
			p.Spec.Containers[0].Lifecycle.PreStop = &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"sleep", "1"}}}
		}},
		{"spec.containers[0].lifecycle.preStop.httpGet: not supported", func(p *corev1.Pod) {
			p.Spec.Containers[0].Lifecycle.PreStop = &corev1.LifecycleHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/quit"}}
		}},
		{"spec.containers[0].lifecycle.postStart: not supported", func(p *corev1.Pod) {
			p.Spec.Containers[0].Lifecycle.PostStart = &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}
		}},
		{"spec.containers[0].lifecycle.postStart: not supported", func(p *corev1.Pod) {
			p.Spec.Containers[0].Lifecycle.PostStart = &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: 1}}
		}},
		{"spec.ephemeralContainers: not supported", func(p *corev1.Pod) {
			p.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debug"}}}
		}},
		{"spec.initContainers[0].env[0].valueFrom: resourceFieldRef: not supported", func(p *corev1.Pod) {
			p.Spec.InitContainers[0].Env[0].ValueFrom = &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.cpu"}}
		}},
		{"spec.containers[0].envFrom: not supported", func(p *corev1.Pod) {
			p.Spec.Containers[0].EnvFrom = []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{}}}
		}},
		{`spec.containers[0].image: no local binary for image "ghcr.io/x/unknown:v1"`, func(p *corev1.Pod) { p.Spec.Containers[0].Image = "ghcr.io/x/unknown:v1" }},
		{`spec.initContainers[0].image: no local binary for image "agent:v1"`, func(p *corev1.Pod) { p.Spec.InitContainers[0].Image = "agent:v1" }},
	} {
		pod := goodPod()
		tc.change(pod)
		err := Validate(pod, im)
		if want := "pod greet/x: " + tc.field; err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate = %v\nwant it to contain %q", err, want)
		}
	}
}

// TestValidateReportsEveryProblem checks that problems are not reported one
// at a time.
func TestValidateReportsEveryProblem(t *testing.T) {
	pod := goodPod()
	pod.Spec.HostNetwork = true
	pod.Spec.Containers[0].Command = []string{"x"}
	pod.Spec.Containers[0].Image = "nope"
	err := Validate(pod, testImages(t, "greet-server", "roundabout-agent"))
	if err == nil {
		t.Fatal("Validate succeeded")
	}
	if lines := strings.Split(err.Error(), "\n"); len(lines) != 3 {
		t.Errorf("Validate reported %d problems, want 3:\n%v", len(lines), err)
	}
}
