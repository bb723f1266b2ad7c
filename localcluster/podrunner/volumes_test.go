package podrunner

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"
)

// fakeClient holds kube-root-ca.crt and a secret, and answers token
// requests with a token naming the pod it is bound to; requests are kept.
func fakeClient(requests *[]*authenticationv1.TokenRequest) *fake.Clientset {
	c := fake.NewClientset(
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "greet", Name: "kube-root-ca.crt"},
			Data: map[string]string{"ca.crt": "CA PEM"}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "greet", Name: "tls"},
			Data: map[string][]byte{"tls.crt": []byte("CERT"), "tls.key": []byte("KEY")}},
	)
	c.PrependReactor("create", "serviceaccounts", func(a k8stesting.Action) (bool, runtime.Object, error) {
		req := a.(k8stesting.CreateAction).GetObject().(*authenticationv1.TokenRequest)
		*requests = append(*requests, req)
		out := req.DeepCopy()
		out.Status.Token = "token-for-" + req.Spec.BoundObjectRef.Name
		return true, out, nil
	})
	return c
}

func volumesPod() *corev1.Pod {
	pod := goodPod()
	pod.UID = "uid-1"
	pod.Annotations = map[string]string{"roundabout.dev/strategy": "p2c"}
	pod.Spec.Volumes = append(pod.Spec.Volumes,
		corev1.Volume{Name: "tls", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
			SecretName: "tls", DefaultMode: ptr.To[int32](0o400),
			Items:    []corev1.KeyToPath{{Key: "tls.crt", Path: "cert/tls.crt"}, {Key: "missing", Path: "m"}},
			Optional: ptr.To(true)}}},
		corev1.Volume{Name: "absent", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: "absent"}, Optional: ptr.To(true)}}},
	)
	return pod
}

func TestPrepareVolumes(t *testing.T) {
	var requests []*authenticationv1.TokenRequest
	dir := t.TempDir()
	pod := volumesPod()
	v, err := PrepareVolumes(context.Background(), fakeClient(&requests), pod, dir)
	if err != nil {
		t.Fatal(err)
	}
	sa := v.HostPath("kube-api-access")
	for file, want := range map[string]string{
		filepath.Join(sa, "token"):                              "token-for-x",
		filepath.Join(sa, "ca.crt"):                             "CA PEM",
		filepath.Join(sa, "namespace"):                          "greet",
		filepath.Join(v.HostPath("annotations"), "annotations"): `roundabout.dev/strategy="p2c"`,
		filepath.Join(v.HostPath("tls"), "cert", "tls.crt"):     "CERT",
	} {
		if got := readFile(t, file); got != want {
			t.Errorf("%s = %q, want %q", file, got, want)
		}
	}
	if fi, err := os.Stat(filepath.Join(v.HostPath("tls"), "cert", "tls.crt")); err != nil || fi.Mode().Perm() != 0o400 {
		t.Errorf("secret file mode = %v (%v), want the volume's defaultMode 0400", fi.Mode(), err)
	}
	if fi, err := os.Stat(v.HostPath("scratch")); err != nil || !fi.IsDir() {
		t.Errorf("emptyDir: %v", err)
	}
	if got := v.HostPath("scratch"); got != filepath.Join(dir, "volumes", "scratch") {
		t.Errorf("HostPath(scratch) = %s, want it under %s/volumes", got, dir)
	}
	if len(requests) != 1 {
		t.Fatalf("%d token requests, want 1", len(requests))
	}
	ref, exp := requests[0].Spec.BoundObjectRef, requests[0].Spec.ExpirationSeconds
	if ref == nil || ref.Kind != "Pod" || ref.Name != "x" || ref.UID != "uid-1" || exp == nil || *exp != 3607 {
		t.Errorf("token request bound to %+v for %v s, want pod x uid-1 for 3607 s", ref, exp)
	}
}

func TestRefreshRewritesOnlyChangedDownwardVolumes(t *testing.T) {
	var requests []*authenticationv1.TokenRequest
	pod := volumesPod()
	v, err := PrepareVolumes(context.Background(), fakeClient(&requests), pod, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	annotations, sa := v.HostPath("annotations"), v.HostPath("kube-api-access")
	before := map[string]string{annotations: layout(t, annotations)[dataDir], sa: layout(t, sa)[dataDir]}
	pod.Annotations["roundabout.dev/strategy"] = "least-request"
	if err := v.Refresh(pod); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(annotations, "annotations")); got != `roundabout.dev/strategy="least-request"` {
		t.Errorf("annotations after Refresh = %q", got)
	}
	if layout(t, annotations)[dataDir] == before[annotations] {
		t.Error("the annotations volume was not swapped")
	}
	if layout(t, sa)[dataDir] != before[sa] {
		t.Error("the service account volume was rewritten though its content did not change")
	}
	if got := readFile(t, filepath.Join(sa, "token")); got != "token-for-x" || len(requests) != 1 {
		t.Errorf("token after Refresh = %q after %d requests, want the first token kept", got, len(requests))
	}
}

func TestPrepareVolumesErrorsNameTheVolume(t *testing.T) {
	var requests []*authenticationv1.TokenRequest
	for want, vol := range map[string]corev1.Volume{
		`pod greet/x: volume "cm": configMap "nope"`: {Name: "cm", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: "nope"}}}},
		`pod greet/x: volume "s": secret "tls": items[0].key: no key "nope"`: {Name: "s", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
			SecretName: "tls", Items: []corev1.KeyToPath{{Key: "nope", Path: "p"}}}}},
		`pod greet/x: volume "h": hostPath: not supported`: {Name: "h", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}}},
	} {
		pod := goodPod()
		pod.Spec.Volumes = []corev1.Volume{vol}
		_, err := PrepareVolumes(context.Background(), fakeClient(&requests), pod, t.TempDir())
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("PrepareVolumes error = %v, want it to contain %q", err, want)
		}
	}
}
