package certs

import (
	"bytes"
	"context"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// raced reports errors from another replica writing first; the next
// attempt reads what it wrote.
func raced(err error) bool {
	return apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err)
}

// syncSecret reads the Secret, creating or renewing what it holds as needed.
func (m *Manager) syncSecret(ctx context.Context) (material, error) {
	var mat material
	err := retry.OnError(retry.DefaultRetry, raced, func() error {
		var err error
		mat, err = m.syncSecretOnce(ctx)
		return err
	})
	return mat, err
}

func (m *Manager) syncSecretOnce(ctx context.Context) (material, error) {
	key := types.NamespacedName{Namespace: m.opts.Namespace, Name: m.opts.SecretName}
	secret := &corev1.Secret{}
	err := m.reader.Get(ctx, key, secret)
	if apierrors.IsNotFound(err) {
		return m.createSecret(ctx, key)
	}
	if err != nil {
		return material{}, err
	}
	mat, changed, err := m.opts.Lifetimes.renew(fromData(secret.Data), m.opts.DNSNames, m.now())
	if err != nil || !changed {
		return mat, err
	}
	secret.Data = mat.data()
	if err := m.writer.Update(ctx, secret); err != nil {
		return material{}, err
	}
	m.log.Info("certificates renewed", "secret", key.String())
	return mat, nil
}

func (m *Manager) createSecret(ctx context.Context, key types.NamespacedName) (material, error) {
	mat, _, err := m.opts.Lifetimes.renew(material{}, m.opts.DNSNames, m.now())
	if err != nil {
		return material{}, err
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: key.Namespace, Name: key.Name,
			Labels: map[string]string{"app.kubernetes.io/name": "roundabout-webhook", "app.kubernetes.io/component": "certificates"},
		},
		Type: corev1.SecretTypeOpaque,
		Data: mat.data(),
	}
	if err := m.writer.Create(ctx, secret); err != nil {
		return material{}, err
	}
	m.log.Info("certificates created", "secret", key.String())
	return mat, nil
}

// syncCABundle sets bundle on every webhook of the configuration that lacks it.
func (m *Manager) syncCABundle(ctx context.Context, bundle []byte) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cfg := &admissionregistrationv1.MutatingWebhookConfiguration{}
		if err := m.reader.Get(ctx, types.NamespacedName{Name: m.opts.WebhookConfigName}, cfg); err != nil {
			return err
		}
		base := cfg.DeepCopy()
		if !setCABundle(cfg, bundle) {
			return nil
		}
		patch := client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})
		if err := m.writer.Patch(ctx, cfg, patch); err != nil {
			return err
		}
		m.log.Info("caBundle patched", "mutatingWebhookConfiguration", cfg.Name, "webhooks", len(cfg.Webhooks))
		return nil
	})
}

// setCABundle reports whether any webhook's caBundle had to change.
func setCABundle(cfg *admissionregistrationv1.MutatingWebhookConfiguration, bundle []byte) bool {
	changed := false
	for i := range cfg.Webhooks {
		cc := &cfg.Webhooks[i].ClientConfig
		if !bytes.Equal(cc.CABundle, bundle) {
			cc.CABundle = bundle
			changed = true
		}
	}
	return changed
}
