package podrunner

import (
	"bytes"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// HostsFile is the /etc/hosts the kubelet manages for a pod that does not
// use the host's network: the header, the localhost lines, the pod IP with
// its hostname (preceded by the FQDN hostname.domain when domain is set),
// then, when the pod has hostAliases, a blank line, "# Entries added by
// HostAliases." and one line per alias, its IP and its hostnames separated
// by tabs, in the order of the pod spec.
func HostsFile(ip, hostname, domain string, aliases []corev1.HostAlias) []byte {
	var b bytes.Buffer
	b.WriteString("# Kubernetes-managed hosts file.\n" +
		"127.0.0.1\tlocalhost\n" +
		"::1\tlocalhost ip6-localhost ip6-loopback\n" +
		"fe00::0\tip6-localnet\n" +
		"fe00::0\tip6-mcastprefix\n" +
		"fe00::1\tip6-allnodes\n" +
		"fe00::2\tip6-allrouters\n")
	if domain != "" {
		fmt.Fprintf(&b, "%s\t%s.%s\t%s\n", ip, hostname, domain, hostname)
	} else {
		fmt.Fprintf(&b, "%s\t%s\n", ip, hostname)
	}
	if len(aliases) > 0 {
		b.WriteString("\n# Entries added by HostAliases.\n")
		for _, a := range aliases {
			fmt.Fprintf(&b, "%s\t%s\n", a.IP, strings.Join(a.Hostnames, "\t"))
		}
	}
	return b.Bytes()
}

// hostDomain is the pod's domain as the kubelet derives it: with
// spec.subdomain set, <subdomain>.<namespace>.svc.<cluster domain>;
// otherwise none.
func hostDomain(pod *corev1.Pod, clusterDomain string) string {
	if pod.Spec.Subdomain == "" {
		return ""
	}
	return fmt.Sprintf("%s.%s.svc.%s", pod.Spec.Subdomain, pod.Namespace, clusterDomain)
}
