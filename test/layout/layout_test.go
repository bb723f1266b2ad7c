// Package layout_test checks the import directions the architecture
// forbids, from `go list` over the whole module: no command links package
// testing or a package under test/, the webhook links no agent package, the
// contract package imports only the standard library, strategies and
// discovery stay apart from the data path, and the greet workload never
// imports the agent.
package layout_test

import (
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/roundabout-dev/roundabout"

type pkg struct {
	ImportPath string
	Name       string
	Deps       []string
}

// list returns every package of the module with its dependencies.
func list(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps=false", "-json=ImportPath,Name,Deps", module+"/...")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			t.Fatalf("go list: %v: %s", err, exit.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 20 {
		t.Fatalf("go list found %d packages of %s; the module was not listed", len(pkgs), module)
	}
	return pkgs
}

func under(path, dir string) bool {
	p := module + "/" + dir
	return path == p || strings.HasPrefix(path, p+"/")
}

// rule forbids packages matching from to depend, directly or not, on
// packages matching to.
type rule struct {
	why  string
	from func(pkg) bool
	to   func(string) bool
}

func TestImportDirections(t *testing.T) {
	isMain := func(p pkg) bool { return p.Name == "main" }
	in := func(dir string) func(pkg) bool { return func(p pkg) bool { return under(p.ImportPath, dir) } }
	to := func(dirs ...string) func(string) bool {
		return func(path string) bool {
			for _, d := range dirs {
				if under(path, d) {
					return true
				}
			}
			return false
		}
	}
	rules := []rule{
		{why: "no command links package testing", from: isMain, to: func(p string) bool { return p == "testing" }},
		{why: "no command links a package under test/", from: isMain, to: to("test")},
		{why: "the webhook links no agent package", from: in("webhook"), to: to("agent")},
		{why: "the contract imports only the standard library", from: in("api"),
			to: func(p string) bool { return strings.Contains(strings.SplitN(p, "/", 2)[0], ".") }},
		{why: "strategies never import Kubernetes, the transport or discovery", from: in("agent/balancer"),
			to: func(p string) bool {
				return strings.HasPrefix(p, "k8s.io/") || to("agent/transport", "agent/discovery", "agent/pool", "agent/proxy")(p)
			}},
		{why: "the proxy never imports Kubernetes discovery", from: in("agent/proxy"), to: to("agent/discovery/kubernetes")},
		{why: "Kubernetes discovery never imports the proxy or the pool", from: in("agent/discovery"), to: to("agent/proxy", "agent/pool")},
		{why: "webhook/inject never talks to the API server", from: in("webhook/inject"),
			to: func(p string) bool {
				return p == "k8s.io/client-go/rest" || p == "sigs.k8s.io/controller-runtime/pkg/client"
			}},
		{why: "the greet workload never imports the agent", from: in("greet"), to: to("agent", "webhook")},
	}
	pkgs := list(t)
	for _, r := range rules {
		matched := 0
		for _, p := range pkgs {
			if !r.from(p) {
				continue
			}
			matched++
			for _, d := range p.Deps {
				if r.to(d) {
					t.Errorf("%s: %s depends on %s", r.why, p.ImportPath, d)
				}
			}
		}
		if matched == 0 {
			t.Errorf("%s: no package of the module matches the rule", r.why)
		}
	}
}
