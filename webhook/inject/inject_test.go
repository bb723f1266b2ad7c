package inject

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	jsonpatch "github.com/evanphx/json-patch/v5"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/ with the current output")

// goldenCase names testdata/<name>.yaml (a Namespace, then a Pod) and
// testdata/<name>.golden.json (the report, and the patch or the denial).
type goldenCase struct {
	name          string
	legacy        bool   // a server older than 1.29: no native sidecar
	clusterDomain string // Config.ClusterDomain, the default when empty
}

var goldenCases = []goldenCase{
	{name: "native-sidecar"},
	{name: "native-sidecar-with-init-containers"},
	{name: "regular-container-before-1.29", legacy: true},
	{name: "multi-upstream"},
	{name: "overrides"},
	{name: "invalid-memory-limit-below-floor"},
	{name: "namespace-label-enabled"},
	{name: "namespace-label-pod-opt-out"},
	{name: "namespace-label-disabled"},
	{name: "not-annotated"},
	{name: "already-injected-status"},
	{name: "already-injected-container"},
	{name: "kube-system"},
	{name: "own-namespace"},
	{name: "invalid-inject-value"},
	{name: "invalid-strategy"},
	{name: "invalid-upstream-missing"},
	{name: "invalid-upstream-syntax"},
	{name: "invalid-upstream-port"},
	{name: "invalid-upstream-listen-not-loopback"},
	{name: "invalid-upstream-port-clash"},
	{name: "invalid-upstream-container-port-clash"},
	{name: "invalid-hash-header"},
	{name: "invalid-log-level"},
	{name: "invalid-cpu-request"},
	{name: "invalid-memory-limit"},
	{name: "invalid-several"},
	{name: "invalid-host-network"},
	{name: "lookaside-port"},
	{name: "invalid-lookaside-port"},
	{name: "invalid-lookaside-port-admin-clash"},
	{name: "invalid-lookaside-port-upstream-clash"},
	{name: "invalid-lookaside-port-container-clash"},
	{name: "keep-names"},
	{name: "two-services-same-port"},
	{name: "cluster-domain", clusterDomain: "corp.example"},
	{name: "invalid-hostalias-taken"},
	{name: "invalid-upstream-same-service-twice"},
	{name: "namespace-label-no-upstream"},
	{name: "namespace-default-upstream"},
	{name: "namespace-default-pod-asks"},
	{name: "namespace-default-not-applied"},
	{name: "warning-unknown-annotations"},
	{name: "not-annotated-misspelt"},
	{name: "warning-ring-hash-without-header"},
	{name: "subset"},
	{name: "subset-id"},
	{name: "warning-subset-id-from-template"},
	{name: "invalid-subset"},
	{name: "automount-disabled"},
	{name: "guaranteed"},
	{name: "guaranteed-with-annotations"},
	{name: "guaranteed-made-burstable"},
	{name: "burstable-init-container"},
	{name: "resource-overrides"},
	{name: "invalid-cpu-limit-below-floor"},
	{name: "invalid-request-above-limit"},
	{name: "pod-level-resources"},
	{name: "native-sidecar-annotation-true", legacy: true},
	{name: "native-sidecar-annotation-false"},
	{name: "invalid-native-sidecar"},
	{name: "job-regular-container", legacy: true},
	{name: "job-native-sidecar"},
	{name: "restart-on-failure-regular-container", legacy: true},
	{name: "default-container-kept"},
	{name: "invalid-admin-port-clash"},
	{name: "invalid-volume-name-clash"},
}

// golden is the recorded outcome of one case. Patch holds the operations
// admission.PatchResponseFromRaw computes, as the handler sends them, but
// sorted by path: the library walks maps in random order, and sorting keeps
// the file stable. checkPatchApplies applies the unsorted patch itself.
type golden struct {
	Injected bool             `json:"injected"`
	Reason   Reason           `json:"reason"`
	Warnings []string         `json:"warnings,omitempty"`
	Denial   string           `json:"denial,omitempty"`
	Patch    []map[string]any `json:"patch,omitempty"`
}

func testConfig(c goldenCase) Config {
	return Config{
		AgentImage:      "ghcr.io/roundabout-dev/roundabout-agent:v0.1.0",
		ImagePullPolicy: corev1.PullIfNotPresent,
		NativeSidecar:   !c.legacy,
		OwnNamespace:    "roundabout-system",
		ClusterDomain:   c.clusterDomain,
	}
}

// TestEveryReasonHasACase keeps the golden cases covering every decision.
func TestEveryReasonHasACase(t *testing.T) {
	seen := map[Reason]bool{}
	for _, c := range goldenCases {
		pod, ns := readFixture(t, filepath.Join("testdata", c.name+".yaml"))
		_, report, _ := Pod(pod, ns, testConfig(c))
		seen[report.Reason] = true
	}
	for _, r := range Reasons {
		if !seen[r] {
			t.Errorf("no golden case decides %s", r)
		}
	}
}

