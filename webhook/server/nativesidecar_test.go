package server

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func TestKubeletSupportsNative(t *testing.T) {
	for v, want := range map[string]bool{
		"v1.29.0":             true,
		"v1.30.2":             true,
		"v1.29.4-eks-036c24b": true,
		"v1.31.1+k3s1":        true,
		"v2.0.0":              true,
		"v1.28.9":             false,
		"v1.28.3+k3s1":        false,
		"v1.27.16-gke.1":      false,
		"":                    false,
		"unknown":             false,
	} {
		if got := supportsNative(v); got != want {
			t.Errorf("supportsNative(%q) = %v, want %v", v, got, want)
		}
	}
}

func TestDecideNative(t *testing.T) {
	for _, tc := range []struct {
		name     string
		kubelets map[string]string
		server   bool
		want     bool
		reason   string
		older    []string
	}{
		{"no nodes, new API server", nil, true, true, "API server", nil},
		{"no nodes, old API server", nil, false, false, "API server", nil},
		{"all new", map[string]string{"a": "v1.29.0", "b": "v1.31.2"}, false, true, "every kubelet", nil},
		{"one old", map[string]string{"a": "v1.29.0", "b": "v1.28.5"}, true, false, "1 of 2", []string{"b=v1.28.5"}},
		{"unreadable counts as old", map[string]string{"a": "v1.30.0", "b": "garbage"}, true, false, "1 of 2", []string{"b=garbage"}},
		{"older nodes listed up to five", map[string]string{
			"a": "v1.27.0", "b": "v1.27.0", "c": "v1.27.0", "d": "v1.27.0", "e": "v1.27.0", "f": "v1.27.0", "g": "v1.30.0",
		}, true, false, "6 of 7", []string{"a=v1.27.0", "b=v1.27.0", "c=v1.27.0", "d=v1.27.0", "e=v1.27.0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := decideNative(tc.kubelets, tc.server)
			if d.native != tc.want || !strings.Contains(d.reason, tc.reason) || strings.Join(d.older, ",") != strings.Join(tc.older, ",") {
				t.Errorf("decideNative = %+v; want native=%v, reason with %q, older %v", d, tc.want, tc.reason, tc.older)
			}
		})
	}
}

// logLines collects the messages and values of a logr.Logger.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) logger() logr.Logger {
	return funcr.New(func(prefix, args string) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.lines = append(l.lines, args)
	}, funcr.Options{})
}

func (l *logLines) matching(s string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, line := range l.lines {
		if strings.Contains(line, s) {
			out = append(out, line)
		}
	}
	return out
}

func node(name, kubelet string) *corev1.Node {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}
	n.Status.NodeInfo.KubeletVersion = kubelet
	return n
}

// TestNodeWatchFollowsKubeletVersions runs the informer on a fake client:
// the decision is the API server's until the nodes are listed, then
// follows node additions, upgrades and deletions, logging one line per
// change.
func TestNodeWatchFollowsKubeletVersions(t *testing.T) {
	cs := fake.NewClientset(node("new", "v1.30.1"), node("unreported", ""))
	var logs logLines
	versions := newNodeVersions(false, logs.logger())
	if versions.Native() || versions.ReadyCheck(nil) == nil {
		t.Fatalf("before the first list: native=%v ready=%v; want the API server's false and not ready", versions.Native(), versions.ReadyCheck(nil))
	}
	w, err := newNodeWatch(cs, versions)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- w.Start(ctx) }()
	defer func() { cancel(); <-done }()

	waitNative(t, versions, true, "after listing a 1.30 node and one reporting no version")
	if err := versions.ReadyCheck(nil); err != nil {
		t.Errorf("ready check after the first list: %v", err)
	}
	nodes := cs.CoreV1().Nodes()
	if _, err := nodes.Create(ctx, node("old", "v1.28.4"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitNative(t, versions, false, "after a 1.28 node joined")
	if _, err := nodes.UpdateStatus(ctx, node("old", "v1.29.0"), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitNative(t, versions, true, "after the 1.28 node was upgraded to 1.29")
	if _, err := nodes.Create(ctx, node("older", "v1.27.0"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitNative(t, versions, false, "after a 1.27 node joined")
	if err := nodes.Delete(ctx, "older", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitNative(t, versions, true, "after the 1.27 node was deleted")

	lines := logs.matching(`"native sidecar decision"`)
	if len(lines) != 5 {
		t.Errorf("%d decision lines, want 5 (first decision and four changes):\n%s", len(lines), strings.Join(lines, "\n"))
	}
	if len(lines) > 1 && !strings.Contains(lines[1], "old=v1.28.4") {
		t.Errorf("the change to a regular container does not name the older node: %s", lines[1])
	}
}

func TestNodeWatchErrorsShowInReadiness(t *testing.T) {
	var logs logLines
	versions := newNodeVersions(true, logs.logger())
	versions.watchErr(errors.New(`nodes is forbidden: User "system:serviceaccount:roundabout-system:roundabout-webhook" cannot list resource "nodes"`))
	err := versions.ReadyCheck(nil)
	if err == nil || !strings.Contains(err.Error(), "forbidden") || !strings.Contains(err.Error(), "--native-sidecar=auto") {
		t.Errorf("ready check after a forbidden list = %v; want it to name the error and the flag", err)
	}
	if !versions.Native() {
		t.Error("before the nodes are listed the decision is not the API server's")
	}
	if len(logs.matching("get, list and watch on nodes")) != 1 {
		t.Errorf("the failed list was not logged with the permission it needs: %q", logs.lines)
	}
}

func waitNative(t *testing.T, v *nodeVersions, want bool, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for v.Native() != want || !v.synced.Load() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: native sidecar %v, want %v", what, v.Native(), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
