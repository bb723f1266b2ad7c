package podrunner

import (
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// ContainerEnv builds the environment of container c of pod as KEY=VALUE
// pairs: extra first (such as KUBERNETES_SERVICE_HOST), then c.Env in order.
// A value has $(VAR) references to the variables before it expanded, as the
// kubelet does: $$ is a literal $, and a reference to an unknown variable is
// left as it is. valueFrom supports fieldRef only; status.podIP is read from
// pod.Status, so the caller sets the pod's IP there first. A variable set
// twice keeps its first position and its last value.
func ContainerEnv(pod *corev1.Pod, c *corev1.Container, extra []string) ([]string, error) {
	if len(c.EnvFrom) > 0 {
		return nil, fmt.Errorf("container %q: envFrom: not supported by the local pod runner", c.Name)
	}
	env := newEnvList(extra)
	for i := range c.Env {
		value, err := envValue(pod, &c.Env[i], env.lookup)
		if err != nil {
			return nil, fmt.Errorf("container %q: env[%d] (%s): %w", c.Name, i, c.Env[i].Name, err)
		}
		env.set(c.Env[i].Name, value)
	}
	return env.pairs(), nil
}

// ExpandArgs expands $(VAR) references in args against env (KEY=VALUE
// pairs) the way the kubelet expands a container's args.
func ExpandArgs(args, env []string) []string {
	list := newEnvList(env)
	out := make([]string, len(args))
	for i, arg := range args {
		out[i] = expand(arg, list.lookup)
	}
	return out
}

func envValue(pod *corev1.Pod, v *corev1.EnvVar, lookup func(string) (string, bool)) (string, error) {
	if v.ValueFrom == nil {
		return expand(v.Value, lookup), nil
	}
	if err := envSourceSupported(v); err != nil {
		return "", fmt.Errorf("valueFrom: %w", err)
	}
	value, err := envFieldValue(pod, v.ValueFrom.FieldRef.FieldPath)
	if err != nil {
		return "", fmt.Errorf("valueFrom.fieldRef.fieldPath: %w", err)
	}
	return value, nil
}

// envSourceSupported reports why v's valueFrom cannot be resolved here.
func envSourceSupported(v *corev1.EnvVar) error {
	from := v.ValueFrom
	switch {
	case from == nil || from.FieldRef != nil:
		return nil
	case from.ConfigMapKeyRef != nil:
		return errors.New("configMapKeyRef: not supported by the local pod runner (use value or fieldRef)")
	case from.SecretKeyRef != nil:
		return errors.New("secretKeyRef: not supported by the local pod runner (use value or fieldRef)")
	case from.ResourceFieldRef != nil:
		return errors.New("resourceFieldRef: not supported by the local pod runner (resources are not enforced)")
	}
	return fmt.Errorf("%s: not supported by the local pod runner (use value or fieldRef)", setField(from, "source"))
}

// envFieldValue resolves a fieldRef of an environment variable.
func envFieldValue(pod *corev1.Pod, fieldPath string) (string, error) {
	switch fieldPath {
	case "spec.nodeName":
		return pod.Spec.NodeName, nil
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, nil
	case "status.podIP":
		return pod.Status.PodIP, nil
	case "status.podIPs":
		return joinIPs(pod.Status.PodIPs, pod.Status.PodIP), nil
	case "status.hostIP":
		return pod.Status.HostIP, nil
	case "status.hostIPs":
		return joinIPs(pod.Status.HostIPs, pod.Status.HostIP), nil
	}
	return metadataField(pod, fieldPath)
}

// joinIPs joins the addresses of status.podIPs or status.hostIPs with
// commas, or returns first when the list is empty.
func joinIPs[T corev1.PodIP | corev1.HostIP](ips []T, first string) string {
	if len(ips) == 0 {
		return first
	}
	s := make([]string, len(ips))
	for i, ip := range ips {
		s[i] = corev1.PodIP(ip).IP
	}
	return strings.Join(s, ",")
}

// envList is an ordered environment in which a name set again keeps its
// position and takes the new value.
type envList struct {
	names  []string
	values map[string]string
}

func newEnvList(pairs []string) *envList {
	l := &envList{values: make(map[string]string, len(pairs))}
	for _, p := range pairs {
		name, value, _ := strings.Cut(p, "=")
		l.set(name, value)
	}
	return l
}

func (l *envList) set(name, value string) {
	if _, ok := l.values[name]; !ok {
		l.names = append(l.names, name)
	}
	l.values[name] = value
}

func (l *envList) lookup(name string) (string, bool) {
	v, ok := l.values[name]
	return v, ok
}

func (l *envList) pairs() []string {
	out := make([]string, len(l.names))
	for i, n := range l.names {
		out[i] = n + "=" + l.values[n]
	}
	return out
}

// expand replaces $(NAME) in s by the value lookup gives, as the kubelet
// does: "$$" is a literal "$", a reference to an unknown name or one with no
// closing parenthesis is kept as written, and a "$" before anything else is
// kept.
func expand(s string, lookup func(string) (string, bool)) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch next := s[i+1]; {
		case next == '$':
			b.WriteByte('$')
			i++
		case next == '(' && strings.IndexByte(s[i+2:], ')') >= 0:
			end := i + 2 + strings.IndexByte(s[i+2:], ')')
			name := s[i+2 : end]
			if v, ok := lookup(name); ok {
				b.WriteString(v)
			} else {
				b.WriteString("$(" + name + ")")
			}
			i = end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}
