package podrunner

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestHostsFileIsTheKubelets renders the cases of the kubelet's own
// TestManagedHostsFileContent (pkg/kubelet/kubelet_pods_test.go), one pod
// IP each, and expects the kubelet's bytes.
func TestHostsFileIsTheKubelets(t *testing.T) {
	const head = "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n" +
		"fe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n"
	for _, tc := range []struct {
		ip, hostname, domain string
		aliases              []corev1.HostAlias
		want                 string
	}{
		{"123.45.67.89", "podFoo", "", []corev1.HostAlias{}, head + "123.45.67.89\tpodFoo\n"},
		{"203.0.113.1", "podFoo", "domainFoo", nil, head + "203.0.113.1\tpodFoo.domainFoo\tpodFoo\n"},
		{"203.0.113.1", "podFoo", "domainFoo",
			[]corev1.HostAlias{{IP: "123.45.67.89", Hostnames: []string{"foo", "bar", "baz"}}},
			head + "203.0.113.1\tpodFoo.domainFoo\tpodFoo\n\n# Entries added by HostAliases.\n123.45.67.89\tfoo\tbar\tbaz\n"},
		{"203.0.113.1", "podFoo", "domainFoo",
			[]corev1.HostAlias{
				{IP: "123.45.67.89", Hostnames: []string{"foo", "bar", "baz"}},
				{IP: "456.78.90.123", Hostnames: []string{"park", "doo", "boo"}},
			},
			head + "203.0.113.1\tpodFoo.domainFoo\tpodFoo\n\n# Entries added by HostAliases.\n" +
				"123.45.67.89\tfoo\tbar\tbaz\n456.78.90.123\tpark\tdoo\tboo\n"},
		// What the webhook adds for an upstream in the pod's namespace.
		{"10.244.0.12", "greetclient-7d9f-x2", "",
			[]corev1.HostAlias{{IP: "127.0.2.1", Hostnames: []string{"greetserver.greet.svc.cluster.local",
				"greetserver.greet.svc", "greetserver.greet", "greetserver"}}},
			head + "10.244.0.12\tgreetclient-7d9f-x2\n\n# Entries added by HostAliases.\n" +
				"127.0.2.1\tgreetserver.greet.svc.cluster.local\tgreetserver.greet.svc\tgreetserver.greet\tgreetserver\n"},
	} {
		if got := string(HostsFile(tc.ip, tc.hostname, tc.domain, tc.aliases)); got != tc.want {
			t.Errorf("HostsFile(%s, %s, %q, %v)\n got %q\nwant %q", tc.ip, tc.hostname, tc.domain, tc.aliases, got, tc.want)
		}
	}
}

// TestHostDomain derives the domain from spec.subdomain as the kubelet's
// GeneratePodHostNameAndDomain does.
func TestHostDomain(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-0", Namespace: "shop"}}
	if got := hostDomain(pod, "cluster.local"); got != "" {
		t.Errorf("hostDomain without a subdomain = %q, want none", got)
	}
	pod.Spec.Subdomain = "web"
	if got, want := hostDomain(pod, "cluster.local"), "web.shop.svc.cluster.local"; got != want {
		t.Errorf("hostDomain = %q, want %q", got, want)
	}
}
