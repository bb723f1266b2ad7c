package podrunner

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestFormatMapIsTheKubeletFormat(t *testing.T) {
	got := formatMap(map[string]string{
		"roundabout.dev/strategy": "p2c",
		"a":                       `say "hi"`,
		"multi":                   "line1\nline2\ttab",
		"empty":                   "",
	})
	want := `a="say \"hi\""` + "\n" + `empty=""` + "\n" + `multi="line1\nline2\ttab"` + "\n" + `roundabout.dev/strategy="p2c"`
	if got != want {
		t.Errorf("formatMap =\n%s\nwant\n%s", got, want)
	}
	if got := formatMap(nil); got != "" {
		t.Errorf("formatMap(nil) = %q, want empty", got)
	}
}

func TestVolumeFieldValue(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "u-1",
		Labels: map[string]string{"app": "greet"}, Annotations: map[string]string{"k": "v"}}}
	for path, want := range map[string]string{
		"metadata.name": "p", "metadata.namespace": "ns", "metadata.uid": "u-1",
		"metadata.labels": `app="greet"`, "metadata.annotations": `k="v"`,
		"metadata.labels['app']": "greet", "metadata.annotations['k']": "v", "metadata.annotations['none']": "",
	} {
		if got, err := volumeFieldValue(pod, path); err != nil || got != want {
			t.Errorf("volumeFieldValue(%s) = %q, %v; want %q", path, got, err, want)
		}
	}
	for _, path := range []string{"spec.nodeName", "metadata.name['x']", "metadata.generation"} {
		if _, err := volumeFieldValue(pod, path); err == nil {
			t.Errorf("volumeFieldValue(%s) succeeded, want an error", path)
		}
	}
}
