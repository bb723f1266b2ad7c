package demo

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/roundabout-dev/roundabout/localcluster/podrunner"
)

// TestAliasLinesReadThePodRunnersHostsFile reads the hostAliases part of
// the /etc/hosts the pod runner writes, and finds a name's alias IP.
func TestAliasLinesReadThePodRunnersHostsFile(t *testing.T) {
	aliases := []corev1.HostAlias{
		{IP: "127.0.2.1", Hostnames: []string{"greetserver.greet.svc.cluster.local", "greetserver.greet.svc", "greetserver.greet", "greetserver"}},
		{IP: "127.0.2.2", Hostnames: []string{"users.accounts.svc.cluster.local", "users.accounts.svc", "users.accounts"}},
	}
	got := aliasLines(string(podrunner.HostsFile("10.244.0.12", "greetclient-x", "", aliases)))
	want := []string{hostsAliasHeader,
		"127.0.2.1\tgreetserver.greet.svc.cluster.local\tgreetserver.greet.svc\tgreetserver.greet\tgreetserver",
		"127.0.2.2\tusers.accounts.svc.cluster.local\tusers.accounts.svc\tusers.accounts"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("aliasLines = %q, want %q", got, want)
	}
	if got := aliasLines(string(podrunner.HostsFile("10.244.0.12", "x", "", nil))); got != nil {
		t.Errorf("aliasLines without hostAliases = %q, want none", got)
	}
	pod := &corev1.Pod{Spec: corev1.PodSpec{HostAliases: aliases}}
	if ip := aliasIP(pod, "users.accounts.svc.cluster.local"); ip != "127.0.2.2" {
		t.Errorf("aliasIP = %q, want 127.0.2.2", ip)
	}
	if ip := aliasIP(pod, "users"); ip != "" {
		t.Errorf("aliasIP of a name with no alias = %q, want none", ip)
	}
}
