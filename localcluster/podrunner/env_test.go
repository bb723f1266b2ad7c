package podrunner

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestExpand follows the kubelet's expansion cases.
func TestExpand(t *testing.T) {
	vars := map[string]string{"VAR_A": "A", "VAR_B": "B", "VAR_EMPTY": "", "POD_IP": "10.244.0.10"}
	lookup := func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
	for in, want := range map[string]string{
		"$(VAR_A)":                      "A",
		"___$(VAR_A)___":                "___A___",
		"$(VAR_A)-$(VAR_B)":             "A-B",
		"$(VAR_EMPTY)x":                 "x",
		"$(UNKNOWN)":                    "$(UNKNOWN)",
		"$$(VAR_A)":                     "$(VAR_A)",
		"$$$(VAR_A)":                    "$A",
		"$$$$(VAR_A)":                   "$$(VAR_A)",
		"$(VAR_A":                       "$(VAR_A",
		"$VAR_A":                        "$VAR_A",
		"$":                             "$",
		"a$":                            "a$",
		"$()":                           "$()",
		"--admin-addr=$(POD_IP):9901":   "--admin-addr=10.244.0.10:9901",
		"no references":                 "no references",
		"$(VAR_A)$(VAR_B)$(VAR_EMPTY)$": "AB$",
	} {
		if got := expand(in, lookup); got != want {
			t.Errorf("expand(%q) = %q, want %q", in, got, want)
		}
	}
}

func envPod() *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "greet-1", Namespace: "greet", UID: "uid-1",
			Labels: map[string]string{"app": "greet"}, Annotations: map[string]string{"roundabout.dev/strategy": "p2c"}},
		Spec: corev1.PodSpec{NodeName: "roundabout-node", ServiceAccountName: "greet"},
		Status: corev1.PodStatus{PodIP: "10.244.0.10", PodIPs: []corev1.PodIP{{IP: "10.244.0.10"}},
			HostIP: "10.244.0.1", HostIPs: []corev1.HostIP{{IP: "10.244.0.1"}}},
	}
}

func fieldRef(name, path string) corev1.EnvVar {
	return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: path}}}
}

func TestContainerEnv(t *testing.T) {
	c := &corev1.Container{Name: "agent", Env: []corev1.EnvVar{
		fieldRef("POD_NAME", "metadata.name"),
		fieldRef("POD_NAMESPACE", "metadata.namespace"),
		fieldRef("POD_UID", "metadata.uid"),
		fieldRef("APP", "metadata.labels['app']"),
		fieldRef("STRATEGY", "metadata.annotations['roundabout.dev/strategy']"),
		fieldRef("NODE", "spec.nodeName"),
		fieldRef("SA", "spec.serviceAccountName"),
		fieldRef("POD_IP", "status.podIP"),
		fieldRef("POD_IPS", "status.podIPs"),
		fieldRef("HOST_IP", "status.hostIP"),
		fieldRef("HOST_IPS", "status.hostIPs"),
		{Name: "ADMIN", Value: "$(POD_IP):9901"},
		{Name: "API", Value: "https://$(KUBERNETES_SERVICE_HOST):443"},
		{Name: "LATER", Value: "$(DEFINED_LATER)"},
		{Name: "DEFINED_LATER", Value: "x"},
		{Name: "KUBERNETES_SERVICE_PORT", Value: "8443"},
	}}
	got, err := ContainerEnv(envPod(), c, []string{"KUBERNETES_SERVICE_HOST=10.0.0.1", "KUBERNETES_SERVICE_PORT=443"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"KUBERNETES_SERVICE_HOST=10.0.0.1", "KUBERNETES_SERVICE_PORT=8443",
		"POD_NAME=greet-1", "POD_NAMESPACE=greet", "POD_UID=uid-1", "APP=greet", "STRATEGY=p2c",
		"NODE=roundabout-node", "SA=greet", "POD_IP=10.244.0.10", "POD_IPS=10.244.0.10",
		"HOST_IP=10.244.0.1", "HOST_IPS=10.244.0.1", "ADMIN=10.244.0.10:9901", "API=https://10.0.0.1:443",
		"LATER=$(DEFINED_LATER)", "DEFINED_LATER=x",
	}
	if !slices.Equal(got, want) {
		t.Errorf("ContainerEnv =\n%q\nwant\n%q", got, want)
	}
}

func TestContainerEnvErrorsNameTheField(t *testing.T) {
	for want, c := range map[string]corev1.Container{
		`container "c": env[1] (B): valueFrom: configMapKeyRef`: {Name: "c", Env: []corev1.EnvVar{{Name: "A", Value: "1"},
			{Name: "B", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{Key: "k"}}}}},
		`container "c": env[0] (S): valueFrom: secretKeyRef`: {Name: "c", Env: []corev1.EnvVar{
			{Name: "S", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{Key: "k"}}}}},
		`container "c": env[0] (R): valueFrom: resourceFieldRef`: {Name: "c", Env: []corev1.EnvVar{
			{Name: "R", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.cpu"}}}}},
		`container "c": env[0] (F): valueFrom.fieldRef.fieldPath: field path "spec.hostname"`: {Name: "c", Env: []corev1.EnvVar{
			fieldRef("F", "spec.hostname")}},
		`container "c": envFrom`: {Name: "c", EnvFrom: []corev1.EnvFromSource{{Prefix: "X_"}}},
	} {
		_, err := ContainerEnv(envPod(), &c, nil)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ContainerEnv error = %v, want it to contain %q", err, want)
		}
	}
}

func TestExpandArgs(t *testing.T) {
	env := []string{"POD_IP=10.244.0.10", "EMPTY=", "WITH_EQ=a=b"}
	args := []string{"--admin-addr=$(POD_IP):9901", "--x=$(EMPTY)", "$(WITH_EQ)", "$(NOPE)", "$$(POD_IP)"}
	want := []string{"--admin-addr=10.244.0.10:9901", "--x=", "a=b", "$(NOPE)", "$(POD_IP)"}
	if got := ExpandArgs(args, env); !slices.Equal(got, want) {
		t.Errorf("ExpandArgs = %q, want %q", got, want)
	}
	if got := ExpandArgs(nil, env); len(got) != 0 {
		t.Errorf("ExpandArgs(nil) = %q, want none", got)
	}
}
