package demo

import (
	"context"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/roundabout-dev/roundabout/localcluster/podrunner"
)

// hostsAliasHeader starts the part of a kubelet's /etc/hosts that holds the
// pod's hostAliases.
const hostsAliasHeader = "# Entries added by HostAliases."

// serverFQDN is the name the gateway dials: greetserver's Service name in
// the cluster domain.
func (e *Env) serverFQDN() string {
	return fmt.Sprintf("%s.%s.svc.%s", serverApp, Namespace, e.stack.ClusterDomain)
}

// printClientEnv prints the gateway container's environment with kubectl.
func (e *Env) printClientEnv(ctx context.Context, pod *corev1.Pod) {
	_, _ = e.Kubectl(ctx, "-n", Namespace, "set", "env", "pod/"+pod.Name, "--list", "-c", clientApp)
}

// showClientEnv prints the gateway container's environment, and checks
// that it is the Deployment's, GRPC_SERVER_HOST naming greetserver's
// Service as it did before injection: injection changes nothing the client
// sees.
func (e *Env) showClientEnv(ctx context.Context, s *Step, pod *corev1.Pod) {
	e.printClientEnv(ctx, pod)
	app := container(pod.Spec.Containers, clientApp)
	d, err := e.client.AppsV1().Deployments(Namespace).Get(ctx, clientApp, metav1.GetOptions{})
	if err != nil || app == nil {
		s.fail("the gateway's environment is unchanged", fmt.Errorf("deployment %s: %v; container %s in pod: %t", clientApp, err, clientApp, app != nil))
		return
	}
	want := container(d.Spec.Template.Spec.Containers, clientApp)
	host := envValue(app.Env, "GRPC_SERVER_HOST")
	before := "before injection: " + e.hostBefore
	if e.hostBefore == "" {
		before = "no uninjected gateway seen"
	}
	s.check(want != nil && reflect.DeepEqual(app.Env, want.Env) && host == e.serverFQDN() && (e.hostBefore == "" || host == e.hostBefore),
		"the gateway's environment is unchanged", "GRPC_SERVER_HOST=%s (%s), %d variables as in the Deployment", host, before, len(app.Env))
}

// showHostsEntry prints the pod's hostAliases with kubectl and the alias
// lines of the /etc/hosts the pod runner wrote, and checks that one line
// sends greetserver's Service name to a loopback address of the pod.
func (e *Env) showHostsEntry(ctx context.Context, s *Step, pod *corev1.Pod) {
	const what = "/etc/hosts sends greetserver's name to the agent"
	_, _ = e.Kubectl(ctx, "-n", Namespace, "get", "pod", pod.Name, "-o", "jsonpath={.spec.hostAliases}")
	hosts, err := os.ReadFile(podrunner.HostsPath(e.nodeDir(), pod))
	if err != nil {
		s.fail(what, err)
		return
	}
	fmt.Fprintf(e.out, "    /etc/hosts of %s as the pod runner wrote it, from %q on:\n", pod.Name, hostsAliasHeader)
	lines := aliasLines(string(hosts))
	for _, l := range lines {
		fmt.Fprintf(e.out, "      %s\n", strings.ReplaceAll(l, "\t", "  "))
	}
	if lines == nil {
		fmt.Fprintf(e.out, "      (no hostAliases)\n")
	}
	ip := aliasIP(pod, e.serverFQDN())
	line := slices.IndexFunc(lines, func(l string) bool {
		f := strings.Fields(l)
		return len(f) > 1 && f[0] == ip && slices.Contains(f[1:], e.serverFQDN())
	})
	switch {
	case ip == "":
		s.check(false, what, "the pod has no hostAlias for %s", e.serverFQDN())
	case line < 0:
		s.check(false, what, "hostAliases map %s to %s, but /etc/hosts has no such line", e.serverFQDN(), ip)
	default:
		s.check(strings.HasPrefix(ip, "127."), what, "%s → %s", e.serverFQDN(), ip)
	}
}

// checkNoHostsEntry checks that nothing maps greetserver's name in the pod,
// which then resolves through CoreDNS to the Service's ClusterIP.
func (e *Env) checkNoHostsEntry(ctx context.Context, s *Step, pod *corev1.Pod) {
	svc, err := e.client.CoreV1().Services(Namespace).Get(ctx, serverApp, metav1.GetOptions{})
	if err != nil {
		s.fail("no hosts entry: the name resolves to the ClusterIP", err)
		return
	}
	ip := aliasIP(pod, e.serverFQDN())
	say(e.out, "no hostAliases: %s resolves through CoreDNS to the ClusterIP %s", e.serverFQDN(), svc.Spec.ClusterIP)
	s.check(ip == "", "no hosts entry: the name resolves to the ClusterIP", "%s → %s (CoreDNS)", e.serverFQDN(), svc.Spec.ClusterIP)
}

// aliasLines returns the lines of a kubelet's /etc/hosts from the
// hostAliases header on, or none.
func aliasLines(hosts string) []string {
	_, after, ok := strings.Cut(hosts, hostsAliasHeader+"\n")
	if !ok {
		return nil
	}
	return append([]string{hostsAliasHeader}, strings.Split(strings.TrimRight(after, "\n"), "\n")...)
}

// aliasIP is the IP of the pod's hostAlias for name, or "".
func aliasIP(pod *corev1.Pod, name string) string {
	for _, a := range pod.Spec.HostAliases {
		if slices.Contains(a.Hostnames, name) {
			return a.IP
		}
	}
	return ""
}

// container returns the container called name, or nil.
func container(cs []corev1.Container, name string) *corev1.Container {
	for i := range cs {
		if cs[i].Name == name {
			return &cs[i]
		}
	}
	return nil
}

// envValue is the value of the variable name, or "".
func envValue(env []corev1.EnvVar, name string) string {
	for _, v := range env {
		if v.Name == name {
			return v.Value
		}
	}
	return ""
}
