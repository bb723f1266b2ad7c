package inject

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

// The agent's own service-account credentials, for pods that turn the
// automatic ones off.
const (
	// TokenVolumeName is the projected volume of the agent's token, CA
	// and namespace.
	TokenVolumeName = "roundabout-token"
	// ServiceAccountDir is where client libraries, the agent's included,
	// look for in-cluster credentials.
	ServiceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount"
	// tokenExpirationSeconds is the lifetime the kubelet's own
	// kube-api-access volume asks for; the kubelet refreshes the token
	// well before it expires.
	tokenExpirationSeconds = 3607
	// rootCAConfigMap is published in every namespace by the controller
	// manager, with the cluster's CA in ca.crt.
	rootCAConfigMap = "kube-root-ca.crt"
)

// needsOwnToken reports whether the pod turns the service-account token
// off with spec.automountServiceAccountToken: false. The agent then gets a
// token of its own, since it reads EndpointSlices from the API server.
//
// Only the pod's field is seen: a ServiceAccount that sets
// automountServiceAccountToken: false, on a pod that leaves the field
// unset, leaves the agent without a token. Set the field on the pod too.
func needsOwnToken(pod *corev1.Pod) bool {
	return pod.Spec.AutomountServiceAccountToken != nil && !*pod.Spec.AutomountServiceAccountToken
}

// tokenVolume is the volume the kubelet would add for an automounted
// token: a bound service-account token, the cluster's CA and the pod's
// namespace, projected into one directory.
func tokenVolume() corev1.Volume {
	return corev1.Volume{
		Name: TokenVolumeName,
		VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
			DefaultMode: ptr.To[int32](0o644),
			Sources: []corev1.VolumeProjection{
				{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{
					ExpirationSeconds: ptr.To[int64](tokenExpirationSeconds), Path: "token",
				}},
				{ConfigMap: &corev1.ConfigMapProjection{
					LocalObjectReference: corev1.LocalObjectReference{Name: rootCAConfigMap},
					Items:                []corev1.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}},
				}},
				{DownwardAPI: &corev1.DownwardAPIProjection{
					Items: []corev1.DownwardAPIVolumeFile{{
						Path:     "namespace",
						FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.namespace"},
					}},
				}},
			},
		}},
	}
}

// tokenMount mounts the token volume into the agent alone, read-only,
// where in-cluster clients look for it.
func tokenMount() corev1.VolumeMount {
	return corev1.VolumeMount{Name: TokenVolumeName, MountPath: ServiceAccountDir, ReadOnly: true}
}