func TestGolden(t *testing.T) {
	for _, c := range goldenCases {
		t.Run(c.name, func(t *testing.T) {
			pod, ns := readFixture(t, filepath.Join("testdata", c.name+".yaml"))
			out, report, err := Pod(pod, ns, testConfig(c))
			got := outcome(t, pod, out, report, err)
			compareGolden(t, filepath.Join("testdata", c.name+".golden.json"), got)
			checkConsistent(t, pod, out, report, err)
		})
	}
}

// outcome records a decision; the patch is the one the admission handler
// sends, its operations sorted by path so the file is stable.
func outcome(t *testing.T, in, out *corev1.Pod, report Report, err error) golden {
	t.Helper()
	g := golden{Injected: report.Injected, Reason: report.Reason, Warnings: report.Warnings}
	if err != nil {
		g.Denial = err.Error()
		return g
	}
	for _, op := range patchOps(t, in, out) {
		var m map[string]any
		b, _ := json.Marshal(op)
		if jerr := json.Unmarshal(b, &m); jerr != nil {
			t.Fatal(jerr)
		}
		g.Patch = append(g.Patch, m)
	}
	sort.SliceStable(g.Patch, func(i, j int) bool { return g.Patch[i]["path"].(string) < g.Patch[j]["path"].(string) })
	return g
}

func patchOps(t *testing.T, in, out *corev1.Pod) []any {
	t.Helper()
	resp := admission.PatchResponseFromRaw(mustJSON(t, in), mustJSON(t, out))
	if !resp.Allowed {
		t.Fatalf("PatchResponseFromRaw: %v", resp.Result)
	}
	ops := make([]any, len(resp.Patches))
	for i, p := range resp.Patches {
		ops[i] = p
	}
	return ops
}

// checkConsistent checks what a golden file cannot show: the patch applied
// to the input gives the returned pod, the input is left alone, and a second
// pass over an injected pod changes nothing.
func checkConsistent(t *testing.T, in, out *corev1.Pod, report Report, err error) {
	t.Helper()
	for _, w := range report.Warnings {
		if !strings.HasPrefix(w, warningPrefix) {
			t.Errorf("warning %q does not start with %q", w, warningPrefix)
		}
	}
	if (err != nil) != (report.Reason == ReasonInvalidAnnotation) || (err != nil && report.Injected) {
		t.Fatalf("error %v does not match report %+v", err, report)
	}
	if !report.Injected {
		if out != in {
			t.Errorf("pod not injected (%s) but a different pod was returned", report.Reason)
		}
		return
	}
	checkPatchApplies(t, in, out)
	again, second, err := Pod(out, Namespace{Name: out.Namespace}, Config{AgentImage: "x", NativeSidecar: true})
	if err != nil || second.Reason != ReasonAlreadyInjected || again != out {
		t.Errorf("second pass over an injected pod: report %+v, error %v; want %s and the pod unchanged", second, err, ReasonAlreadyInjected)
	}
}

func checkPatchApplies(t *testing.T, in, out *corev1.Pod) {
	t.Helper()
	resp := admission.PatchResponseFromRaw(mustJSON(t, in), mustJSON(t, out))
	raw, err := json.Marshal(resp.Patches)
	if err != nil {
		t.Fatal(err)
	}
	p, err := jsonpatch.DecodePatch(raw)
	if err != nil {
		t.Fatalf("decode patch: %v", err)
	}
	applied, err := p.Apply(mustJSON(t, in))
	if err != nil {
		t.Fatalf("apply patch: %v", err)
	}
	if !jsonpatch.Equal(applied, mustJSON(t, out)) {
		t.Errorf("patch applied to the input:\n%s\nwant the injected pod:\n%s", applied, mustJSON(t, out))
	}
}

func readFixture(t *testing.T, path string) (*corev1.Pod, Namespace) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	docs := strings.Split(string(data), "\n---\n")
	pod := &corev1.Pod{}
	if err := yaml.UnmarshalStrict([]byte(docs[len(docs)-1]), pod); err != nil {
		t.Fatalf("%s: pod: %v", path, err)
	}
	ns := Namespace{Name: pod.Namespace}
	if len(docs) == 2 {
		var obj corev1.Namespace
		if err := yaml.UnmarshalStrict([]byte(docs[0]), &obj); err != nil {
			t.Fatalf("%s: namespace: %v", path, err)
		}
		ns = Namespace{Name: obj.Name, Labels: obj.Labels, Annotations: obj.Annotations}
	}
	return pod, ns
}

func compareGolden(t *testing.T, path string, got golden) {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(got); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	if *update {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run `go test ./webhook/inject -update` to create it)", err)
	}
	if !bytes.Equal(want, data) {
		t.Errorf("%s differs from the output (run with -update if the change is intended):\ngot:\n%s\nwant:\n%s", path, data, want)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
