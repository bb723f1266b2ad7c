package podrunner

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"sync"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Volumes holds the volumes of one pod, written on the node under
// <dir>/volumes/<name>, ready to be bind-mounted into the pod.
type Volumes struct {
	paths map[string]string

	mu sync.Mutex
	// projected are the volumes written as a whole (every kind but
	// emptyDir), by name; Refresh rewrites those with downward API files.
	projected map[string]*projectedVolume
}

// projectedVolume is a volume written as a whole by an atomicWriter: the
// files fetched once (config maps, secrets, tokens) and the downward API
// files, computed again from the pod on each refresh.
type projectedVolume struct {
	writer   atomicWriter
	fixed    map[string]fileProjection
	downward []downwardFile
}

// downwardFile is one downward API file of a volume.
type downwardFile struct {
	path      string
	fieldPath string
	mode      os.FileMode
}

// PrepareVolumes writes every volume of pod under dir/volumes: emptyDir
// volumes as empty directories; configMap, secret, downwardAPI and projected
// volumes in the kubelet's layout, with config maps and secrets read and
// service account tokens requested through c. A missing config map, secret
// or key is an error unless the source is optional.
func PrepareVolumes(ctx context.Context, c kubernetes.Interface, pod *corev1.Pod, dir string) (*Volumes, error) {
	v := &Volumes{paths: map[string]string{}, projected: map[string]*projectedVolume{}}
	for i := range pod.Spec.Volumes {
		vol := &pod.Spec.Volumes[i]
		path := filepath.Join(dir, "volumes", vol.Name)
		v.paths[vol.Name] = path
		if err := v.prepare(ctx, c, pod, vol, path); err != nil {
			return nil, fmt.Errorf("pod %s/%s: volume %q: %w", pod.Namespace, pod.Name, vol.Name, err)
		}
	}
	return v, nil
}

// HostPath is the directory on the node that holds volume name, or "" when
// the pod has no such volume.
func (v *Volumes) HostPath(name string) string { return v.paths[name] }

// Refresh rewrites the downward API files of pod's volumes from its current
// labels and annotations, each volume in one atomic swap and only when its
// content changed.
func (v *Volumes) Refresh(pod *corev1.Pod) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	for name, pv := range v.projected {
		if len(pv.downward) == 0 {
			continue
		}
		if err := pv.write(pod); err != nil {
			return fmt.Errorf("pod %s/%s: volume %q: %w", pod.Namespace, pod.Name, name, err)
		}
	}
	return nil
}

func (v *Volumes) prepare(ctx context.Context, c kubernetes.Interface, pod *corev1.Pod, vol *corev1.Volume, path string) error {
	if vol.EmptyDir != nil {
		return os.MkdirAll(path, 0o777)
	}
	pv := &projectedVolume{writer: atomicWriter{dir: path}, fixed: map[string]fileProjection{}}
	if err := pv.collect(ctx, c, pod, &vol.VolumeSource); err != nil {
		return err
	}
	if err := pv.write(pod); err != nil {
		return err
	}
	v.mu.Lock()
	v.projected[vol.Name] = pv
	v.mu.Unlock()
	return nil
}

// write computes the downward API files from pod and writes the whole
// volume when it changed.
func (pv *projectedVolume) write(pod *corev1.Pod) error {
	payload := maps.Clone(pv.fixed)
	for _, f := range pv.downward {
		value, err := volumeFieldValue(pod, f.fieldPath)
		if err != nil {
			return fmt.Errorf("%s: %w", f.path, err)
		}
		payload[f.path] = fileProjection{Data: []byte(value), Mode: f.mode}
	}
	_, err := pv.writer.Write(payload)
	return err
}

// collect gathers the files of a volume source other than emptyDir.
func (pv *projectedVolume) collect(ctx context.Context, c kubernetes.Interface, pod *corev1.Pod, src *corev1.VolumeSource) error {
	switch {
	case src.ConfigMap != nil:
		return pv.configMap(ctx, c, pod, src.ConfigMap.Name, src.ConfigMap.Items,
			src.ConfigMap.Optional, mode(src.ConfigMap.DefaultMode))
	case src.Secret != nil:
		return pv.secret(ctx, c, pod, src.Secret.SecretName, src.Secret.Items,
			src.Secret.Optional, mode(src.Secret.DefaultMode))
	case src.DownwardAPI != nil:
		pv.addDownward(src.DownwardAPI.Items, mode(src.DownwardAPI.DefaultMode))
		return nil
	case src.Projected != nil:
		for i := range src.Projected.Sources {
			if err := pv.projection(ctx, c, pod, &src.Projected.Sources[i], mode(src.Projected.DefaultMode)); err != nil {
				return fmt.Errorf("projected.sources[%d]: %w", i, err)
			}
		}
		return nil
	}
	return fmt.Errorf("%s: not supported by the local pod runner (%s)", setField(src, "volume source"), supportedVolumes)
}

