package podrunner

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// supportedVolumes lists, for messages, the volume kinds the pod runner writes.
const supportedVolumes = "supported: emptyDir, configMap, secret, downwardAPI, projected"

// supportedSources lists, for messages, the projected sources it writes.
const supportedSources = "supported: serviceAccountToken, configMap, secret, downwardAPI"

// Validate reports every feature of pod the pod runner cannot honour, and
// every image with no local binary, as one joined error. Each message names
// the pod and the field path, for example
//
//	pod greet/x: spec.volumes[2].hostPath: not supported by the local pod runner (supported: ...)
//
// Fields the pod runner ignores (securityContext, resources, ports,
// topologySpreadConstraints) are not reported; see the package documentation.
func Validate(pod *corev1.Pod, im Images) error {
	v := validator{pod: pod, images: im}
	v.podSpec(&pod.Spec)
	return errors.Join(v.errs...)
}

// validator collects the problems of one pod.
type validator struct {
	pod    *corev1.Pod
	images Images
	errs   []error
}

func (v *validator) addf(field, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	v.errs = append(v.errs, fmt.Errorf("pod %s/%s: %s: %s", v.pod.Namespace, v.pod.Name, field, msg))
}

func (v *validator) unsupported(field, why string) {
	v.addf(field, "not supported by the local pod runner%s", why)
}

func (v *validator) podSpec(spec *corev1.PodSpec) {
	host := map[string]bool{"hostNetwork": spec.HostNetwork, "hostPID": spec.HostPID, "hostIPC": spec.HostIPC}
	for _, field := range []string{"hostNetwork", "hostPID", "hostIPC"} {
		if host[field] {
			v.unsupported("spec."+field, " (every pod has namespaces of its own)")
		}
	}
	for i := range spec.Volumes {
		v.volume(fmt.Sprintf("spec.volumes[%d]", i), &spec.Volumes[i])
	}
	for i := range spec.InitContainers {
		v.container(fmt.Sprintf("spec.initContainers[%d]", i), &spec.InitContainers[i])
	}
	for i := range spec.Containers {
		v.container(fmt.Sprintf("spec.containers[%d]", i), &spec.Containers[i])
	}
	if len(spec.EphemeralContainers) > 0 {
		v.unsupported("spec.ephemeralContainers", "")
	}
}

func (v *validator) volume(field string, vol *corev1.Volume) {
	src := &vol.VolumeSource
	switch {
	case src.EmptyDir != nil, src.ConfigMap != nil, src.Secret != nil:
	case src.DownwardAPI != nil:
		v.downwardFiles(field+".downwardAPI", src.DownwardAPI.Items)
	case src.Projected != nil:
		for i := range src.Projected.Sources {
			v.projection(fmt.Sprintf("%s.projected.sources[%d]", field, i), &src.Projected.Sources[i])
		}
	default:
		v.unsupported(field+"."+setField(src, "volume source"), " ("+supportedVolumes+")")
	}
}

func (v *validator) projection(field string, p *corev1.VolumeProjection) {
	switch {
	case p.ServiceAccountToken != nil, p.ConfigMap != nil, p.Secret != nil:
	case p.DownwardAPI != nil:
		v.downwardFiles(field+".downwardAPI", p.DownwardAPI.Items)
	default:
		v.unsupported(field+"."+setField(p, "source"), " ("+supportedSources+")")
	}
}

func (v *validator) downwardFiles(field string, items []corev1.DownwardAPIVolumeFile) {
	for i, item := range items {
		f := fmt.Sprintf("%s.items[%d]", field, i)
		switch {
		case item.ResourceFieldRef != nil:
			v.unsupported(f+".resourceFieldRef", " (resources are not enforced)")
		case item.FieldRef == nil:
			v.addf(f, "neither fieldRef nor resourceFieldRef is set")
		default:
			if _, err := volumeFieldValue(v.pod, item.FieldRef.FieldPath); err != nil {
				v.addf(f+".fieldRef.fieldPath", "%v", err)
			}
		}
	}
}

func (v *validator) container(field string, c *corev1.Container) {
	if _, err := v.images.Resolve(c.Image); err != nil {
		v.addf(field+".image", "%v", err)
	}
	if len(c.Command) > 0 {
		v.unsupported(field+".command", " (each image's binary is its entrypoint; pass args instead)")
	}
	for i, m := range c.VolumeMounts {
		if m.SubPath != "" {
			v.unsupported(fmt.Sprintf("%s.volumeMounts[%d].subPath", field, i), "")
		}
		if m.SubPathExpr != "" {
			v.unsupported(fmt.Sprintf("%s.volumeMounts[%d].subPathExpr", field, i), "")
		}
	}
	v.env(field, c)
	v.probe(field+".startupProbe", c.StartupProbe)
	v.probe(field+".readinessProbe", c.ReadinessProbe)
	v.probe(field+".livenessProbe", c.LivenessProbe)
	if c.Lifecycle != nil {
		if c.Lifecycle.PostStart != nil {
			v.unsupported(field+".lifecycle.postStart", " (only a preStop sleep hook is)")
		}
		v.hook(field+".lifecycle.preStop", c.Lifecycle.PreStop)
	}
}

func (v *validator) env(field string, c *corev1.Container) {
	if len(c.EnvFrom) > 0 {
		v.unsupported(field+".envFrom", " (use env with value or fieldRef)")
	}
	for i := range c.Env {
		if err := envSourceSupported(&c.Env[i]); err != nil {
			v.addf(fmt.Sprintf("%s.env[%d].valueFrom", field, i), "%v", err)
		}
	}
}

func (v *validator) probe(field string, p *corev1.Probe) {
	if p != nil && p.Exec != nil {
		v.unsupported(field+".exec", " (use httpGet, grpc or tcpSocket)")
	}
}

func (v *validator) hook(field string, h *corev1.LifecycleHandler) {
	switch {
	case h == nil:
	case h.Exec != nil:
		v.unsupported(field+".exec", " (only a preStop sleep hook is)")
	case h.HTTPGet != nil:
		v.unsupported(field+".httpGet", " (only a preStop sleep hook is)")
	case h.TCPSocket != nil:
		v.unsupported(field+".tcpSocket", " (only a preStop sleep hook is)")
	}
}

// setField is the JSON name of the first non-nil pointer field of the struct
// *src points to, or fallback when none is set.
func setField(src any, fallback string) string {
	val := reflect.ValueOf(src).Elem()
	for i := range val.NumField() {
		if f := val.Field(i); f.Kind() == reflect.Pointer && !f.IsNil() {
			name, _, _ := strings.Cut(val.Type().Field(i).Tag.Get("json"), ",")
			return name
		}
	}
	return fallback
}
