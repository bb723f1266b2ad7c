package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"
)

// shellHint returns a function that prints the command which opens a shell
// in this process's namespaces, with kubectl on PATH and the kubeconfig set.
// It reads the host's process ID at once, while /proc is still the host's
// (the pod runner mounts a /proc of this PID namespace later).
func shellHint(assets string) func(kubeconfig string) string {
	pid := hostPID()
	return func(kubeconfig string) string {
		return fmt.Sprintf("nsenter --preserve-credentials --user --net --mount --target %s env KUBECONFIG=%s PATH=%s:$PATH bash",
			pid, kubeconfig, assets)
	}
}

// hostPID is this process's ID as the host sees it: the first field of
// NSpid in /proc/self/status (this namespace keeps the host's /proc).
func hostPID() string {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return fmt.Sprint(os.Getpid())
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "NSpid:"); ok {
			if fields := strings.Fields(rest); len(fields) > 0 {
				return fields[0]
			}
		}
	}
	return fmt.Sprint(os.Getpid())
}