func (pv *projectedVolume) projection(ctx context.Context, c kubernetes.Interface, pod *corev1.Pod, p *corev1.VolumeProjection, def os.FileMode) error {
	switch {
	case p.ConfigMap != nil:
		return pv.configMap(ctx, c, pod, p.ConfigMap.Name, p.ConfigMap.Items, p.ConfigMap.Optional, def)
	case p.Secret != nil:
		return pv.secret(ctx, c, pod, p.Secret.Name, p.Secret.Items, p.Secret.Optional, def)
	case p.DownwardAPI != nil:
		pv.addDownward(p.DownwardAPI.Items, def)
		return nil
	case p.ServiceAccountToken != nil:
		return pv.token(ctx, c, pod, p.ServiceAccountToken, def)
	}
	return fmt.Errorf("%s: not supported by the local pod runner (%s)", setField(p, "source"), supportedSources)
}

func (pv *projectedVolume) configMap(ctx context.Context, c kubernetes.Interface, pod *corev1.Pod,
	name string, items []corev1.KeyToPath, optional *bool, def os.FileMode) error {
	cm, err := c.CoreV1().ConfigMaps(pod.Namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) && optional != nil && *optional {
		return nil
	}
	if err != nil {
		return fmt.Errorf("configMap %q: %w", name, err)
	}
	data := map[string][]byte{}
	for k, s := range cm.Data {
		data[k] = []byte(s)
	}
	maps.Copy(data, cm.BinaryData)
	if err := pv.addKeys(data, items, optional, def); err != nil {
		return fmt.Errorf("configMap %q: %w", name, err)
	}
	return nil
}

func (pv *projectedVolume) secret(ctx context.Context, c kubernetes.Interface, pod *corev1.Pod,
	name string, items []corev1.KeyToPath, optional *bool, def os.FileMode) error {
	s, err := c.CoreV1().Secrets(pod.Namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) && optional != nil && *optional {
		return nil
	}
	if err != nil {
		return fmt.Errorf("secret %q: %w", name, err)
	}
	if err := pv.addKeys(s.Data, items, optional, def); err != nil {
		return fmt.Errorf("secret %q: %w", name, err)
	}
	return nil
}

// addKeys adds every key of data, or only items when there are any.
func (pv *projectedVolume) addKeys(data map[string][]byte, items []corev1.KeyToPath, optional *bool, def os.FileMode) error {
	if len(items) == 0 {
		for k, b := range data {
			pv.fixed[k] = fileProjection{Data: b, Mode: def}
		}
		return nil
	}
	for i, item := range items {
		b, ok := data[item.Key]
		switch {
		case !ok && optional != nil && *optional:
			continue
		case !ok:
			return fmt.Errorf("items[%d].key: no key %q", i, item.Key)
		}
		pv.fixed[item.Path] = fileProjection{Data: b, Mode: modeOr(item.Mode, def)}
	}
	return nil
}

func (pv *projectedVolume) addDownward(items []corev1.DownwardAPIVolumeFile, def os.FileMode) {
	for _, item := range items {
		if item.FieldRef == nil {
			continue // refused by Validate
		}
		pv.downward = append(pv.downward, downwardFile{
			path: item.Path, fieldPath: item.FieldRef.FieldPath, mode: modeOr(item.Mode, def)})
	}
}

// token requests a service account token bound to pod, for the audience
// and lifetime the projection asks for.
func (pv *projectedVolume) token(ctx context.Context, c kubernetes.Interface, pod *corev1.Pod,
	p *corev1.ServiceAccountTokenProjection, def os.FileMode) error {
	sa := pod.Spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	req := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		ExpirationSeconds: p.ExpirationSeconds,
		BoundObjectRef:    &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID},
	}}
	if p.Audience != "" {
		req.Spec.Audiences = []string{p.Audience}
	}
	tr, err := c.CoreV1().ServiceAccounts(pod.Namespace).CreateToken(ctx, sa, req, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("serviceAccountToken: service account %q: %w", sa, err)
	}
	pv.fixed[p.Path] = fileProjection{Data: []byte(tr.Status.Token), Mode: def}
	return nil
}

// mode converts an optional API file mode, 0644 when unset.
func mode(m *int32) os.FileMode { return modeOr(m, defaultFileMod) }

func modeOr(m *int32, def os.FileMode) os.FileMode {
	if m == nil {
		return def
	}
	return os.FileMode(*m).Perm()
}
