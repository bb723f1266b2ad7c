package demo

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Namespace is where deploy/examples/greet puts the workload.
const Namespace = "greet"

// Node is the name and address of the one node the pod runner serves.
const (
	NodeName = "roundabout-node"
	NodeIP   = "10.244.0.1"
)

// Options says where everything the scenario needs lives.
type Options struct {
	// Root is the repository root; deploy/ and demo/manifests are
	// applied from it.
	Root string
	// BinDir holds the project's binaries (make build). Container images
	// map to them by name: ghcr.io/roundabout-dev/greet-server:v0.1.0 runs
	// BinDir/greet-server.
	BinDir string
	// Assets holds the control-plane binaries (hack/controlplane/build.sh).
	Assets string
	// Dir receives the kubeconfig, the component and container logs and
	// the pods' files. It must exist.
	Dir string
	// Out receives the scenario's narration, charts and summary.
	Out io.Writer
	// Keep leaves everything running after the summary until the context
	// ends, having printed ShellHint.
	Keep bool
	// ShellHint, when set, returns the command that opens a shell with
	// kubectl in the demo's namespaces, given the kubeconfig path.
	ShellHint func(kubeconfig string) string
}

// validate checks that every directory and binary is where Options says.
func (o Options) validate() error {
	var errs []error
	for _, f := range []struct{ name, path string }{
		{"Root", filepath.Join(o.Root, "deploy", "kustomization.yaml")},
		{"BinDir", filepath.Join(o.BinDir, "roundabout-agent")},
		{"BinDir", filepath.Join(o.BinDir, "roundabout-webhook")},
		{"BinDir", filepath.Join(o.BinDir, "greet-server")},
		{"BinDir", filepath.Join(o.BinDir, "greet-gateway")},
		{"Assets", filepath.Join(o.Assets, "kubectl")},
		{"Dir", o.Dir},
	} {
		if _, err := os.Stat(f.path); err != nil {
			errs = append(errs, fmt.Errorf("%s: %s is missing (%v)", f.name, f.path, err))
		}
	}
	if o.Out == nil {
		errs = append(errs, errors.New("options: Out is a nil writer"))
	}
	return errors.Join(errs...)
}
