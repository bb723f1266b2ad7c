package webhook_test

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// installCertManagerStandIns installs CRDs named like cert-manager's
// Certificate and Issuer (cert-manager.io/v1) whose schemas hold the
// fields deploy/cert-manager uses, typed as cert-manager v1 defines them,
// and nothing else: with --validate=strict, a misspelt or misplaced field
// fails the dry-run.
func installCertManagerStandIns(t *testing.T) {
	t.Helper()
	crds := []*apiextensionsv1.CustomResourceDefinition{
		standInCRD("certificates", "Certificate", certificateSpec()),
		standInCRD("issuers", "Issuer", issuerSpec()),
	}
	if _, err := envtest.InstallCRDs(config, envtest.CRDInstallOptions{CRDs: crds}); err != nil {
		t.Fatalf("install cert-manager stand-in CRDs: %v", err)
	}
}

func standInCRD(plural, kind string, spec apiextensionsv1.JSONSchemaProps) *apiextensionsv1.CustomResourceDefinition {
	return &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: plural + ".cert-manager.io"},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: "cert-manager.io",
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: plural, Kind: kind},
			Scope: apiextensionsv1.NamespaceScoped,
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
				Name: "v1", Served: true, Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
					Type:       "object",
					Properties: map[string]apiextensionsv1.JSONSchemaProps{"spec": spec},
				}},
			}},
		},
	}
}

func str() apiextensionsv1.JSONSchemaProps { return apiextensionsv1.JSONSchemaProps{Type: "string"} }

func enum(values ...string) apiextensionsv1.JSONSchemaProps {
	p := str()
	for _, v := range values {
		p.Enum = append(p.Enum, apiextensionsv1.JSON{Raw: []byte(`"` + v + `"`)})
	}
	return p
}

func object(required []string, props map[string]apiextensionsv1.JSONSchemaProps) apiextensionsv1.JSONSchemaProps {
	return apiextensionsv1.JSONSchemaProps{Type: "object", Required: required, Properties: props}
}

func stringList() apiextensionsv1.JSONSchemaProps {
	s := str()
	return apiextensionsv1.JSONSchemaProps{Type: "array", Items: &apiextensionsv1.JSONSchemaPropsOrArray{Schema: &s}}
}

// certificateSpec is the subset of cert-manager's CertificateSpec that
// deploy/ uses.
func certificateSpec() apiextensionsv1.JSONSchemaProps {
	return object([]string{"issuerRef", "secretName"}, map[string]apiextensionsv1.JSONSchemaProps{
		"secretName":  str(),
		"commonName":  str(),
		"dnsNames":    stringList(),
		"isCA":        {Type: "boolean"},
		"duration":    str(),
		"renewBefore": str(),
		"issuerRef": object([]string{"name"}, map[string]apiextensionsv1.JSONSchemaProps{
			"name": str(), "kind": str(), "group": str(),
		}),
		"privateKey": object(nil, map[string]apiextensionsv1.JSONSchemaProps{
			"algorithm":      enum("RSA", "ECDSA", "Ed25519"),
			"size":           {Type: "integer"},
			"encoding":       enum("PKCS1", "PKCS8"),
			"rotationPolicy": enum("Never", "Always"),
		}),
	})
}

// issuerSpec is the subset of cert-manager's IssuerSpec that deploy/ uses.
func issuerSpec() apiextensionsv1.JSONSchemaProps {
	return object(nil, map[string]apiextensionsv1.JSONSchemaProps{
		"selfSigned": object(nil, map[string]apiextensionsv1.JSONSchemaProps{"crlDistributionPoints": stringList()}),
		"ca":         object([]string{"secretName"}, map[string]apiextensionsv1.JSONSchemaProps{"secretName": str()}),
	})
}

// TestCertManagerChain checks the chain deploy/cert-manager asks
// cert-manager for: a self-signed Issuer signs a CA Certificate, an Issuer
// signs with the CA's Secret, that Issuer signs the serving Certificate
// whose Secret the webhook mounts, and the CA injector copies the CA (not
// the serving certificate) into the caBundle, so renewing the serving
// certificate leaves the caBundle as it is. The CA keeps its key on
// renewal, so a renewed CA still verifies the serving certificate in use.
func TestCertManagerChain(t *testing.T) {
	kubectl := kubectlPath(t)
	objs := decode(t, run(t, nil, kubectl, "kustomize", filepath.Join(deployDir, "cert-manager")))
	find := func(kind, name string) *unstructured.Unstructured {
		t.Helper()
		for _, o := range objs {
			if o.GetKind() == kind && (name == "" || o.GetName() == name) {
				return o
			}
		}
		t.Fatalf("deploy/cert-manager renders no %s %s", kind, name)
		return nil
	}
	field := func(o *unstructured.Unstructured, path ...string) string {
		t.Helper()
		v, _, _ := unstructured.NestedFieldNoCopy(o.Object, path...)
		s, _ := v.(string)
		return s
	}

	hook := find("MutatingWebhookConfiguration", "")
	ns, caName, ok := strings.Cut(hook.GetAnnotations()["cert-manager.io/inject-ca-from"], "/")
	if !ok {
		t.Fatalf("cert-manager.io/inject-ca-from = %q; want namespace/certificate", hook.GetAnnotations()["cert-manager.io/inject-ca-from"])
	}
	ca := find("Certificate", caName)
	if ca.GetNamespace() != ns {
		t.Errorf("inject-ca-from names namespace %s, the CA Certificate is in %s", ns, ca.GetNamespace())
	}
	if isCA, _, _ := unstructured.NestedBool(ca.Object, "spec", "isCA"); !isCA {
		t.Errorf("Certificate %s named by inject-ca-from is not a CA (spec.isCA)", caName)
	}
	if p := field(ca, "spec", "privateKey", "rotationPolicy"); p != "Never" {
		t.Errorf("CA Certificate rotationPolicy %q; want Never, so a renewed CA keeps the key the serving certificate was signed with", p)
	}
	root := find("Issuer", field(ca, "spec", "issuerRef", "name"))
	if _, ok, _ := unstructured.NestedMap(root.Object, "spec", "selfSigned"); !ok {
		t.Errorf("the CA is signed by Issuer %s, which is not self-signed", root.GetName())
	}

	var serving *unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == "Certificate" && o != ca {
			serving = o
		}
	}
	if serving == nil {
		t.Fatal("deploy/cert-manager renders no serving Certificate beside the CA")
	}
	caIssuer := find("Issuer", field(serving, "spec", "issuerRef", "name"))
	if s := field(caIssuer, "spec", "ca", "secretName"); s != field(ca, "spec", "secretName") {
		t.Errorf("serving certificate's Issuer %s signs with Secret %q, not the CA's %q", caIssuer.GetName(), s, field(ca, "spec", "secretName"))
	}
	dnsNames, _, _ := unstructured.NestedStringSlice(serving.Object, "spec", "dnsNames")
	if !slices.Contains(dnsNames, "roundabout-webhook.roundabout-system.svc") {
		t.Errorf("serving certificate dnsNames %v lack the name the API server dials", dnsNames)
	}
	deployment := find("Deployment", "roundabout-webhook")
	volumes, _, _ := unstructured.NestedSlice(deployment.Object, "spec", "template", "spec", "volumes")
	mounted := false
	for _, v := range volumes {
		if s, _, _ := unstructured.NestedString(v.(map[string]any), "secret", "secretName"); s == field(serving, "spec", "secretName") {
			mounted = true
		}
	}
	if !mounted {
		t.Errorf("the webhook Deployment does not mount the serving certificate's Secret %s", field(serving, "spec", "secretName"))
	}
}
