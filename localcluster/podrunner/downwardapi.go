package podrunner

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// volumeFieldValue is the content of a downward API volume file for
// fieldPath, formatted as the kubelet formats it.
func volumeFieldValue(pod *corev1.Pod, fieldPath string) (string, error) {
	switch fieldPath {
	case "metadata.annotations":
		return formatMap(pod.Annotations), nil
	case "metadata.labels":
		return formatMap(pod.Labels), nil
	}
	return metadataField(pod, fieldPath)
}

// metadataField resolves the metadata field paths both environment
// variables and volume files accept.
func metadataField(pod *corev1.Pod, fieldPath string) (string, error) {
	if path, key, ok := splitSubscript(fieldPath); ok {
		switch path {
		case "metadata.annotations":
			return pod.Annotations[key], nil
		case "metadata.labels":
			return pod.Labels[key], nil
		}
		return "", fmt.Errorf("field path %q does not support a subscript", fieldPath)
	}
	switch fieldPath {
	case "metadata.name":
		return pod.Name, nil
	case "metadata.namespace":
		return pod.Namespace, nil
	case "metadata.uid":
		return string(pod.UID), nil
	}
	return "", fmt.Errorf("field path %q is not supported (supported: metadata.name, metadata.namespace, "+
		"metadata.uid, metadata.labels, metadata.annotations)", fieldPath)
}

// splitSubscript splits "metadata.labels['key']" into "metadata.labels" and
// "key".
func splitSubscript(fieldPath string) (path, key string, ok bool) {
	path, rest, found := strings.Cut(fieldPath, "['")
	if !found || !strings.HasSuffix(rest, "']") {
		return fieldPath, "", false
	}
	return path, strings.TrimSuffix(rest, "']"), true
}

// formatMap writes m as the kubelet does: one key="value" line per entry,
// sorted by key, values quoted with Go escapes, no final newline.
func formatMap(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b []byte
	for _, k := range keys {
		if len(b) > 0 {
			b = append(b, '\n')
		}
		b = append(b, k...)
		b = append(b, '=')
		b = strconv.AppendQuote(b, m[k])
	}
	return string(b)
}
