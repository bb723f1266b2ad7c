package demo

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// kubectlTimeout bounds one kubectl command.
const kubectlTimeout = time.Minute

// Kubectl runs kubectl with the admin kubeconfig, prints the command the
// way a user would type it and its output indented, and returns the output.
func (e *Env) Kubectl(ctx context.Context, args ...string) (string, error) {
	fmt.Fprintf(e.out, "    $ kubectl %s\n", strings.Join(args, " "))
	out, err := e.kubectlQuiet(ctx, args...)
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		if line != "" {
			fmt.Fprintf(e.out, "      %s\n", line)
		}
	}
	return out, err
}

// kubectlQuiet runs kubectl without printing anything.
func (e *Env) kubectlQuiet(ctx context.Context, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, kubectlTimeout)
	defer cancel()
	cmd := e.kubectlCmd(ctx, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return out.String(), nil
}

// kubectlCmd is kubectl with args, the admin kubeconfig, run from Root.
func (e *Env) kubectlCmd(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, e.kubectl, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+e.stack.Kubeconfig)
	cmd.Dir = e.o.Root
	return cmd
}
