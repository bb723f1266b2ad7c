// Command demo runs Roundabout's whole story on a local Kubernetes control
// plane, in a private network, mount and PID namespace: see demo/.
//
//	go run ./cmd/roundabout-demo [--keep] [--bin DIR] [--assets DIR] [--dir DIR]
//
// make demo builds the binaries and the control plane first, then runs it.
// The exit code is 0 when every expectation held, 1 otherwise.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"

	"github.com/roundabout-dev/roundabout/demo"
	"github.com/roundabout-dev/roundabout/localcluster/netns"
)

// options are the command's flags.
type options struct {
	keep   bool
	bin    string
	assets string
	dir    string
}

func main() {
	o := parseFlags()
	addSbinToPath()
	if err := checkTools(); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
	if !netns.Inside() {
		// Ctrl-C is for the demo inside, which stops what it started; this
		// process only waits for it.
		signal.Ignore(os.Interrupt)
		fmt.Println("Entering a private network, mount and PID namespace (unshare --net --map-root-user --mount --pid)")
	}
	netns.ReexecNode(func() int { return run(o) })
}

func parseFlags() options {
	root, _ := os.Getwd()
	var o options
	flag.BoolVar(&o.keep, "keep", false, "leave everything running after the summary until Ctrl-C, and print the command for a shell with kubectl")
	flag.StringVar(&o.bin, "bin", filepath.Join(root, "bin"), "the project's binaries (make build)")
	flag.StringVar(&o.assets, "assets", os.Getenv("KUBEBUILDER_ASSETS"), "the control-plane binaries (hack/controlplane/build.sh --print-dir)")
	flag.StringVar(&o.dir, "dir", "", "where logs, the kubeconfig and the pods' files go (default: a new temporary directory)")
	flag.Parse()
	return o
}

// run runs the scenario inside the namespace and returns the exit code.
func run(o options) int {
	if !netns.NodeMode() {
		fmt.Fprintln(os.Stderr, "demo: could not enter a private network namespace; it needs unshare and ip (util-linux, iproute2) and user namespaces")
		return 1
	}
	if o.assets == "" {
		fmt.Fprintln(os.Stderr, "demo: --assets is empty: run `make demo`, or pass --assets=$(hack/controlplane/build.sh --print-dir)")
		return 1
	}
	dir, err := stateDir(o.dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root, _ := os.Getwd()
	rep, err := demo.Run(ctx, demo.Options{Root: root, BinDir: o.bin, Assets: o.assets, Dir: dir,
		Out: os.Stdout, Keep: o.keep, ShellHint: shellHint(o.assets)})
	return verdict(rep, err, dir)
}

// verdict prints what went wrong, if anything, and returns the exit code.
func verdict(rep *demo.Report, err error, dir string) int {
	switch {
	case err != nil:
		fmt.Fprintf(os.Stderr, "\ndemo: %v\nlogs: %s/logs\n", err, dir)
		return 1
	case !rep.Passed():
		fmt.Fprintf(os.Stderr, "\ndemo: failed expectations:\n")
		for _, f := range rep.Failed() {
			fmt.Fprintf(os.Stderr, "  %s\n", f)
		}
		fmt.Fprintf(os.Stderr, "logs: %s/logs\n", dir)
		return 1
	}
	fmt.Printf("logs: %s/logs\n", dir)
	return 0
}

// tools maps each command the demo runs to the Debian package holding it.
var tools = map[string]string{"unshare": "util-linux", "nsenter": "util-linux", "ip": "iproute2", "iptables": "iptables"}

// addSbinToPath appends the sbin directories, which an ordinary user's
// PATH often lacks, where ip and iptables live; kube-proxy inherits it.
func addSbinToPath() {
	path := os.Getenv("PATH")
	for _, dir := range []string{"/usr/sbin", "/sbin"} {
		if !slices.Contains(filepath.SplitList(path), dir) {
			path += string(os.PathListSeparator) + dir
		}
	}
	os.Setenv("PATH", path)
}

// checkTools names every missing command and its package.
func checkTools() error {
	var missing []string
	for cmd, pkg := range tools {
		if _, err := exec.LookPath(cmd); err != nil {
			missing = append(missing, fmt.Sprintf("%s (Debian package %s)", cmd, pkg))
		}
	}
	if len(missing) == 0 {
		return nil
	}
	sort.Strings(missing)
	return fmt.Errorf("not found in PATH: %s", strings.Join(missing, ", "))
}

// stateDir returns dir, made if needed, or a new temporary directory.
func stateDir(dir string) (string, error) {
	if dir == "" {
		return os.MkdirTemp("", "roundabout-demo-")
	}
	return dir, os.MkdirAll(dir, 0o755)
}
